"""Reading clinical data: the one path every page and download takes to a record's values.

The order is the rule: decide (models.consent.access), then seal the read (audit_trail), then
decrypt. Nothing is decrypted for a reader the decision refused, and nothing a reader sees
lacks its sealed log entry. A missing record and a record of a patient the reader may not
see answer differently (404 / 403) only in status: neither shows any data.
"""
import logging

from models.clinical import audit_trail, records
from models.consent import access
from models.core.errors import Forbidden, NotFound
from models.storage import attachments, authority

log = logging.getLogger(__name__)


def read_version(db, viewer, record_id, version, item=None, versions=None):
    """(version, decision) after deciding and sealing the read; NotFound / Forbidden otherwise.

    `versions` (whole documents of the record, from records.versions) saves reading the
    version again.
    """
    if versions is None:
        doc = records.get_version(db, record_id, version)
    else:
        doc = next((each for each in versions if each["version"] == version), None)
    if doc is None:
        raise NotFound("There is no such record.")
    authority.require("records", doc)  # an envelope changed outside the app decides nothing
    decision = access.decide(db, viewer, doc)
    if not decision.allowed:
        log.info("read refused user=%s record=%s v%s reason=%s", viewer["human_id"], record_id,
                 version, decision.reason)
        raise Forbidden(f"You may not read this record ({decision.reason}).")
    audit_trail.record_read(db, viewer, doc, decision, item=item)
    return doc, decision


def open_version(db, key, viewer, record_id, version):
    """(version, its values, decision, every version of the record) for a reader allowed to
    read it, the read sealed first."""
    versions = records.versions(db, record_id, projection=None)
    doc, decision = read_version(db, viewer, record_id, version, versions=versions)
    return doc, records.data_of(key, doc), decision, versions


def open_attachment(db, key, viewer, record_id, version, index):
    """(file metadata, plaintext bytes) of a record version's file, read like the record."""
    doc = records.get_version(db, record_id, version)
    if doc is None or not 0 <= index < len(doc["attachments"]):
        raise NotFound("There is no such file.")
    meta = doc["attachments"][index]
    read_version(db, viewer, record_id, version, item=f"file {meta['name']}")
    return meta, attachments.read(db, key, doc["patient_id"], meta)


def open_for_amendment(db, key, viewer, record_id, version):
    """(version, its values) for its author, who is about to change it (the read is sealed)."""
    doc, _ = read_version(db, viewer, record_id, version)
    return doc, records.data_of(key, doc)
