"""The chain's structure and checkpoints verified by N processes (`flask ledger verify --workers`).

The library's parallel_audit (ledger.parallel) splits the chain into height ranges; each
worker opens its own client to the same server (the embedded server's TCP address, or
MONGO_URI). What N processes check is the hash chain, the links, the log root and every
signed checkpoint (the kept one included); the contents (attributes decrypted, block MACs,
coverage) stay with the single-process full audit, which the report's note says. On any
finding the library reruns the single-process audit, so the problem list is the same.
"""
import functools

import pymongo
from ledger.parallel import parallel_audit
from ledger.store import DEFAULT_BATCH, MemoryStore, MongoStore

from models.sealing import checkpoint_log, trust
from models.sealing.seam import store_for
from models.storage import db as storage_db


def _open_store(uri, database):
    """A worker's own client (module level, so a spawned process can unpickle the opener)."""
    return MongoStore(pymongo.MongoClient(uri, tz_aware=True)[database], prefix="ledger")


def _worker_source(db, app):
    """What a worker reads: a URI it can connect to, or (mongomock, an injected client:
    a database only this process can see) a copy of the blocks."""
    uri = app.config.get("MONGO_URI", "")
    kind = storage_db.backend(uri)
    if app.config.get("MONGO_CLIENT") is None and kind in ("embedded", "mongodb"):
        address = storage_db.embedded_uri(app) if kind == "embedded" else uri
        return functools.partial(_open_store, address, app.config["MONGO_DB"])
    copy = MemoryStore()
    for doc in store_for(db).iter_blocks():
        copy.raw_put(doc)
    return copy


def run(db, app, workers, held_checkpoints=()):
    """The structural audit on `workers` processes, with the kept checkpoint as run_audit."""
    kept = checkpoint_log.latest(app)
    held = list(held_checkpoints) + ([kept] if kept and kept not in held_checkpoints else [])
    source = _worker_source(db, app)
    opener = source if callable(source) else None
    store = store_for(db)
    return parallel_audit(store, workers, opener=opener, worker_store=None if opener else source,
                          verifiers=trust.verifiers(app), held_checkpoints=held,
                          batch=app.config.get("AUDIT_BATCH", DEFAULT_BATCH))
