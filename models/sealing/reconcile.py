"""After a crash: documents written without their block, and blocks whose document is gone.

A document and its block are written in one request, document first. If the process dies in
between, the document has no sealing height. Reconcile asks each resealer in the registry
(declared by the domain that owns the collection: record versions and read-log entries today)
for such documents, and the resealer either links the block that was in fact appended (the
crash came after the append) or seals the event now from the document itself. Everything the
coverage checks still find unsealed is reported for a person to look at, and so is a block
whose document is missing: that cannot be repaired from the database.

`FAULT_INJECT_AFTER_DOCUMENT_WRITE` (a block kind, or "*"; honoured only in testing) makes
`seal` kill the process right before appending, to rehearse exactly this crash: `startup`
registers `crash_if_injected` as a before-append hook of testing apps only.
"""
import logging
import os
import threading
from dataclasses import dataclass

from flask import current_app
from ledger.audit import AttributeSourceError
from pymongo.errors import DuplicateKeyError

from models.core import clock
from models.core.errors import Conflict
from models.sealing import explorer, registry
from models.sealing.audit_callbacks import AttributeSource
from models.sealing.audit_jobs import STALE_AFTER
from models.sealing.seam import store_for

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


def existing_block(db, kind, subject):
    """A block already appended for this event (the crash came after the append), or None."""
    key, value = next(iter(subject.items()))
    for block in store_for(db).blocks.find({f"subject.{key}": value, "kind": kind}):
        if block.get("subject") == subject:
            return block
    return None


def _other_unsealed(db, size):
    """What the coverage checks report as unsealed in collections no resealer repairs."""
    resealed = {resealer.collection for resealer in registry.RESEALERS}
    for covered in registry.COVERAGE:
        for collection, doc_id, height in covered(db):
            if collection in resealed:
                continue
            if height is None or not isinstance(height, int) or not 0 <= height < size:
                yield Finding("unsealed-document", collection, str(doc_id), "reported",
                              "no ledger block" if height is None else
                              f"names block {height!r}, which is not on the chain")


def _missing_documents(db, data_key):
    """Blocks of creating events whose document is gone (one streaming pass)."""
    source, document_kinds = AttributeSource(db, data_key), registry.document_kinds()
    for block in store_for(db).iter_blocks(0, None):
        if block.get("kind") not in document_kinds:
            continue
        try:
            source(block)
        except AttributeSourceError as exc:
            if exc.kind == "missing-document":
                subject = block.get("subject") or {}
                item = ",".join(f"{k}={v}" for k, v in subject.items())
                yield Finding("missing-document", document_kinds[block["kind"]], item, "reported",
                              f"the {block['kind']} block's document is gone; restore it "
                              "from a backup", block.get("height"))


def reconcile(db, data_key, fix=True):
    """Find (and with `fix`, seal or link) what a crash left behind; one run at a time."""
    if not _local_lock.acquire(blocking=False):
        raise Conflict("A reconcile is already running in this process.")
    try:
        _claim(db)
        try:
            findings = [resealer.reseal(db, data_key, doc, fix)
                        for resealer in registry.RESEALERS for doc in resealer.unsealed(db)]
            size = explorer.chain_size(db)
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
    now = clock.now()
    try:
        db.reconcile_state.find_one_and_update(
            {"_id": LOCK_ID, "$or": [{"running": False}, {"since": {"$lt": now - STALE_AFTER}}]},
            {"$set": {"running": True, "since": now}}, upsert=True)
    except DuplicateKeyError:
        raise Conflict("A reconcile is already running; wait for it to finish.") from None
