"""A patient's records as a list to tick, for sharing or approving named records: each by its
readable type and date (the id as secondary text), so nobody types PAT-000234-R12.

Only the envelope is read (type, date, status): nothing is decrypted, and the patient is the
one who sees the list. Within a request's scope, only the records it asked about are offered
(an approval may narrow, never widen).
"""
from models.clinical import records
from models.consent import workflow as consent
from models.core import record_types

PICKER_FIELDS = {"record_id": 1, "version": 1, "type": 1, "created_at": 1, "status": 1}


def _in_scope(doc, scope):
    if not scope or scope["kind"] == consent.ALL:
        return True
    if scope["kind"] == consent.TYPES:
        return doc["type"] in scope.get("types", ())
    return doc["record_id"] in scope.get("records", ())


def options(db, patient_id, scope=None, type_name=""):
    """[{record_id, type_label, date, label}] of the patient's current records, newest first,
    limited to `scope` and (when chosen) to one record type."""
    found = []
    for current, _older in records.grouped(records.for_patient(db, patient_id, PICKER_FIELDS)):
        if current.get("status") == records.ENTERED_IN_ERROR or not _in_scope(current, scope):
            continue
        if type_name and current["type"] != type_name:
            continue
        type_label = record_types.TYPE_LABELS.get(current["type"], current["type"])
        date = current["created_at"].strftime("%Y-%m-%d")
        found.append({"record_id": current["record_id"], "type_label": type_label, "date": date,
                      "label": f"{type_label}, {date} ({current['record_id']})"})
    return found


def describe(db, patient_id, record_ids):
    """Readable names of named records ("Allergy, 2024-05-06"), in the order given."""
    wanted = set(record_ids)
    by_id = {option["record_id"]: option for option in options(db, patient_id)
             if option["record_id"] in wanted}
    return [f"{by_id[rid]['type_label']}, {by_id[rid]['date']}" if rid in by_id else rid
            for rid in record_ids]
