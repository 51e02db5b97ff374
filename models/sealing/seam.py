"""The app's seam to the ledger library: one Ledger per database, and `seal()` for models.

Every state change that matters calls `seal(...)` in the same request. Actors appear on the
chain by their pseudonymous id, never by name.

Work that follows an append (the auditor's day counter, the checkpoint cadence) and the
crash rehearsal before it are hooks that `models.startup.install` registers on the app, so the
seam never calls upward into the modules built on it. Once a block is appended the event is
sealed: an after-seal hook that fails is logged and never undoes the block nor fails the
caller (the counter is rebuilt by `flask ledger recount`, the next seal retries a checkpoint).
"""
import logging
from dataclasses import dataclass, field

from flask import current_app
from ledger.attributes import new_salt
from ledger.chain import Ledger
from ledger.store import MongoStore

from models.storage.db import get_db

log = logging.getLogger(__name__)


@dataclass
class Hooks:
    """Callables run around each append of this app: `before_append(kind)` may stop the
    append by raising; `after_seal(block)` runs once the block is written."""
    before_append: list = field(default_factory=list)
    after_seal: list = field(default_factory=list)


def store_for(db):
    return MongoStore(db, prefix="ledger")


def ledger_for(db):
    return Ledger(store_for(db))


def _state(app=None):
    return (app or current_app).extensions.setdefault("medledger", {})


def hooks(app=None):
    """This app's hooks (filled by `models.startup.install`)."""
    state = _state(app)
    if "sealing_hooks" not in state:
        state["sealing_hooks"] = Hooks()
    return state["sealing_hooks"]


def current_ledger():
    state = _state()
    if "ledger" not in state:
        state["ledger"] = ledger_for(get_db())
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
