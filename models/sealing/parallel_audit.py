"""The chain verified by N processes (`flask ledger verify --workers`).

The library's parallel_audit (ledger.parallel) splits the chain into height ranges; each
worker opens its own client to the same server (the embedded server's TCP address, or
MONGO_URI) and checks the structure (hash chain, links, log root) of its range, and, with
the registry's `register` given, the contents on the same read (models.sealing.
contents_workers: block codes, attributes decrypted and compared). This process checks every
signed checkpoint (the kept one included) and, while the workers run, the coverage and
authority codes of the documents (as the full audit ends; again if the chain's size moved
meanwhile). On any finding the single-process full audit runs and its report is returned,
so the problem list is the full audit's.

A database the workers cannot open (mongomock, an injected client) gets the structural pass
on copies of the blocks only, and the report's note says what was left out.
"""
import functools

import pymongo
from ledger.parallel import parallel_audit
from ledger.store import DEFAULT_BATCH, MemoryStore, MongoStore

from models.sealing import checkpoint_log, contents_workers, incremental_audit, trust
from models.sealing.audit_callbacks import PREFETCH_WINDOW, CoverageCheckAhead
from models.sealing.seam import store_for
from models.storage import db as storage_db
from models.storage import keys

LEFT_TO_WORKERS = ("attribute contents not checked", "block authentication codes not checked")
"""The notes of the structural pass about what the workers with contents checked instead."""


def _open_store(uri, database):
    """A worker's own client (module level, so a spawned process can unpickle the opener)."""
    return MongoStore(pymongo.MongoClient(uri, tz_aware=True)[database], prefix="ledger")


def _worker_address(app):
    """A URI the workers can connect to, or None (mongomock, an injected client: a database
    only this process can see)."""
    uri = app.config.get("MONGO_URI", "")
    kind = storage_db.backend(uri)
    if app.config.get("MONGO_CLIENT") is None and kind in ("embedded", "mongodb"):
        return storage_db.embedded_uri(app) if kind == "embedded" else uri
    return None


def _copy_of_blocks(db):
    copy = MemoryStore()
    for doc in store_for(db).iter_blocks():
        copy.raw_put(doc)
    return copy


class _Watched:
    """This process's store: whether the library fell back to its own single-process walk
    (then the contents were not checked by the workers)."""

    def __init__(self, store):
        self.store, self.walked = store, False

    def iter_blocks(self, *args, **kwargs):
        self.walked = True
        return self.store.iter_blocks(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.store, name)


def workers_can_reach(app):
    """Whether spawned workers can open the app's database (not mongomock, not a client
    injected into this process)."""
    return _worker_address(app) is not None


def run(db, app, workers, held_checkpoints=(), register=None, full_audit=None):
    """The audit on `workers` processes, with the kept checkpoint as run_audit. With
    `register` (the app's registry of event kinds, filled in each worker) and a server the
    workers can reach, the contents too: the same report as `full_audit(db, app, held)`
    (`audit_jobs.run_audit`), which runs instead on any finding."""
    kept = checkpoint_log.latest(app)
    held = list(held_checkpoints) + ([kept] if kept and kept not in held_checkpoints else [])
    address, batch = _worker_address(app), app.config.get("AUDIT_BATCH", DEFAULT_BATCH)
    if address is None or register is None:
        opener = functools.partial(_open_store, address, app.config["MONGO_DB"]) \
            if address else None
        return parallel_audit(store_for(db), workers, opener=opener,
                              worker_store=None if opener else _copy_of_blocks(db),
                              verifiers=trust.verifiers(app), held_checkpoints=held,
                              batch=batch)
    opener = functools.partial(
        contents_workers.open_checking_store, address, app.config["MONGO_DB"],
        keys.data_key_path(app), keys.authority_key_path(app),
        app.config.get("AUDIT_PREFETCH_WINDOW", PREFETCH_WINDOW), register)
    parent = _Watched(store_for(db))
    # Coverage and authority codes read while the workers run (this process waits); read
    # again at the size the workers walked if the chain moved meanwhile.
    documents = CoverageCheckAhead(db, parent.size_hint())
    try:
        try:
            report = parallel_audit(parent, workers, opener=opener,
                                    verifiers=trust.verifiers(app), held_checkpoints=held,
                                    batch=batch)
        except contents_workers.ContentsFinding:
            report = None
        unsound = False
        if report is not None and report.ok:
            documents.size = report.blocks_checked
            unsound = bool(documents.finish())
    finally:
        documents.close()
    if report is None or parent.walked or not report.ok or unsound:
        return full_audit(db, app, held_checkpoints)
    notes = [note for note in (report.offline_note or "").split("; ")
             if note and not note.startswith(LEFT_TO_WORKERS)]
    report.offline_note = "; ".join(notes) or None
    incremental_audit.record_anchor(db, report)  # as run_audit does after a sound audit
    return report

