"""Human-friendly ids (PAT-000234, DOC-000103, ORG-0007, PAT-000234-R12): issuing and parsing.

A compare-and-set on a counter document (models.core.transitions) gives each caller a distinct
number even under concurrency, on MongoDB, the embedded server and mongomock alike. Parsing
lives here too, so any package can read a record id without importing the records model.
"""
import re

from models.core.errors import InvalidInput
from models.core.transitions import next_in_sequence

RECORD_ID_RE = re.compile(r"^PAT-\d{6}-R\d{1,9}$")

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
    "appointment": ("APT", 6),
    "study": ("STU", 6),
    "export": ("EXP", 6),
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


def is_record_id(value):
    return isinstance(value, str) and bool(RECORD_ID_RE.match(value))


def patient_of(record_id):
    """PAT-000234 for PAT-000234-R12."""
    return record_id.rsplit("-R", 1)[0]


def record_number(record_id):
    """12 for PAT-000234-R12."""
    return int(record_id.rsplit("-R", 1)[1])


def parse_record_ids(text):
    """Record ids typed by a person (comma or space separated), normalised; InvalidInput if bad."""
    names = [part.strip().upper() for part in re.split(r"[\s,;]+", text or "") if part.strip()]
    bad = [name for name in names if not RECORD_ID_RE.match(name)]
    if bad:
        raise InvalidInput(f"Not a record id: {bad[0][:30]} (use ids like PAT-000234-R12).")
    return sorted(set(names))
