"""After a crash: changes written without their block, and blocks whose document is gone.

Every sealed change is written first with its event's salts and a pending marker, then its
block is appended, then the block's height is recorded and the marker pulled (models.sealing.
seam). A crash can stop that anywhere; reconcile finishes each change a marker still names,
for every kind the registry declares:
  - the block was appended before the crash (same kind, subject and attribute root): link it;
  - the change is complete (the kind's `sealed` gives its attributes): seal it now, from the
    document alone, so the block commits to exactly what was written;
  - the change is incomplete (`sealed` gives None: an approval whose request never named its
    grant, an amendment whose predecessor was never claimed): roll it back; it was never
    acknowledged and, pending, was never in force;
  - the document fails its integrity check: report it for a person (that is tampering).
Markers younger than `grace` seconds are left alone: their request may still be running.

The full run (`flask ledger reconcile`) also reports what the coverage checks find unsealed
without a marker and blocks whose document is missing: neither can be repaired from the
database.

`FAULT_INJECT_AFTER_DOCUMENT_WRITE` / `FAULT_INJECT_AFTER_APPEND` (a block kind, or "*";
honoured only in testing) kill the process right before the append / right after it, to
rehearse exactly these crashes: `startup` registers the hooks on testing apps only.
"""
import logging
import os
import threading
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from ledger.attributes import attribute_leaf_hashes, attribute_root
from ledger.audit import AttributeSourceError
from ledger.encoding import CanonicalError
from pymongo.errors import DuplicateKeyError

from models.core import clock
from models.core.errors import Conflict
from models.sealing import explorer, registry
from models.sealing.audit_callbacks import AttributeSource
from models.sealing.audit_jobs import STALE_AFTER
from models.sealing.registry import PENDING
from models.sealing.seam import announce, record_height, seal, store_for
from models.storage.crypto import TamperedCiphertext

log = logging.getLogger(__name__)

FAULT_FLAG = "FAULT_INJECT_AFTER_DOCUMENT_WRITE"
FAULT_AFTER_APPEND = "FAULT_INJECT_AFTER_APPEND"
FAULT_EXIT_CODE = 86
LOCK_ID = "reconcile"
GRACE_SECONDS = 120
"""A pending marker younger than this may belong to a request still running (requests time out
well before): reconcile leaves it alone."""
_local_lock = threading.Lock()


def _die_if_injected(flag, kind, moment):
    app = current_app
    wanted = app.config.get(flag)
    if not wanted or not app.testing or wanted not in ("*", kind):
        return
    log.critical("fault injection: dying %s the %s block is appended", moment, kind)
    logging.shutdown()
    os._exit(FAULT_EXIT_CODE)


def crash_if_injected(kind):
    """Before-append hook: die between the document write and the append."""
    _die_if_injected(FAULT_FLAG, kind, "before")


def crash_after_append_if_injected(block):
    """After-seal hook: die between the append and recording its height."""
    _die_if_injected(FAULT_AFTER_APPEND, block.get("kind"), "after")


@dataclass
class Finding:
    problem: str  # unsealed-document | missing-document
    collection: str
    item: str
    action: str  # sealed | linked | rolled back | reported (| would …)
    detail: str
    height: int | None = None

    @property
    def for_a_person(self):
        return self.action == "reported"

    def line(self):
        where = f" height={self.height}" if self.height is not None else ""
        return f"{self.problem} {self.collection} {self.item}{where}: {self.action}: {self.detail}"


def _root_of(attributes, salts):
    try:
        return attribute_root(attribute_leaf_hashes(attributes, salts)).hex()
    except (CanonicalError, KeyError, TypeError, ValueError):
        return None


def existing_block(db, kind, subject, attr_root):
    """The block already appended for this very event (same kind, subject and attribute root:
    the salts make the root unique to the event), or None."""
    key, value = next(iter(subject.items()))
    for block in store_for(db).blocks.find({f"subject.{key}": value, "kind": kind}):
        if block.get("subject") == subject and block.get("attr_root") == attr_root:
            return block
    return None


def _item(event, doc):
    if event.label is not None:
        return event.label(doc)
    return " ".join(str(value) for value in event.subject(doc).values())


def finish(db, data_key, event, doc, fix=True):
    """Link, seal, roll back or report one change its pending marker names."""
    item = _item(event, doc)

    def found(action, detail, height=None):
        return Finding("unsealed-document", event.collection, item, action, detail, height)
    try:
        sealed = event.sealed(db, data_key, doc)
    except TamperedCiphertext:
        return found("reported", "its encrypted payload fails the integrity check; not sealed")
    if sealed is None:
        if event.rollback is None:
            return found("reported", f"the {event.kind} change is incomplete")
        if fix:
            event.rollback(db, doc)
        return found("rolled back" if fix else "would roll back",
                     f"the {event.kind} change was incomplete and never acknowledged")
    attributes, salts = sealed
    root = _root_of(attributes, salts)
    if root is None:
        return found("reported", "its sealed values cannot be encoded; not sealed")
    existing = existing_block(db, event.kind, event.subject(doc), root)
    if existing is not None:
        if fix:
            record_height(db, event, doc["_id"], existing["height"])
            announce(event.kind, doc, existing)
        return found("linked" if fix else "would link",
                     f"its {event.kind} block was appended before the crash", existing["height"])
    if not fix:
        return found("would seal", f"no {event.kind} block; the document is complete")
    block, _ = seal(event.kind, event.subject(doc), event.actor(db, doc), attributes, salts)
    record_height(db, event, doc["_id"], block["height"])
    announce(event.kind, doc, block)
    return found("sealed", f"sealed now as {event.kind} from the stored document",
                 block["height"])


def _pending(db, older_than):
    """(event kind, document) for every pending marker older than `older_than`."""
    for collection, kinds in registry.pending_kinds().items():
        for doc in db[collection].find({f"{PENDING}.kind": {"$in": kinds}}):
            for marker in doc.get(PENDING) or []:
                kind, at = marker.get("kind"), marker.get("at")
                if kind in kinds and (older_than is None or at is None or _aware(at) <= older_than):
                    yield registry.DECLARED[kind], doc


def _aware(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=clock.now().tzinfo)


def _other_unsealed(db, size):
    """What the coverage checks report as unsealed with no marker to finish it."""
    for covered in registry.COVERAGE:
        try:
            for collection, doc_id, height in covered(db):
                if height is None or not isinstance(height, int) or not 0 <= height < size:
                    yield Finding("unsealed-document", collection, str(doc_id), "reported",
                                  "no ledger block" if height is None else
                                  f"names block {height!r}, which is not on the chain")
        except Exception as exc:  # noqa: BLE001 - tampered data may break any reader
            yield Finding("unsealed-document", registry.coverage_name(covered), "?", "reported",
                          f"a document has a shape the app never writes "
                          f"({type(exc).__name__}); the ones after it were not checked")


def _missing_documents(db, data_key, first_height=0):
    """Blocks of creating events whose document is gone (one streaming pass from
    `first_height`)."""
    source, document_kinds = AttributeSource(db, data_key), registry.document_kinds()
    for block in store_for(db).iter_blocks(first_height, None):
        if type(block.get("kind")) is not str or block["kind"] not in document_kinds:
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


def reconcile(db, data_key, fix=True, full=True, grace=None):
    """Finish (with `fix`) what a crash left behind; one run at a time, across processes.

    `full` also reports documents unsealed without a marker and blocks whose document is gone
    (a pass over every document and block); without it only the pending markers are read.
    """
    if not _local_lock.acquire(blocking=False):
        raise Conflict("A reconcile is already running in this process.")
    try:
        _claim(db)
        try:
            grace = GRACE_SECONDS if grace is None else grace
            older_than = clock.now() - timedelta(seconds=grace) if grace else None
            findings = [finish(db, data_key, event, doc, fix)
                        for event, doc in list(_pending(db, older_than))]
            if full:
                finished = {(finding.collection, finding.item) for finding in findings}
                size = explorer.chain_size(db)
                findings += [finding for finding in _other_unsealed(db, size)
                             if (finding.collection, finding.item) not in finished]
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
