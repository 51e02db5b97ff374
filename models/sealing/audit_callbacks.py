"""What the ledger library's audit calls back into, for the app's chain.

- `AttributeSource`: for each block, the attributes and salts its event sealed, rebuilt from
  the database as it is now by the kind's rebuild in the registry, given the data key. A
  failed AES-GCM tag is tampering at that block; a creating event whose document is gone is
  `missing-document`. Documents are read a window of heights at a time (one indexed range
  query per kind and window, the registry's prefetch companions) instead of one lookup per
  block.
- `CoverageCheck`: the registry's coverage checks; a document with no sealing height (or one
  past the end of the chain, or one another document already claims) is `unsealed-document`;
  a document that decides who may do what and fails its authority MAC is
  `unauthenticated-document`, naming collection, document and field.
"""
import logging

from ledger.audit import AttributeSourceError, Problem

from models.sealing import registry
from models.storage import authority
from models.storage.crypto import TamperedCiphertext

log = logging.getLogger(__name__)

PREFETCH_WINDOW = 2000
"""Heights per prefetch window: one range query per kind amortised over this many blocks, and
at most this many documents per kind held at once (memory stays flat however long the chain)."""


class AttributeSource:
    """Rebuilds each block's attributes and salts from the database as it is now.

    For a kind with a prefetch companion, the first block at or past the end of its current
    window opens the next one, [height, height + window), read in one range query per kind;
    a window is dropped as soon as the audit has passed it. The rebuild falls back to its own
    lookup for anything the window does not hold (a deleted or edited document), so the
    findings are those of a lookup per block.
    """

    def __init__(self, db, data_key, window=PREFETCH_WINDOW):
        self.db, self.data_key, self.window = db, data_key, window
        self.windows = {}  # prefetch fn -> (lo, hi, {height: document})
        self.first_end = None  # the lowest `hi` of the windows held

    def __call__(self, block):
        kind, height = block.get("kind"), block.get("height")
        if self.first_end is not None and isinstance(height, int) and height >= self.first_end:
            self._drop_passed(height)
        rebuild = registry.ATTRIBUTE_SOURCES.get(kind)
        if rebuild is None:
            return None
        prefetched = self._prefetched(kind, height)
        try:
            if prefetched is None:
                found = rebuild(self.db, block, self.data_key)
            else:
                found = rebuild(self.db, block, self.data_key, prefetched=prefetched)
        except AttributeSourceError:
            raise
        except TamperedCiphertext:
            raise AttributeSourceError(
                "attribute-mismatch", "AES-GCM tag check failed: the encrypted payload or its "
                "binding (record id, version) was altered") from None
        except Exception as exc:  # noqa: BLE001 - tampered data may break any reader
            raise AttributeSourceError(
                "attribute-mismatch", f"the sealed document cannot be read back "
                f"({type(exc).__name__})") from None
        collection = registry.document_kinds().get(kind) if found is None else None
        if collection is not None:
            raise AttributeSourceError(
                "missing-document", f"the {collection} document this {kind} block "
                "seals is missing")
        return found

    def _prefetched(self, kind, height):
        """The window of documents holding `height` for this kind (read now if need be), or
        None (no companion, batching off, or a height behind the window: plain lookups)."""
        prefetch = registry.PREFETCH.get(kind)
        if prefetch is None or self.window < 1 or not isinstance(height, int) \
                or isinstance(height, bool):
            return None
        lo, hi, found = self.windows.get(prefetch, (0, 0, None))
        if found is not None and lo <= height < hi:
            return found
        if height < hi:
            return None
        try:
            found = prefetch(self.db, height, height + self.window)
        except Exception as exc:  # noqa: BLE001 - unreadable data: each block reads its own
            log.warning("audit: reading the %s documents sealed at %d.. in one query failed "
                        "(%s); looking them up one by one", kind, height, type(exc).__name__)
            found = {}
        self.windows[prefetch] = (height, height + self.window, found)
        self.first_end = min(hi for _, hi, _ in self.windows.values())
        return found

    def _drop_passed(self, height):
        """Forget the windows the audit has moved past (memory stays flat)."""
        self.windows = {fn: held for fn, held in self.windows.items() if held[1] > height}
        self.first_end = min((hi for _, hi, _ in self.windows.values()), default=None)


class CoverageCheck:
    """Documents that must be sealed but name no block (or a block past the chain's end)."""

    def __init__(self, db):
        self.db = db
        self.size = 0

    def on_block(self, block):
        height = block.get("height")
        if isinstance(height, int) and height >= self.size:
            self.size = height + 1
        return ()

    def finish(self):
        return self._coverage() + self._authority()

    def _authority(self):
        """Documents that decide who may do what and fail their authority check: changed
        outside the app (a forged grant, a widened scope, a replaced password hash)."""
        problems = []
        for collection, entry in sorted(authority.PROTECTED.items()):
            for doc in self.db[collection].find():
                bad = authority.verify(collection, doc)
                if bad:
                    label = entry.label(doc)
                    problems.append(Problem(
                        "unauthenticated-document", None,
                        f"{collection} {label}: {', '.join(bad)} changed outside the app (its "
                        "authority code does not match)", record=str(label), attribute=bad[0]))
        return problems

    def _coverage(self):
        problems = []
        claimed = bytearray(self.size // 8 + 1)  # one bit per height: flat memory
        shared = set()
        for collection, doc_id, height in self._covered():
            if height is None:
                problems.append(Problem("unsealed-document", None,
                                        f"{collection} {doc_id} has no ledger block",
                                        record=str(doc_id)))
            elif not isinstance(height, int) or not 0 <= height < self.size:
                named = height if isinstance(height, int) and height >= 0 else None
                problems.append(Problem("unsealed-document", named,
                                        f"{collection} {doc_id} names block {height!r}, "
                                        f"which is not on the chain of {self.size} blocks",
                                        record=str(doc_id)))
            elif claimed[height >> 3] & (1 << (height & 7)):
                shared.add(height)
            else:
                claimed[height >> 3] |= 1 << (height & 7)
        return problems + self._shared_blocks(shared)

    def _covered(self):
        for covered in registry.COVERAGE:
            yield from covered(self.db)

    def _shared_blocks(self, heights):
        """A block seals one event: a second document naming it (a copy of a read log entry,
        say, whose attributes match the block as well as the original's) is unsealed."""
        if not heights:
            return []
        claimants = {}
        for collection, doc_id, height in self._covered():  # second pass, only when needed
            if isinstance(height, int) and height in heights:
                claimants.setdefault(height, []).append(f"{collection} {doc_id}")
        return [Problem("unsealed-document", height,
                        f"{len(names)} documents name block {height}, which seals one event: "
                        + "; ".join(names), record=names[-1])
                for height, names in sorted(claimants.items())]
