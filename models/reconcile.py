"""After a crash: documents written without their block, and blocks whose document is gone.

A document and its block are written in one request, document first. If the process dies in
between, the document has no `sealed_height`. Reconcile finds such documents and, for the
kinds it knows how to rebuild (record versions and read-log entries), either links the block
that was in fact appended (the crash came after the append) or seals the event now from the
document itself (the salts of a record are inside its encrypted payload, so the new block
commits to exactly what was written). Everything else is reported for a person to look at:
a block whose document is missing cannot be repaired from the database.

`FAULT_INJECT_AFTER_DOCUMENT_WRITE` (a block kind, or "*"; honoured only in testing) makes
`seal` kill the process right before appending, to rehearse exactly this crash.
"""
import logging
import os
import threading
from dataclasses import dataclass

from flask import current_app
from ledger.audit import AttributeSourceError
from pymongo.errors import DuplicateKeyError

from models import audit_trail, ledger_explorer, records, sealed, users
from models.crypto import TamperedCiphertext
from models.errors import Conflict
from models.ledger_audit import DOCUMENT_KINDS, STALE_AFTER, AttributeSource, utcnow
from models.ledger_service import seal, store_for

log = logging.getLogger(__name__)

FAULT_FLAG = "FAULT_INJECT_AFTER_DOCUMENT_WRITE"
FAULT_EXIT_CODE = 86
LOCK_ID = "reconcile"
_local_lock = threading.Lock()


def crash_if_injected(kind):
    """The fault-injection hook `seal` calls between the document write and the append."""
    app = current_app
    wanted = app.config.get(FAULT_FLAG)
    if not wanted or not app.testing or wanted not in ("*", kind):
        return
    log.critical("fault injection: dying before the %s block is appended", kind)
    logging.shutdown()
    os._exit(FAULT_EXIT_CODE)


@dataclass
class Finding:
    problem: str  # unsealed-document | missing-document
    collection: str
    item: str
    action: str  # sealed | linked | reported
    detail: str
    height: int | None = None

    def line(self):
        where = f" height={self.height}" if self.height is not None else ""
        return f"{self.problem} {self.collection} {self.item}{where}: {self.action}: {self.detail}"


# Record versions --------------------------------------------------------------------------

def _record_kind(doc):
    return records.CREATED if doc["version"] == 1 else records.AMENDED_KIND


def _existing_block(db, kind, subject):
    """A block already appended for this event (the crash came after the append)."""
    key, value = next(iter(subject.items()))
    for block in store_for(db).blocks.find({f"subject.{key}": value, "kind": kind}):
        if block.get("subject") == subject:
            return block
    return None


def _reseal_record(db, data_key, doc, fix):
    subject = {"record": doc["record_id"], "version": doc["version"]}
    kind = _record_kind(doc)
    item = f"{doc['record_id']} v{doc['version']}"
    existing = _existing_block(db, kind, subject)
    if existing is not None:
        if fix:
            db.records.update_one({"_id": doc["_id"], "sealed_height": None},
                                  {"$set": {"sealed_height": existing["height"]}})
        return Finding("unsealed-document", "records", item, "linked" if fix else "would link",
                       f"its {kind} block was appended before the crash", existing["height"])
    try:
        payload = records.open_payload(data_key, doc)
    except TamperedCiphertext:
        return Finding("unsealed-document", "records", item, "reported",
                       "its encrypted payload fails the integrity check; not sealed")
    if not fix:
        return Finding("unsealed-document", "records", item, "would seal",
                       f"no {kind} block; the document is intact")
    author = users.by_human_id(db, doc["author_id"])
    block, _ = seal(kind, subject, author, records.sealed_attributes(doc, payload["data"]),
                    payload["salts"])
    db.records.update_one({"_id": doc["_id"], "sealed_height": None},
                          {"$set": {"sealed_height": block["height"]}})
    return Finding("unsealed-document", "records", item, "sealed",
                   f"sealed now as {kind} from the stored document", block["height"])


def _unsealed_records(db):
    return db.records.find({"sealed_height": None})


# Read-log entries ---------------------------------------------------------------------------

def _reseal_read(db, entry, fix):
    subject = {"record": entry["record_id"], "version": entry["version"]}
    item = f"read of {entry['record_id']} v{entry['version']} by {entry['viewer_id']}"
    if not fix:
        return Finding("unsealed-document", "record_reads", item, "would seal",
                       "no record.read block")
    viewer = users.by_human_id(db, entry["viewer_id"])
    block, salts = seal(audit_trail.READ_KIND, subject, viewer, audit_trail.read_attributes(entry))
    db.record_reads.update_one({"_id": entry["_id"], "sealed_height": None},
                               {"$set": {"sealed_height": block["height"], "seal_salts": salts}})
    return Finding("unsealed-document", "record_reads", item, "sealed",
                   "sealed now as record.read from the log entry", block["height"])


def _unsealed_reads(db):
    return db.record_reads.find({"sealed_height": None})


RESEALED_COLLECTIONS = ("records", "record_reads")


def _other_unsealed(db, size):
    """What the other models' coverage checks report as unsealed (not rebuilt here)."""
    for covered in sealed.COVERAGE:
        for collection, doc_id, height in covered(db):
            if collection in RESEALED_COLLECTIONS:
                continue
            if height is None or not isinstance(height, int) or not 0 <= height < size:
                yield Finding("unsealed-document", collection, str(doc_id), "reported",
                              "no ledger block" if height is None else
                              f"names block {height!r}, which is not on the chain")


def _missing_documents(db, data_key):
    """Blocks of creating events whose document is gone (one streaming pass)."""
    source = AttributeSource(db, data_key)
    for block in store_for(db).iter_blocks(0, None):
        if block.get("kind") not in DOCUMENT_KINDS:
            continue
        try:
            source(block)
        except AttributeSourceError as exc:
            if exc.kind == "missing-document":
                subject = block.get("subject") or {}
                item = ",".join(f"{k}={v}" for k, v in subject.items())
                yield Finding("missing-document", DOCUMENT_KINDS[block["kind"]], item, "reported",
                              f"the {block['kind']} block's document is gone; restore it "
                              "from a backup", block.get("height"))


def reconcile(db, data_key, fix=True):
    """Find (and with `fix`, seal or link) what a crash left behind; one run at a time."""
    if not _local_lock.acquire(blocking=False):
        raise Conflict("A reconcile is already running in this process.")
    try:
        _claim(db)
        try:
            findings = [_reseal_record(db, data_key, doc, fix) for doc in _unsealed_records(db)]
            findings += [_reseal_read(db, entry, fix) for entry in _unsealed_reads(db)]
            size = ledger_explorer.chain_size(db)
            findings += list(_other_unsealed(db, size))
            findings += list(_missing_documents(db, data_key))
        finally:
            db.reconcile_state.update_one({"_id": LOCK_ID}, {"$set": {"running": False}})
    finally:
        _local_lock.release()
    for finding in findings:
        log.info("reconcile: %s", finding.line())
    return findings


def _claim(db):
    """The database-wide reconcile lock (a crashed run's lock goes stale after STALE_AFTER)."""
    now = utcnow()
    try:
        db.reconcile_state.find_one_and_update(
            {"_id": LOCK_ID, "$or": [{"running": False}, {"since": {"$lt": now - STALE_AFTER}}]},
            {"$set": {"running": True, "since": now}}, upsert=True)
    except DuplicateKeyError:
        raise Conflict("A reconcile is already running; wait for it to finish.") from None
