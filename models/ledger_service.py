"""The app's seam to the ledger library: one Ledger per database, sealing events for models.

Every state change that matters calls `seal(...)` in the same request. Actors appear on the
chain by their pseudonymous id, never by name.
"""
from flask import current_app

from ledger.chain import Ledger
from ledger.store import MongoStore

from models.db import get_db


def store_for(db):
    return MongoStore(db, prefix="ledger")


def ledger_for(db):
    return Ledger(store_for(db))


def current_ledger():
    state = current_app.extensions.setdefault("medledger", {})
    if "ledger" not in state:
        state["ledger"] = ledger_for(get_db())
    return state["ledger"]


def seal(kind, subject, actor, attributes, salts=None):
    """Append one block; `actor` is an account document (its pseudonym goes on the chain).

    Without salts (events whose attributes are not secret, such as consent decisions) each
    attribute gets a fresh salt that the caller must store if it wants the audit to check it.
    """
    from ledger.attributes import new_salt
    if salts is None:
        salts = {name: new_salt() for name in attributes}
    actor_id = actor.get("actor", "system") if actor else "system"
    from models import checkpoints, ledger_activity, reconcile
    reconcile.crash_if_injected(kind)  # rehearses a crash between document and block
    block = current_ledger().append(kind, subject, actor_id, attributes, salts)
    ledger_activity.count_block(get_db(), block)
    checkpoints.after_seal(block)
    return block, salts
