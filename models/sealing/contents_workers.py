"""The contents checks of the full audit inside the parallel audit's workers.

`flask ledger verify --workers N` splits the chain into height ranges (ledger.parallel); each
worker opens its store with a picklable opener. The opener here hands the worker a store
whose blocks stream through the checks the full audit adds to the structure on their way to
the structural scan, so each block is read once: the block's authentication code, and its
attributes rebuilt from the database (decrypted, with the window read ahead) against the
sealed leaves. A worker that meets anything raises `ContentsFinding`; the caller then runs
the single-process audit, which names every problem, so the verdict and problem list are the
full audit's by construction.
"""
import pymongo
from ledger.attributes import find_mismatches
from ledger.audit import AttributeSourceError
from ledger.encoding import CanonicalError
from ledger.store import DEFAULT_BATCH

from models.sealing.audit_callbacks import AttributeSource
from models.sealing.seam import store_for
from models.storage import keys
from models.storage.authority import Keyring


class ContentsFinding(Exception):
    """A worker met a block whose contents or code do not check out (the full audit names
    what it is)."""


class CheckingStore:
    """A worker's store: the blocks of its range pass the contents checks as they stream."""

    def __init__(self, store, db, data_key, ring, window):
        self.store, self.db, self.data_key, self.ring = store, db, data_key, ring
        self.window = window

    def iter_blocks(self, start=0, stop=None, batch=DEFAULT_BATCH):
        source = AttributeSource(self.db, self.data_key, self.window, read_ahead=True)
        try:
            for doc in self.store.iter_blocks(start, stop, batch):
                if not contents_sound(doc, source, self.ring):
                    raise ContentsFinding(f"block {doc.get('height')!r}")
                yield doc
        finally:
            source.close()

    def __getattr__(self, name):
        return getattr(self.store, name)


def contents_sound(doc, source, ring):
    """Whether the full audit would add nothing about this (structurally sound) block."""
    if not ring.block_authentic(doc):
        return False
    try:
        found = source(doc)
    except AttributeSourceError:
        return False
    if found is None:
        return True
    try:
        leaves = [bytes.fromhex(leaf) for leaf in doc["attr_leaves"]]
        return not find_mismatches(*found, leaves)
    except (CanonicalError, TypeError, ValueError, KeyError):
        return False


def open_checking_store(uri, database, data_key_file, authority_key_file, window, register):
    """A worker's store (module level: a spawned process unpickles the opener). `register`
    fills the registry of event kinds as the app does at start-up."""
    register()
    db = pymongo.MongoClient(uri, tz_aware=True)[database]
    return CheckingStore(store_for(db), db, keys.read_data_key(data_key_file),
                         Keyring.load(authority_key_file), window)
