"""Medical records: a clear envelope and an encrypted, sealed payload, one document per version.

Records are never edited in place. An amendment claims the current version (`final` →
`amended`, one atomic update) and inserts the next version, which points back with
`supersedes`; both stay readable. "Entered in error" is a status set by one atomic update.
The envelope (ids, author, type, status, attachments' metadata) stays in clear for queries;
the clinical values and the salts of every sealed attribute live in the AES-GCM payload, bound
to record id and version. Each write seals its block in the same request and the version
keeps the height that sealed it (`sealed_height`).
"""
import pymongo
from ledger.attributes import new_salt

from models.consent import access
from models.core import ids
from models.core import record_types as types
from models.core.clock import now_ms, ts
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.core.transitions import next_in_sequence
from models.people import users
from models.people.patients import require_patient
from models.sealing import registry
from models.sealing.registry import EventKind
from models.sealing.seam import merge, new_salts, pending_fields, pending_update, seal_pending
from models.storage import attachments, authority, crypto

FINAL, AMENDED, ENTERED_IN_ERROR = "final", "amended", "entered-in-error"
STATUSES = (FINAL, AMENDED, ENTERED_IN_ERROR)
NORMAL, RESTRICTED = "normal", "restricted"
SENSITIVITIES = ((NORMAL, "Normal"), (RESTRICTED, "Restricted"))
RX_ACTIVE, RX_DISPENSED, RX_CANCELLED = "active", "dispensed", "cancelled"
CREATED, AMENDED_KIND, ERROR_KIND = "record.created", "record.amended", "record.entered_in_error"
RX_CANCELLED_KIND = "record.prescription_cancelled"
MAX_REASON_LENGTH = 500
PATIENT_LIST_LIMIT = 5000
ENVELOPE = {"box": 0}  # projection for lists: everything but the ciphertext

AUTHORITY = (authority.Protected(
    "records", ("record_id", "version", "patient_id", "type", "author_id", "author_role",
                "org_id", "status", "rx_status", "sensitivity", "supersedes", "superseded_by"),
    name=lambda doc: f"{doc.get('record_id')} v{doc.get('version')}"),)
"""The envelope fields the access decision reads (whose record, who wrote it, what type, is it
current): MAC'd, so that moving a record to another author or patient opens nothing."""

INDEXES = {
    "records": [
        ([("record_id", 1), ("version", 1)], {"unique": True}),
        ([("record_id", 1)], {}),
        ([("patient_id", 1)], {}),
        ([("author_id", 1)], {}),
    ],
}

WRITABLE_TYPES = {
    users.DOCTOR: types.CLINICIAN_TYPES,
    users.LAB_TECH: (types.LAB_REPORT,),
    users.PATIENT: (types.PATIENT_PROVIDED,),
}


def new_record_id(db, patient_id):
    """PAT-000234-R12: a per-patient sequence, kept apart from the small `counters`
    collection so that one counter per patient does not slow every other id."""
    return f"{patient_id}-R{next_in_sequence(db.record_counters, patient_id)}"


def writable_types(user):
    return WRITABLE_TYPES.get(user["role"], ())


# Sealed attributes -------------------------------------------------------------------------

def sealed_attributes(doc, data):
    """What a version's block commits to: its envelope facts and every clinical value."""
    attributes = {
        "patient": doc["patient_id"],
        "author": doc["author_id"],
        "author_role": doc["author_role"],
        "organization": doc["org_id"],
        "type": doc["type"],
        "sensitivity": doc["sensitivity"],
        "created_at": ts(doc["created_at"]),
        "supersedes": doc["supersedes"],
        "attachments": attachments.sealed_form(doc["attachments"]),
    }
    for name, value in data.items():
        attributes["data." + name] = value
    return attributes


def open_payload(key, doc):
    """{"data": ..., "salts": ...} decrypted; TamperedCiphertext if anything was altered."""
    return crypto.decrypt(key, doc["record_id"], doc["version"], doc["box"])


def data_of(key, doc):
    return open_payload(key, doc)["data"]


# Writing -----------------------------------------------------------------------------------

def _check_writer(user, type_name, patient_id):
    if type_name not in writable_types(user):
        raise Forbidden("You cannot write this type of record.")
    if user["role"] == users.PATIENT and user["human_id"] != patient_id:
        raise Forbidden("Patients add documents to their own record only.")


def _clean_sensitivity(value):
    value = value or NORMAL
    if value not in dict(SENSITIVITIES):
        raise InvalidInput("Choose normal or restricted.", {"sensitivity": "Choose normal or restricted."})
    return value


def _clean(spec, raw, uploads, max_bytes):
    """Values and checked files, with every field's problem reported at once."""
    errors = {}
    values = checked = None
    try:
        checked = attachments.check(uploads, max_bytes) if spec.files else []
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    try:
        values = spec.clean(raw, has_files=bool(uploads) if spec.files else False)
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    try:
        sensitivity = _clean_sensitivity(raw.get("sensitivity"))
    except InvalidInput as exc:
        errors.update(exc.field_errors)
    if errors:
        raise InvalidInput("Check the highlighted fields.", errors)
    return values, checked, sensitivity


def _new_version(key, *, record_id, version, patient_id, author, type_name, data, sensitivity,
                 files, supersedes, kind):
    """(document, sealed attributes, salts) of one version, its payload encrypted, pending its
    `kind` block (the salts are inside the payload, written with it)."""
    doc = {
        "record_id": record_id,
        "version": version,
        "patient_id": patient_id,
        "type": type_name,
        "author_id": author["human_id"],
        "author_role": author["role"],
        "author_name": author["name"],
        "org_id": author.get("org_id"),
        "created_at": now_ms(),
        "status": FINAL,
        "sensitivity": sensitivity,
        "supersedes": supersedes,
        "superseded_by": None,
        "attachments": files,
        "rx_status": RX_ACTIVE if type_name == types.PRESCRIPTION else None,
        "sealed_height": None,
    }
    attributes = sealed_attributes(doc, data)
    salts = {name: new_salt() for name in attributes}
    doc["box"] = crypto.encrypt(key, record_id, version, {"data": data, "salts": salts})
    return pending_fields(doc, kind, None), attributes, salts


def _insert(db, doc):
    try:
        db.records.insert_one(authority.stamp("records", doc))
    except pymongo.errors.DuplicateKeyError:
        raise Conflict("This record was changed by someone else at the same moment. "
                       "Reload it and try again.") from None


def _seal_version(db, doc, author, attributes, salts, kind):
    """Seal a written version and keep the height that sealed it.

    Once the version is written and complete nothing undoes it: if sealing fails, the version
    (with its files) stays for reconcile, which links the block or seals it from the document.
    """
    seal_pending(db, kind, doc, author, attributes, salts)
    return doc


def create(db, key, *, author, patient_id, type_name, raw, uploads=(), max_bytes):
    """A new record (version 1) for a patient, written by a doctor, lab technician or patient."""
    spec = types.get(type_name)
    if spec is None:
        raise NotFound("There is no such record type.")
    patient = require_patient(db, patient_id)
    _check_writer(author, type_name, patient["human_id"])
    if author["role"] == users.LAB_TECH:
        if access.active_grant_for_type(db, author, patient["human_id"], type_name) is None:
            raise Forbidden("This patient has not granted your lab access for lab reports.")
    data, checked, sensitivity = _clean(spec, raw, uploads, max_bytes)
    record_id = new_record_id(db, patient["human_id"])
    files = attachments.store(db, key, checked, patient["human_id"])
    doc, attributes, salts = _new_version(
        key, record_id=record_id, version=1, patient_id=patient["human_id"], author=author,
        type_name=type_name, data=data, sensitivity=sensitivity, files=files, supersedes=None,
        kind=CREATED)
    try:
        _insert(db, doc)
    except Exception:
        attachments.discard(db, files)
        raise
    return _seal_version(db, doc, author, attributes, salts, CREATED)


def get_version(db, record_id, version, projection=None):
    if not ids.is_record_id(record_id):
        return None
    return db.records.find_one({"record_id": record_id, "version": int(version)}, projection)


def require_version(db, record_id, version):
    doc = get_version(db, record_id, version)
    if doc is None:
        raise NotFound("There is no such record.")
    return doc


def may_amend(user, doc):
    """Only the author changes a record (a patient only their own `patient_provided` ones)."""
    if doc["type"] not in writable_types(user):
        return False
    if user["role"] == users.PATIENT:
        return doc["patient_id"] == user["human_id"] and doc["author_id"] == user["human_id"]
    return doc["author_id"] == user["human_id"]


def _claim_for_amendment(db, doc, next_version):
    claimed = authority.transition(db.records, {"_id": doc["_id"], "status": FINAL},
                         {"$set": {"status": AMENDED, "superseded_by": next_version}})
    if claimed is None:
        raise Conflict("This version was already amended or marked as entered in error; "
                       "open the current version.")
    return claimed


def amend(db, key, *, author, record_id, version, raw, uploads=(), max_bytes):
    """A new version that supersedes `version`, carrying its files plus any new ones."""
    doc = require_version(db, record_id, version)
    if not may_amend(author, doc):
        raise Forbidden("Only the author can amend this record.")
    spec = types.get(doc["type"])
    if doc["status"] != FINAL:
        raise Conflict("This version was already amended or marked as entered in error.")
    raw = dict(raw)
    raw["sensitivity"] = raw.get("sensitivity") or doc["sensitivity"]
    data, checked, sensitivity = _clean(spec, raw, uploads, max_bytes)
    return _supersede(db, key, doc, author, data, sensitivity, checked)


def add_files(db, key, *, author, record_id, version, uploads, max_bytes):
    """Attach files to a record: a new version with the same values and the extra files."""
    doc = require_version(db, record_id, version)
    if not may_amend(author, doc):
        raise Forbidden("Only the author can add files to this record.")
    if doc["status"] != FINAL:
        raise Conflict("This version was already amended or marked as entered in error.")
    if not uploads:
        raise InvalidInput("Choose at least one file.", {attachments.FIELD: "Choose at least one file."})
    checked = attachments.check(uploads, max_bytes)
    return _supersede(db, key, doc, author, data_of(key, doc), doc["sensitivity"], checked)


def _supersede(db, key, doc, author, data, sensitivity, checked):
    """Insert the next version (pending), then claim the current one for it, then seal.

    In that order a crash leaves either a new version whose predecessor does not name it
    (reconcile removes it: the amendment was never acknowledged) or a complete amendment
    (reconcile seals it); never an `amended` version without its successor.
    """
    next_version = doc["version"] + 1
    files = attachments.store(db, key, checked, doc["patient_id"])
    new, attributes, salts = _new_version(
        key, record_id=doc["record_id"], version=next_version, patient_id=doc["patient_id"],
        author=author, type_name=doc["type"], data=data, sensitivity=sensitivity,
        files=list(doc["attachments"]) + files, supersedes=doc["version"], kind=AMENDED_KIND)
    try:
        _insert(db, new)
    except Exception:
        attachments.discard(db, files)
        raise
    try:
        _claim_for_amendment(db, doc, next_version)
    except Conflict:
        _remove_unclaimed(db, new)
        raise
    return _seal_version(db, new, author, attributes, salts, AMENDED_KIND)


def _remove_unclaimed(db, new):
    """Undo a version whose predecessor was never claimed for it (and the files it added)."""
    if db.records.delete_one({"_id": new["_id"], "sealed_height": None}).deleted_count:
        previous = get_version(db, new["record_id"], new["version"] - 1, ENVELOPE) or {}
        kept = {meta["file_id"] for meta in previous.get("attachments", [])}
        attachments.discard(db, [meta for meta in new["attachments"]
                                 if meta["file_id"] not in kept])


def error_attributes(doc):
    error = doc.get("error") or {}
    return {"status": doc["status"], "reason": error.get("reason"), "by": error.get("by"),
            "at": ts(error.get("at"))}


def mark_entered_in_error(db, *, user, record_id, version, reason):
    """`final` → `entered-in-error` in one atomic update, then its block; never a delete."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput("Say why this record is wrong.", {"reason": "Say why this record is wrong."})
    if len(reason) > MAX_REASON_LENGTH:
        problem = f"Use at most {MAX_REASON_LENGTH} characters."
        raise InvalidInput(problem, {"reason": problem})
    doc = require_version(db, record_id, version)
    if not may_amend(user, doc):
        raise Forbidden("Only the author can mark this record as entered in error.")
    salts = new_salts(error_attributes(doc))
    error = {"reason": reason, "by": user["human_id"], "at": now_ms(), "seal_salts": salts}
    marked = authority.transition(db.records, {"_id": doc["_id"], "status": FINAL},
                        merge({"$set": {"status": ENTERED_IN_ERROR, "error": error}},
                              pending_update(ERROR_KIND)))
    if marked is None:
        raise Conflict("This version was already amended or marked as entered in error.")
    seal_pending(db, ERROR_KIND, marked, user, error_attributes(marked), salts)
    return marked


def cancellation_attributes(doc):
    cancel = doc.get("rx_cancel") or {}
    return {"status": doc["rx_status"], "reason": cancel.get("reason"), "by": cancel.get("by"),
            "at": ts(cancel.get("at"))}


def cancel_prescription(db, *, user, record_id, version, reason):
    """An active prescription's author stops it: `active` → `cancelled` (one atomic update,
    sealed); a dispensed one can no longer be cancelled."""
    reason = " ".join((reason or "").split())
    if not reason or len(reason) > MAX_REASON_LENGTH:
        problem = f"Say why (at most {MAX_REASON_LENGTH} characters)."
        raise InvalidInput(problem, {"reason": problem})
    doc = require_version(db, record_id, version)
    if doc["type"] != types.PRESCRIPTION:
        raise NotFound("There is no such prescription.")
    if not may_amend(user, doc):
        raise Forbidden("Only the prescriber can cancel this prescription.")
    salts = new_salts(cancellation_attributes(doc))
    cancelled = authority.transition(
        db.records, {"_id": doc["_id"], "status": FINAL, "rx_status": RX_ACTIVE},
        merge({"$set": {"rx_status": RX_CANCELLED, "rx_cancel": {
            "reason": reason, "by": user["human_id"], "at": now_ms(), "seal_salts": salts}}},
            pending_update(RX_CANCELLED_KIND)))
    if cancelled is None:
        raise Conflict("Only an active, current prescription can be cancelled.")
    seal_pending(db, RX_CANCELLED_KIND, cancelled, user, cancellation_attributes(cancelled),
                 salts)
    return cancelled


# Reading -----------------------------------------------------------------------------------

def versions(db, record_id, projection=ENVELOPE):
    """Every version of one record, newest first (a handful of documents).

    With `projection=None` the versions are whole, so a record page finds the version it shows
    among them: one round trip to the database instead of two.
    """
    if not ids.is_record_id(record_id):
        return []
    found = db.records.find({"record_id": record_id}, projection)
    return sorted(found, key=lambda doc: doc["version"], reverse=True)


def for_patient(db, patient_id, projection=ENVELOPE):
    """A patient's record versions (envelopes only, by default), newest record first."""
    found = db.records.find({"patient_id": patient_id}, projection, limit=PATIENT_LIST_LIMIT)
    return sorted(found, key=lambda doc: (doc["created_at"], doc["version"]), reverse=True)


def grouped(docs):
    """[(current version, [older versions])] per record, newest record first."""
    by_record = {}
    for doc in docs:
        by_record.setdefault(doc["record_id"], []).append(doc)
    groups = []
    for versions_of_one in by_record.values():
        versions_of_one.sort(key=lambda doc: doc["version"], reverse=True)
        groups.append((versions_of_one[0], versions_of_one[1:]))
    groups.sort(key=lambda group: (group[0]["created_at"], ids.record_number(group[0]["record_id"])),
                reverse=True)
    return groups


def authored_by(db, human_id, limit=200):
    found = db.records.find({"author_id": human_id}, ENVELOPE, limit=limit)
    return sorted(found, key=lambda doc: doc["created_at"], reverse=True)


# What the audit rebuilds -------------------------------------------------------------------

def _subject_version(block):
    subject = block.get("subject") or {}
    try:
        return subject.get("record"), int(subject.get("version"))
    except (TypeError, ValueError):
        return subject.get("record"), None


def sealed_version(db, block, prefetched=None, projection=None):
    """The version the block's subject names: the prefetched one if it is that version, else
    one lookup; None if there is none (or the subject names no valid version)."""
    record_id, version = _subject_version(block)
    if version is None or not ids.is_record_id(record_id):
        return None
    doc = registry.take(prefetched, block,
                        lambda doc: registry.same(doc.get("record_id"), record_id)
                        and registry.same(doc.get("version"), version))
    return doc if doc is not None else get_version(db, record_id, version, projection)


def rebuild_version(db, block, data_key, prefetched=None):
    """The version's attributes from its current envelope and decrypted payload.

    A failed AES-GCM tag raises crypto.TamperedCiphertext, which the audit reports as tampering.
    """
    doc = sealed_version(db, block, prefetched)
    if doc is None:
        return None
    payload = open_payload(data_key, doc)
    return sealed_attributes(doc, payload["data"]), payload.get("salts", {})


def rebuild_error(db, block, data_key, prefetched=None):
    doc = sealed_version(db, block, prefetched, ENVELOPE)
    if doc is None:
        return None
    return error_attributes(doc), (doc.get("error") or {}).get("seal_salts", {})


def rebuild_cancellation(db, block, data_key, prefetched=None):
    doc = sealed_version(db, block, prefetched, ENVELOPE)
    if doc is None or not doc.get("rx_cancel"):
        return None
    return cancellation_attributes(doc), doc["rx_cancel"].get("seal_salts", {})


def version_coverage(doc):
    """Every version must be sealed; so must each status an event set (error, dispensed)."""
    yield "records", version_label(doc), doc.get("sealed_height")
    if doc.get("status") == ENTERED_IN_ERROR:
        yield "records", version_label(doc, ENTERED_IN_ERROR), \
            (doc.get("error") or {}).get("sealed_height")
    if doc.get("rx_status") == RX_DISPENSED:
        yield "records", version_label(doc, RX_DISPENSED), \
            (doc.get("dispense") or {}).get("sealed_height")
    if doc.get("rx_status") == RX_CANCELLED:
        yield "records", version_label(doc, RX_CANCELLED), \
            (doc.get("rx_cancel") or {}).get("sealed_height")


# What reconcile finishes after a crash -------------------------------------------------------

def version_subject(doc):
    return {"record": doc["record_id"], "version": doc["version"]}


def _author(db, doc):
    return users.by_human_id(db, doc["author_id"])


def _sealed_version(db, data_key, doc):
    """The version's attributes and salts from its payload (TamperedCiphertext if altered)."""
    payload = open_payload(data_key, doc)
    return sealed_attributes(doc, payload["data"]), payload["salts"]


def _sealed_amendment(db, data_key, doc):
    """Complete only if the previous version was claimed for this one; else None."""
    previous = get_version(db, doc["record_id"], doc["version"] - 1, ENVELOPE)
    if previous is None or previous["status"] != AMENDED \
            or previous.get("superseded_by") != doc["version"]:
        return None
    return _sealed_version(db, data_key, doc)


def _by(part):
    """The actor of a status event: the account named by `<part>.by`."""
    def actor(db, doc):
        return users.by_human_id(db, (doc.get(part) or {}).get("by") or "")
    return actor


def _salts(doc, part):
    return (doc.get(part) or {}).get("seal_salts", {})


def version_label(doc, event=""):
    """How the coverage check names a version (and an event on it)."""
    return f"{doc['record_id']} v{doc['version']}" + (f" {event}" if event else "")


def _status_event(kind, part, rebuild, attributes, status):
    return EventKind(kind, "records", f"{part}.sealed_height", rebuild, projection=ENVELOPE,
                     subject=version_subject, salts_at=f"{part}.seal_salts", actor=_by(part),
                     sealed=lambda db, key, doc: (attributes(doc), _salts(doc, part)),
                     label=lambda doc: version_label(doc, status))


EVENTS = (
    EventKind(CREATED, "records", "sealed_height", rebuild_version, creates_document=True,
              subject=version_subject, actor=_author, sealed=_sealed_version,
              label=version_label),
    EventKind(AMENDED_KIND, "records", "sealed_height", rebuild_version, creates_document=True,
              subject=version_subject, actor=_author, sealed=_sealed_amendment,
              rollback=_remove_unclaimed, label=version_label),
    _status_event(ERROR_KIND, "error", rebuild_error, error_attributes, ENTERED_IN_ERROR),
    _status_event(RX_CANCELLED_KIND, "rx_cancel", rebuild_cancellation, cancellation_attributes,
                  RX_CANCELLED),
)
record_coverage = registry.DocumentCoverage(
    "records", version_coverage,
    {"record_id": 1, "version": 1, "sealed_height": 1, "status": 1, "rx_status": 1,
     "error.sealed_height": 1, "dispense.sealed_height": 1, "rx_cancel.sealed_height": 1})
COVERAGE = (record_coverage,)
