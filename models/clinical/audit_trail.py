"""Every read of clinical data by anyone but the patient: a `record.read` block and an entry.

The entry says who read, for which organization, which record version (or which of its files),
under which grant or emergency, and when. Entries are indexed by patient for the patient's
"Who saw my records" page, and can be exported as CSV.
"""
import csv
import io
import re
from datetime import date, datetime, time, timezone

from models.core import ids
from models.core.clock import now_ms, ts
from models.core.errors import InvalidInput
from models.people import organizations, users
from models.sealing import pages, registry
from models.sealing.registry import EventKind
from models.sealing.seam import new_salts, pending_fields, seal_pending
from models.storage.db import unjournaled

READ_KIND = "record.read"
EXPORT_PAGE = 1000
MAX_FILTER = 80
HUMAN_ID_RE = re.compile(r"^[A-Z]{3}-\d{4,6}$")
CSV_COLUMNS = ("when", "who", "name", "role", "organization", "record", "version", "type",
               "what", "under")

INDEXES = {
    # Only what a query uses: each index costs every sealed read a write (the log is filtered
    # by reader in Python, within one patient's entries). The sealing height's index comes
    # from the registry (EVENTS below).
    "record_reads": [
        ([("patient_id", 1)], {}),
    ],
}


def read_attributes(entry):
    return {"record": entry["record_id"], "version": entry["version"],
            "viewer": entry["viewer_id"], "role": entry["viewer_role"],
            "organization": entry["org_id"], "patient": entry["patient_id"],
            "basis": entry["basis"], "item": entry["item"], "at": ts(entry["at"])}


def record_read(db, viewer, record, decision, item=None):
    """Seal and log one read; a patient reading their own records leaves no trace."""
    if viewer["human_id"] == record["patient_id"]:
        return None
    entry = {
        "patient_id": record["patient_id"], "record_id": record["record_id"],
        "version": record["version"], "record_type": record["type"],
        "viewer_id": viewer["human_id"], "viewer_name": viewer["name"],
        "viewer_role": viewer["role"], "org_id": viewer.get("org_id"),
        "basis": decision.basis, "basis_kind": decision.basis_kind,
        "basis_id": decision.basis_id, "item": item, "at": now_ms(), "sealed_height": None,
    }
    salts = new_salts(read_attributes(entry))
    # No journal wait of its own: the block's journaled append right after makes it durable
    # (one log), and if that append fails the read was never acknowledged.
    entry["_id"] = unjournaled(db.record_reads).insert_one(
        pending_fields(entry, READ_KIND, salts)).inserted_id
    seal_pending(db, READ_KIND, entry, viewer, read_attributes(entry), salts)
    return entry


def _day(text, field, errors):
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[field] = "Enter a date as YYYY-MM-DD, for example 2025-03-01."
        return None


def clean_filters(viewer="", record="", since="", until=""):
    """The log's filters, read strictly: a bad value is named on its field. A filter that
    quietly matched nothing (or everything) would mislead the patient about who saw what.
    "Who" takes an id (DOC-000103) or a name, or part of one."""
    errors = {}
    viewer = " ".join((viewer or "").split())
    viewer_id = viewer_name = None
    if len(viewer) > MAX_FILTER:
        errors["viewer"] = f"Use at most {MAX_FILTER} characters."
    elif HUMAN_ID_RE.match(viewer.upper()):
        viewer_id = viewer.upper()
    elif len(viewer) >= 2 and any(char.isalpha() for char in viewer):
        viewer_name = viewer.casefold()
    elif viewer:
        errors["viewer"] = "Enter a name (or part of one) or an id such as DOC-000103."
    record = (record or "").strip().upper()
    if record and not ids.is_record_id(record):
        errors["record"] = "Enter a record id such as PAT-000001-R3."
    start, end = _day(since, "since", errors), _day(until, "until", errors)
    if start and end and start > end:
        errors["until"] = f"The end date ({end}) is before the start date ({start})."
    if errors:
        raise InvalidInput("Check the highlighted filters.", errors)
    return {"viewer_id": viewer_id, "viewer_name": viewer_name, "record": record or None,
            "since": start, "until": end}


def matcher(*, viewer_id=None, viewer_name=None, record=None, since=None, until=None):
    """The test one read log entry must pass for these filters (see `clean_filters`)."""
    start = datetime.combine(since, time.min, timezone.utc) if since else None
    end = datetime.combine(until, time.max, timezone.utc) if until else None
    return lambda entry: (
        (not viewer_id or entry["viewer_id"] == viewer_id)
        and (not viewer_name or viewer_name in (entry.get("viewer_name") or "").casefold())
        and (not record or entry["record_id"] == record)
        and (not start or entry["at"] >= start) and (not end or entry["at"] <= end))


def page_for_patient(db, patient_id, *, before=None, per_page=None, **filters):
    """One keyset page of a patient's read log, newest first, filtered by reader (id, or part
    of the name), record and day range; the day range also bounds the heights read."""
    return pages.newest_first(db, "record_reads", {"patient_id": patient_id}, before=before,
                              since=filters.get("since"), until=filters.get("until"),
                              keep=matcher(**filters), per_page=per_page,
                              projection={"seal_salts": 0})


def for_patient(db, patient_id, **filters):
    """The whole filtered log, newest first (the CSV and the patient's export), read page by
    page so that no read is silently left out."""
    entries, before = [], None
    while True:
        page = page_for_patient(db, patient_id, before=before, per_page=EXPORT_PAGE, **filters)
        entries.extend(page.items)
        if page.before is None:
            return entries
        before = page.before


def with_org_names(db, entries):
    names = {org_id: org["name"] for org_id, org in
             organizations.by_human_ids(db, [entry["org_id"] for entry in entries]).items()}
    for entry in entries:
        entry["org_name"] = names.get(entry["org_id"])
    return entries


def as_csv(entries):
    """The log as CSV text; cells that a spreadsheet would run as formulas are defused."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        org = entry["org_id"] or ""
        if entry.get("org_name"):
            org = f"{entry['org_name']} ({entry['org_id']})"
        row = (ts(entry["at"]), entry["viewer_id"], entry["viewer_name"],
               entry["viewer_role"], org, entry["record_id"], entry["version"],
               entry["record_type"], entry["item"] or "record", entry["basis"])
        writer.writerow([_defuse(value) for value in row])
    return out.getvalue()


def _defuse(value):
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def rebuild_read(db, block, data_key, prefetched=None):
    height = block.get("height")
    entry = registry.take(prefetched, block,
                          lambda entry: registry.same(entry.get("sealed_height"), height))
    if entry is None:
        entry = db.record_reads.find_one({"sealed_height": height})
    return (read_attributes(entry), entry.get("seal_salts", {})) if entry else None


def read_label(entry):
    return f"{entry['record_id']} v{entry['version']} read {entry['_id']}"


def read_coverage(db):
    for entry in db.record_reads.find({}, {"sealed_height": 1, "record_id": 1, "version": 1}):
        yield "record_reads", read_label(entry), entry.get("sealed_height")


def _read_subject(entry):
    return {"record": entry["record_id"], "version": entry["version"]}


def _viewer(db, entry):
    return users.by_human_id(db, entry["viewer_id"])


EVENTS = (EventKind(READ_KIND, "record_reads", "sealed_height", rebuild_read,
                    creates_document=True, subject=_read_subject, salts_at="seal_salts",
                    actor=_viewer,
                    sealed=lambda db, key, entry: (read_attributes(entry),
                                                   entry.get("seal_salts", {})),
                    label=read_label),)
COVERAGE = (read_coverage,)
