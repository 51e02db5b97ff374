"""What an auditor needs beside an emergency access: the reads made during it.

Reads are found through the indexed `patient_id` of the read log, then narrowed to the doctor
and the emergency's window; recent reviews through the indexed `review_state`.
"""
from datetime import datetime

from models.consent import emergency

READS_LIMIT = 5000
RECENT_REVIEWS = 20


def reads_during(db, case):
    """The doctor's reads of this patient inside the emergency window, oldest first."""
    opened, ends = case.get("opened_at"), case.get("ends_at")
    if not (isinstance(opened, datetime) and isinstance(ends, datetime)):
        return []  # an edited window: the audit names it; no reads can be placed in it
    found = db.record_reads.find({"patient_id": case["patient_id"]}, {"seal_salts": 0},
                                 limit=READS_LIMIT)
    reads = [entry for entry in found
             if entry.get("viewer_id") == case["doctor_id"]
             and isinstance(entry.get("at"), datetime) and opened <= entry["at"] <= ends]
    reads.sort(key=lambda entry: entry["at"])
    return reads


def recently_reviewed(db, count=RECENT_REVIEWS):
    found = []
    for state in (emergency.JUSTIFIED, emergency.UNJUSTIFIED):
        found.extend(db.emergencies.find({"review_state": state}, limit=emergency.LIST_LIMIT))
    found.sort(key=lambda case: max(emergency.opened_key(case.get("review") or {}, "at"),
                                    emergency.opened_key(case)), reverse=True)
    return found[:count]
