"""What the ledger library's audit calls back into, for the app's chain.

- `AttributeSource`: for each block, the attributes and salts its event sealed, rebuilt from
  the database as it is now by the kind's rebuild in the registry, given the data key. A
  failed AES-GCM tag is tampering at that block; a creating event whose document is gone is
  `missing-document`. Documents are read a window of heights at a time (one indexed range
  query per kind and window, the registry's prefetch companions) instead of one lookup per
  block.
- `CoverageCheck`: the registry's coverage checks (`CoverageCheckAhead`: read while the audit
  walks the chain); a document with no sealing height (or one past the end of the chain, or
  one another document already claims) is `unsealed-document`;
  a document that decides who may do what and fails its authority MAC is
  `unauthenticated-document`, naming collection, document and field.
"""
import logging
from concurrent.futures import ThreadPoolExecutor

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

    With `read_ahead`, while the audit checks a window a worker thread reads the one after
    it ([hi, hi + window)): the database server and this process then each keep a core
    busy. The audit takes it if its next block of the kind lies in it (windows then tile the
    heights), and reads [height, height + window) itself otherwise; that costs one query per
    kind past the end of the chain. `close()` stops the worker.
    """

    def __init__(self, db, data_key, window=PREFETCH_WINDOW, read_ahead=False):
        self.db, self.data_key, self.window = db, data_key, window
        self.read_ahead = read_ahead
        self.windows = {}  # prefetch fn -> (lo, hi, {height: document})
        self.first_end = None  # the lowest `hi` of the windows held
        self.ahead = {}  # prefetch fn -> (lo, hi, future of its {height: document})
        self.reader = None  # the worker thread's executor, started with the first window

    def close(self):
        """Stop the read-ahead worker (a window it is reading is dropped)."""
        if self.reader is not None:
            self.reader.shutdown(wait=False, cancel_futures=True)
            self.reader, self.ahead = None, {}

    def __call__(self, block):
        kind, height = block.get("kind"), block.get("height")
        if self.first_end is not None and isinstance(height, int) and height >= self.first_end:
            self._drop_passed(height)
        # An edited kind may be unhashable: the block fails its hash, it has no attributes.
        rebuild = registry.ATTRIBUTE_SOURCES.get(kind) if type(kind) is str else None
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
        lo, hi, pending = self.ahead.pop(prefetch, (0, 0, None))
        if pending is None or not lo <= height < hi:
            lo, hi, pending = height, height + self.window, None
        try:
            found = pending.result() if pending is not None else prefetch(self.db, lo, hi)
        except Exception as exc:  # noqa: BLE001 - unreadable data: each block reads its own
            log.warning("audit: reading the %s documents sealed at %d.. in one query failed "
                        "(%s); looking them up one by one", kind, lo, type(exc).__name__)
            found = {}
        self.windows[prefetch] = (lo, hi, found)
        self.first_end = min(end for _, end, _ in self.windows.values())
        if self.read_ahead:
            self._read_ahead(prefetch, hi)
        return found

    def _read_ahead(self, prefetch, lo):
        if self.reader is None:
            self.reader = ThreadPoolExecutor(1, thread_name_prefix="audit-read-ahead")
        hi = lo + self.window
        self.ahead[prefetch] = (lo, hi, self.reader.submit(prefetch, self.db, lo, hi))

    def _drop_passed(self, height):
        """Forget the windows the audit has moved past (memory stays flat)."""
        self.windows = {fn: held for fn, held in self.windows.items() if held[1] > height}
        self.first_end = min((hi for _, hi, _ in self.windows.values()), default=None)


class CoverageCheck:
    """Documents that must be sealed but name no block (or a block past the chain's end), and
    documents that decide who may do what but fail their authority code.

    A protected collection whose coverage is a `registry.DocumentCoverage` (records) is read
    once for both checks: on the embedded server each pass over it costs about as much as
    reading it, whatever the projection.
    """

    def __init__(self, db):
        self.db = db
        self.size = 0
        self.verified = {}  # collection -> its authority problems, from a shared read

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
        for collection in sorted(authority.PROTECTED):
            if collection in self.verified:
                problems += self.verified[collection]
                continue
            for doc in self.db[collection].find():
                problems += _unauthentic(collection, doc)
        return problems

    def _coverage(self):
        problems = []
        claimed = bytearray(self.size // 8 + 1)  # one bit per height: flat memory
        shared = set()
        for collection, doc_id, height in self._covered():
            if collection is _UNREADABLE:
                problems.append(Problem(
                    "unsealed-document", None,
                    f"{doc_id}: a document has a shape the app never writes "
                    f"({type(height).__name__}); the documents after it in that check are "
                    "not checked", record=doc_id))
            elif height is None:
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
            try:
                if isinstance(covered, registry.DocumentCoverage) \
                        and covered.collection in authority.PROTECTED \
                        and covered.collection not in self.verified:
                    yield from self._read_once(covered)
                else:
                    yield from covered(self.db)
            except Exception as exc:  # noqa: BLE001 - tampered data may break any reader
                yield _UNREADABLE, registry.coverage_name(covered), exc

    def _read_once(self, covered):
        """The coverage of a protected collection, its authority checked in the same read
        (a second pass, for shared blocks, reads only what the coverage names)."""
        collection, found = covered.collection, []
        for doc in self.db[collection].find():
            found += _unauthentic(collection, doc)
            yield from covered.of(doc)
        self.verified[collection] = found

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


class CoverageCheckAhead(CoverageCheck):
    """The same check, read by a worker thread while the audit walks the chain, against the
    size the chain is expected to have: the database server reads the documents while this
    process checks blocks. The findings are used only if the walk ends at that size;
    otherwise (a chain that grew or was cut meanwhile) `finish` checks again at the size
    walked, so the findings are always those of the check at the end. `close()` stops the
    thread."""

    def __init__(self, db, expected_size):
        super().__init__(db)
        ahead = CoverageCheck(db)
        ahead.size = self.expected = expected_size
        self.reader = ThreadPoolExecutor(1, thread_name_prefix="audit-documents")
        self.pending = self.reader.submit(ahead.finish)

    def finish(self):
        found = self.pending.result()
        return found if self.size == self.expected else super().finish()

    def close(self):
        self.reader.shutdown(wait=False, cancel_futures=True)


_UNREADABLE = object()
"""Marks a coverage check that stopped on a document it cannot read (the third item: why)."""


def _unauthentic(collection, doc):
    """[Problem] if the document fails its authority code, naming it and the fields."""
    bad = authority.verify(collection, doc)
    if not bad:
        return []
    label = authority.PROTECTED[collection].label(doc)
    return [Problem("unauthenticated-document", None,
                    f"{collection} {label}: {', '.join(bad)} changed outside the app (its "
                    "authority code does not match)", record=str(label), attribute=bad[0])]
