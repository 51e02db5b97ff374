"""View helpers shared by the areas that show clinical data (doctor, patient, staff).

Every read of a record or a file goes through models.clinical.reading (decide, seal the read,
then decrypt); these helpers only shape what the pages and downloads need.
"""
import io

from flask import current_app, request, send_file

from blueprints.clinical_forms import record_values
from blueprints.form_errors import submitted
from models.clinical import reading, records
from models.core import record_types
from models.core.errors import InvalidInput, NotFound
from models.people import directory, organizations, patients
from models.storage.attachments import Upload


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


def find_patient(db, form):
    """What a patient search form asks for: (patient id, None, 200) for an id typed alone,
    else (None, results, status): the matching patients (a `Found`, None before a search),
    with any problem on the form's fields (400 for a query that says too little, 404 for an
    unknown id)."""
    typed = (form.q.data or form.human_id.data or "").strip()
    born = (form.date_of_birth.data or "").strip()
    if not typed and not born:
        if not (form.q.raw_data or form.human_id.raw_data or form.date_of_birth.raw_data):
            return None, None, 200  # the empty form, not yet submitted
        form.q.errors = ["Enter a name, a date of birth, or a patient id such as PAT-000234."]
        return None, None, 400
    if directory.ACCOUNT_ID_RE.match(typed.upper()) and not born:
        try:
            return patients.require_patient(db, typed.upper())["human_id"], None, 200
        except NotFound as exc:
            form.q.errors = [exc.message]
            return None, None, 404
    try:
        return None, directory.find_patients(db, typed, born), 200
    except InvalidInput as exc:
        for name, message in exc.field_errors.items():
            field = form.date_of_birth if name == "date_of_birth" else form.q
            field.errors = list(field.errors) + [message]
        return None, None, exc.status


def record_view(db, viewer, record_id, version):
    """Everything a record page shows, for a reader who may read it (the read sealed first)."""
    doc, data, decision, versions = reading.open_version(db, data_key(), viewer, record_id,
                                                         version)
    organization = organizations.get(db, doc["org_id"]) if doc.get("org_id") else None
    if organization:
        doc = dict(doc, org_name=organization["name"])
    return {"record": doc, "data": data, "spec": record_types.TYPES[doc["type"]],
            "decision": decision, "versions": versions,
            "type_labels": record_types.TYPE_LABELS,
            "banner": patients.card_of(db, doc["patient_id"]),
            "organization": organization}


def send_attachment(db, viewer, record_id, version, index):
    """A file of a record version, access-checked and logged like the record itself."""
    meta, data = reading.open_attachment(db, data_key(), viewer, record_id, version, index)
    response = send_file(io.BytesIO(data), mimetype=meta["media_type"], as_attachment=True,
                         download_name=meta["name"])
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def save_amendment(db, form, author, doc):
    """A new version of `doc` from an amendment form: (version, 200), or (None, status) with
    the problems shown on the form."""
    return submitted(form, lambda: records.amend(
        db, data_key(), author=author, record_id=doc["record_id"], version=doc["version"],
        raw=record_values(form, doc["type"]), uploads=uploads(), max_bytes=max_bytes()),
        fallback_field="files" if "files" in form else None)


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
