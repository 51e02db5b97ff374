"""The discharge summary: once a stay is discharged its attending doctor writes the summary,
pre-filled from the admission. It is a record like any other (models.clinical.records: it
grants no access to anything else); its id is then linked on the admission, sealed as
`admission.summary_linked`, once.
"""
from models.care.admission_seals import DISCHARGED, SUMMARY_KIND, summary_attributes
from models.care.admissions import attending_of, get
from models.clinical import records
from models.core import record_types
from models.core.clock import now_ms
from models.core.errors import Conflict, Forbidden, NotFound
from models.sealing.seam import merge, new_salts, pending_update, seal_pending
from models.storage import authority


def summaries_to_write(db, doctor):
    return [doc for doc in attending_of(db, doctor, DISCHARGED) if not doc.get("summary")]


def summary_admission(db, doctor, admission_id):
    """The discharged admission whose summary this doctor (its attending) is to write."""
    doc = get(db, admission_id)
    if doc is None or doc["org_id"] != doctor.get("org_id"):
        raise NotFound("There is no such admission at your hospital.")
    if doc["attending"] != doctor.get("human_id"):
        raise Forbidden("Only the attending doctor writes this discharge summary.")
    if doc["status"] != DISCHARGED:
        raise Conflict(f"{doc['admission_id']} is not discharged yet.")
    if doc.get("summary"):
        raise Conflict(f"{doc['admission_id']} already has its discharge summary.")
    return doc


def summary_prefill(doc, zone):
    """The summary form's values taken from the admission (dates in the installation's zone)."""
    return {"admission_id": doc["admission_id"],
            "admitted_on": doc["admitted_at"].astimezone(zone).date().isoformat(),
            "discharged_on": doc["discharged_at"].astimezone(zone).date().isoformat()}


def write_summary(db, key, doctor, admission_id, raw, *, zone, max_bytes):
    """The attending doctor's discharge summary: a record (the records machinery, which grants
    nothing), then its id linked on the admission. The admission's own facts (id, dates) are
    taken from the admission, whatever the form sent."""
    doc = summary_admission(db, doctor, admission_id)
    values = dict(raw, **summary_prefill(doc, zone))
    unlinked = _unlinked_summary(db, key, doctor, doc)
    if unlinked is not None:  # written before a crash cut the link: this is its next version
        record = records.amend(db, key, author=doctor, record_id=unlinked["record_id"],
                               version=unlinked["version"], raw=values, max_bytes=max_bytes)
    else:
        record = records.create(db, key, author=doctor, patient_id=doc["patient_id"],
                                type_name=record_types.DISCHARGE_SUMMARY, raw=values,
                                max_bytes=max_bytes)
    return link_summary(db, doctor, doc, record), record


def _unlinked_summary(db, key, doctor, doc):
    """The current version of a summary this doctor already wrote for this stay whose link a
    crash cut (the record is written, the admission does not name it yet), or None: writing
    again then amends it instead of giving the patient two summaries of one stay."""
    for envelope in records.for_patient(db, doc["patient_id"]):
        if envelope["type"] == record_types.DISCHARGE_SUMMARY and \
                envelope["author_id"] == doctor["human_id"] and envelope["status"] == records.FINAL:
            version = records.get_version(db, envelope["record_id"], envelope["version"])
            if records.data_of(key, version).get("admission_id") == doc["admission_id"]:
                return version
    return None


def link_summary(db, doctor, doc, record):
    """The written summary's record id on the admission (once), sealed."""
    now = now_ms()
    summary = {"record_id": record["record_id"], "at": now, "by": doctor["human_id"]}
    salts = new_salts(summary_attributes(dict(doc, summary=summary)))
    linked = authority.transition(
        db.admissions, {"_id": doc["_id"], "status": DISCHARGED, "summary": None},
        merge({"$set": {"summary": summary, "seals.summary_linked": {"salts": salts,
                                                                     "height": None}}},
              pending_update(SUMMARY_KIND)), current=doc)
    if linked is None:
        raise Conflict(f"{doc['admission_id']} already has its discharge summary.")
    seal_pending(db, SUMMARY_KIND, linked, doctor, summary_attributes(linked), salts)
    return linked
