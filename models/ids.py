"""Human-friendly ids (PAT-000234, DOC-000103, ORG-0007) from atomic counters.

`find_one_and_update` with `$inc` on a counter document gives each caller a distinct number
even under concurrency, on MongoDB, the embedded server and mongomock alike.
"""
from pymongo import ReturnDocument

PREFIXES = {
    "patient": ("PAT", 6),
    "doctor": ("DOC", 6),
    "organization": ("ORG", 4),
    "staff": ("STF", 6),
    "admin": ("ADM", 4),
    "auditor": ("AUD", 4),
    "request": ("REQ", 6),
    "grant": ("GRT", 6),
    "emergency": ("EMG", 6),
}


def next_number(db, counter):
    doc = db.counters.find_one_and_update(
        {"_id": counter}, {"$inc": {"n": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
    return int(doc["n"])


def next_id(db, kind):
    prefix, width = PREFIXES[kind]
    return f"{prefix}-{next_number(db, kind):0{width}d}"
