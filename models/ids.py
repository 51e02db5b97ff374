"""Human-friendly ids (PAT-000234, DOC-000103, ORG-0007) from atomic counters.

A compare-and-set on a counter document (models/transitions) gives each caller a distinct
number even under concurrency, on MongoDB, the embedded server and mongomock alike.
"""
from models.transitions import next_in_sequence

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


def reserve(db, counter, count=1):
    """Reserve `count` numbers atomically; returns the last one."""
    return next_in_sequence(db.counters, counter, count) + count - 1


def next_number(db, counter):
    return reserve(db, counter)


def next_id(db, kind):
    prefix, width = PREFIXES[kind]
    return f"{prefix}-{reserve(db, kind):0{width}d}"


def next_ids(db, kind, count):
    """`count` consecutive ids reserved in one atomic step (bulk inserts of demo data)."""
    prefix, width = PREFIXES[kind]
    last = reserve(db, kind, count)
    return [f"{prefix}-{n:0{width}d}" for n in range(last - count + 1, last + 1)]
