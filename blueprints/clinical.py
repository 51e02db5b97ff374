"""View helpers shared by the areas that show clinical data (doctor, patient, staff).

Each read of a record or a file goes through the same three steps, in this order: the access
decision (models.access), then the sealed audit entry (models.audit_trail), then the data.
"""
import io

from flask import abort, current_app, request, send_file

from blueprints.clinical_forms import record_values
from blueprints.form_errors import show_on_form
from models import access, attachments, audit_trail, organizations, record_types, records
from models.attachments import Upload
from models.errors import DomainError, Forbidden


def data_key():
    return current_app.extensions["medledger"]["data_key"]


def max_bytes():
    return current_app.config["MAX_ATTACHMENT_BYTES"]


def uploads(field_name="files"):
    """The files of a multipart form, each read up to one byte past the limit."""
    limit = max_bytes()
    found = []
    for storage in request.files.getlist(field_name):
        if not storage or not storage.filename:
            continue
        found.append(Upload(name=storage.filename, data=storage.stream.read(limit + 1)))
    return found


def read_version(db, viewer, record_id, version, item=None, versions=None):
    """(version, decision) after deciding and logging the read; 404/403 otherwise.

    A missing record and a record of a patient the reader may not see answer differently
    (404 / 403) only in status: neither shows any data. `versions` (whole documents of the
    record, from records.versions) saves reading the version again.
    """
    if versions is None:
        doc = records.get_version(db, record_id, version)
    else:
        doc = next((each for each in versions if each["version"] == version), None)
    if doc is None:
        abort(404)
    decision = access.decide(db, viewer, doc)
    if not decision.allowed:
        current_app.logger.info("read refused user=%s record=%s v%s reason=%s",
                                viewer["human_id"], record_id, version, decision.reason)
        raise Forbidden(f"You may not read this record ({decision.reason}).")
    audit_trail.record_read(db, viewer, doc, decision, item=item)
    return doc, decision


def record_view(db, viewer, record_id, version):
    """Everything a record page shows, for a reader who may read it."""
    versions = records.versions(db, record_id, projection=None)
    doc, decision = read_version(db, viewer, record_id, version, versions=versions)
    data = records.data_of(data_key(), doc)
    return {"record": doc, "data": data, "spec": record_types.TYPES[doc["type"]],
            "decision": decision, "versions": versions,
            "type_labels": record_types.TYPE_LABELS,
            "organization": organizations.get(db, doc["org_id"]) if doc.get("org_id") else None}


def send_attachment(db, viewer, record_id, version, index):
    """A file of a record version, access-checked and logged like the record itself."""
    doc = records.get_version(db, record_id, version)
    if doc is None or not 0 <= index < len(doc["attachments"]):
        abort(404)
    meta = doc["attachments"][index]
    read_version(db, viewer, record_id, version, item=f"file {meta['name']}")
    data = attachments.read(db, data_key(), doc["patient_id"], meta)
    response = send_file(io.BytesIO(data), mimetype=meta["media_type"], as_attachment=True,
                         download_name=meta["name"])
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def save_amendment(db, form, author, doc):
    """A new version of `doc` from a validated amendment form: (version, None), or (None,
    status) with the domain's message shown on the form."""
    try:
        return records.amend(db, data_key(), author=author, record_id=doc["record_id"],
                             version=doc["version"], raw=record_values(form, doc["type"]),
                             uploads=uploads(), max_bytes=max_bytes()), None
    except DomainError as exc:
        return None, show_on_form(form, exc, fallback_field="files" if "files" in form else None)


def fields_with_values(spec, data):
    """[(label, value with unit)] for display, including computed values such as BMI."""
    rows = []
    for field in spec.fields:
        value = data.get(field.name)
        if value is None:
            continue
        shown = record_types.choice_label(field, value)
        rows.append((field.label, f"{shown} {field.unit}".strip() if field.unit else shown))
    for name, label in spec.derived_labels.items():
        if data.get(name) is not None:
            rows.append((label, data[name]))
    return rows
