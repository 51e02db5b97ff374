"""The app's seam to the ledger library: one Ledger per database, and `seal()` for models.

Every state change that matters is sealed in the same request, in three steps that a crash
may cut anywhere without losing or forking anything:
  1. the change is written together with its event's salts and a pending marker
     (`pending_update` / `pending_fields`), in one atomic write;
  2. the block is appended (`seal`);
  3. the block's height is recorded and the marker pulled (`seal_pending`).
After a crash, reconcile finds the marker and either links the block that was appended,
seals the event from the document (its salts are there), or rolls an incomplete change back.
Actors appear on the chain by their pseudonymous id, never by name.

Work that follows an append (the auditor's day counter, the checkpoint cadence) and the
crash rehearsal before it are hooks that `models.startup.install` registers on the app, so the
seam never calls upward into the modules built on it. Once a block is appended the event is
sealed: an after-seal hook that fails is logged and never undoes the block nor fails the
caller (the counter is rebuilt by `flask ledger recount`, the next seal retries a checkpoint).
After-change hooks run once step 3 is done, with the change's document (notifications: the
block alone does not say which document it sealed until its height is recorded); reconcile
runs them too when it finishes a change a crash cut short.
"""
import logging
from dataclasses import dataclass, field

from flask import current_app
from pymongo.read_concern import ReadConcern
from ledger.attributes import new_salt
from ledger.chain import Ledger
from ledger.store import MongoStore

from models.core.clock import now_ms
from models.sealing import registry
from models.sealing.registry import PENDING
from models.storage import authority
from models.storage.db import get_db, reconnects, unjournaled

log = logging.getLogger(__name__)


@dataclass
class Hooks:
    """Callables run around each append of this app: `before_append(kind)` may stop the
    append by raising; `after_seal(block)` runs once the block is written."""
    before_append: list = field(default_factory=list)
    after_seal: list = field(default_factory=list)
    after_change: list = field(default_factory=list)
    """`fn(kind, doc, block)` once a change's block is appended and its height recorded; `doc`
    is the change's document as written (read it, never change it)."""


def store_for(db):
    """Ledger reads at majority: on a replica set, a tip read after a lost height race must not
    be a block a failover could roll back, or the next block would link to nothing."""
    return MongoStore(db, prefix="ledger", read_concern=ReadConcern("majority"))


def ledger_for(db):
    """The app's Ledger: every block it appends carries the app's authentication code."""
    return Ledger(store_for(db), authenticator=authority.block_mac)


def _state(app=None):
    return (app or current_app).extensions.setdefault("medledger", {})


def hooks(app=None):
    """This app's hooks (filled by `models.startup.install`)."""
    state = _state(app)
    if "sealing_hooks" not in state:
        state["sealing_hooks"] = Hooks()
    return state["sealing_hooks"]


def current_ledger():
    """This app's Ledger; its cached tip is dropped after any reconnect of the database, so
    no block is ever built on a tip that was not read back since (no fork after a restart)."""
    state = _state()
    if "ledger" not in state:
        state["ledger"] = ledger_for(get_db())
        state["ledger_reconnects"] = reconnects()
    elif state.get("ledger_reconnects") != reconnects():
        state["ledger"].forget_tip()
        state["ledger_reconnects"] = reconnects()
    return state["ledger"]


def forget_cached_tip(app):
    """The app's Ledger caches its tip; after blocks were written around it (a bulk load) it
    must read it again."""
    _state(app).pop("ledger", None)


def seal(kind, subject, actor, attributes, salts=None):
    """Append one block; `actor` is an account document (its pseudonym goes on the chain).

    Without salts (events whose attributes are not secret, such as consent decisions) each
    attribute gets a fresh salt that the caller must store if it wants the audit to check it.
    """
    if salts is None:
        salts = {name: new_salt() for name in attributes}
    actor_id = actor.get("actor", "system") if actor else "system"
    registered = hooks()
    for before in registered.before_append:
        before(kind)
    block = current_ledger().append(kind, subject, actor_id, attributes, salts)
    for after in registered.after_seal:
        try:
            after(block)
        except Exception:  # noqa: BLE001 - the block is written; never undo or fail the event
            log.exception("after-seal hook %s failed at height %s",
                          getattr(after, "__qualname__", after), block.get("height"))
    return block, salts


def new_salts(names):
    """A fresh salt per attribute name, chosen before the change is written."""
    return {name: new_salt() for name in names}


def pending_update(kind, salts=None):
    """The update operators that mark a change as waiting for its `kind` block, with the
    event's salts, to merge into the change's own atomic update. Without `salts` only the
    marker: the caller writes the salts inside a sub-document its update sets whole."""
    event = registry.DECLARED[kind]
    update = {"$push": {PENDING: _marker(kind)}}
    if salts is not None and event.salts_at:
        update["$set"] = {event.salts_at: salts}
    return update


def _marker(kind):
    return {"kind": kind, "at": now_ms()}


def pending_fields(doc, kind, salts):
    """The same marker and salts for a document about to be inserted (nested fields)."""
    event = registry.DECLARED[kind]
    doc[PENDING] = list(doc.get(PENDING) or []) + [_marker(kind)]
    if event.salts_at:
        _put(doc, event.salts_at, salts)
    return doc


def _put(doc, path, value):
    *parents, last = path.split(".")
    for name in parents:
        if not isinstance(doc.get(name), dict):
            doc[name] = {}
        doc = doc[name]
    doc[last] = value


def merge(*updates):
    """One update document from several (their operators' fields are disjoint)."""
    merged = {}
    for update in updates:
        for operator, fields in update.items():
            merged.setdefault(operator, {}).update(fields)
    return merged


def seal_pending(db, kind, doc, actor, attributes, salts):
    """Append the block of a change already written with `pending_update`/`pending_fields`
    and record its height; the block."""
    event = registry.DECLARED[kind]
    block, _ = seal(kind, event.subject(doc), actor, attributes, salts)
    record_height(db, event, doc["_id"], block["height"])
    doc[PENDING] = [marker for marker in doc.get(PENDING) or [] if marker.get("kind") != kind]
    for path in event.heights:
        _put(doc, path, block["height"])
    announce(kind, doc, block)
    return block


def announce(kind, doc, block):
    """Run the after-change hooks; like an after-seal hook, one that fails is logged and never
    undoes the change nor fails the caller."""
    for after in hooks().after_change:
        try:
            after(kind, doc, block)
        except Exception:  # noqa: BLE001 - the change is sealed; never undo or fail it
            log.exception("after-change hook %s failed at height %s",
                          getattr(after, "__qualname__", after), block.get("height"))


def record_height(db, event, doc_id, height):
    """Step 3: the block's height on the document, the pending marker pulled (without a
    journal wait of its own: if a crash loses it, reconcile links the block again)."""
    unjournaled(db[event.collection]).update_one({"_id": doc_id}, {
        "$set": {path: height for path in event.heights}, "$pull": {PENDING: {"kind": event.kind}}})


def is_pending(doc, kind=None):
    """Whether the document's change (of `kind`, or any) still waits for its block."""
    waiting = [marker.get("kind") for marker in doc.get(PENDING) or []
               if isinstance(marker, dict)]
    return bool(waiting) if kind is None else kind in waiting
