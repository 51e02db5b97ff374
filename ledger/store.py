"""Where blocks and checkpoints live: one small interface, in memory or in MongoDB.

Every MongoDB query is an equality on `_id` or a bounded range on the secondary unique index
on `height` (or `size` for checkpoints). Sorting, `_id` ranges, open-ended ranges and counts
scan the whole collection on the embedded server (and cost far more than they should on a real
one), so none is used: the tip comes from a hint plus equality probes, and streaming walks
height windows [h, h + batch) and orders each small window client-side.
"""
import threading

__all__ = ["HeightTaken", "DEFAULT_BATCH", "MemoryStore", "MongoStore"]

DEFAULT_BATCH = 5000
"""Blocks per indexed range query: a few thousand amortises the round trip."""


class HeightTaken(Exception):
    """Another writer already stored a block at this height: re-read the tip and retry."""

    def __init__(self, height):
        super().__init__(f"height {height} is already taken")
        self.height = height


def _height_key(doc):
    height = doc.get("height")
    if isinstance(height, (int, float)) and not isinstance(height, bool):
        return (0, height)
    return (1, 0)


def _by_height(docs):
    """Order one bounded window client-side (a tampered non-numeric height goes last)."""
    docs = list(docs)
    docs.sort(key=_height_key)
    return docs


def _checkpoint_doc(note_text, size, fields):
    doc = {"size": size, "note": note_text}
    doc.update(fields)
    doc["_id"] = f"{size}:{fields.get('key_id', '')}"
    return doc


class MemoryStore:
    """A dict-backed store with the same behaviour as MongoStore (tests, benchmarks, exports).

    Blocks are indexed by `_id` and by `height` like the unique indexes of the Mongo
    collection; `raw_put` / `raw_delete` let tamper tests edit documents with full write
    access, keeping both indexes in step as the database would.
    """

    def __init__(self):
        self._by_id = {}
        self._by_height = {}
        self._meta = {}
        self._checkpoints = {}
        self._lock = threading.Lock()

    def __getstate__(self):
        """Picklable (the lock stays behind), so a parallel audit can hand a copy to a worker."""
        return {k: v for k, v in self.__dict__.items() if k != "_lock"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def slice(self, start: int, stop: int | None) -> "MemoryStore":
        """A store holding only the blocks with start <= height < stop (a worker's range)."""
        part = MemoryStore()
        for doc in self.iter_blocks(start, stop):
            part._by_id[doc.get("_id")] = doc
            part._by_height[doc.get("height")] = doc
        return part

    def ensure_indexes(self):
        """Nothing to create; present for interface parity."""

    def insert_block(self, doc: dict) -> None:
        with self._lock:
            if doc["_id"] in self._by_id or doc["height"] in self._by_height:
                raise HeightTaken(doc["_id"])
            self._by_id[doc["_id"]] = doc
            self._by_height[doc["height"]] = doc

    def insert_blocks(self, docs) -> None:
        """Bulk load (benchmarks, imports); HeightTaken on the first clash."""
        for doc in docs:
            self.insert_block(doc)

    def get_block(self, height: int) -> dict | None:
        return self._by_id.get(height)

    def iter_blocks(self, start: int = 0, stop: int | None = None, batch: int = DEFAULT_BATCH):
        """Blocks with start <= height < stop in height order (stop=None: to the end)."""
        if stop is None:
            stop = max((h for h in self._by_height if isinstance(h, int)), default=-1) + 1
        by_height = self._by_height
        for height in range(start, stop):
            doc = by_height.get(height)
            if doc is not None:
                yield doc

    def tip_hint(self) -> int:
        return self._meta.get("tip", -1)

    def size_hint(self) -> int:
        """A best guess of the chain size, for progress bars."""
        return max((h for h in self._by_height if isinstance(h, int)), default=-1) + 1

    def set_tip_hint(self, height: int) -> None:
        with self._lock:
            self._meta["tip"] = max(self._meta.get("tip", -1), height)

    def save_checkpoint(self, note_text: str, size: int, **fields) -> bool:
        """Store a signed note; False if one with the same size and key_id is already there."""
        doc = _checkpoint_doc(note_text, size, fields)
        with self._lock:
            if doc["_id"] in self._checkpoints:
                return False
            self._checkpoints[doc["_id"]] = doc
            self._meta["latest_checkpoint"] = max(self._meta.get("latest_checkpoint", -1), size)
        return True

    def iter_checkpoints(self):
        """Stored checkpoint documents in size order."""
        return iter(sorted(self._checkpoints.values(), key=lambda d: (d["size"], d["_id"])))

    def latest_checkpoint(self) -> dict | None:
        size = self._meta.get("latest_checkpoint")
        if size is None:
            return None
        return next((d for d in self.iter_checkpoints() if d["size"] == size), None)

    def latest_checkpoint_size(self) -> int:
        return self._meta.get("latest_checkpoint", -1)

    # Full write access, for tamper tests.
    def raw_put(self, doc: dict) -> None:
        """Write a document as an attacker would (replacing whatever has its _id/height)."""
        old = self._by_id.get(doc.get("_id"))
        if old is not None:
            self._by_height.pop(old.get("height"), None)
        clash = self._by_height.get(doc.get("height"))
        if clash is not None:
            self._by_id.pop(clash.get("_id"), None)
        self._by_id[doc.get("_id")] = doc
        self._by_height[doc.get("height")] = doc

    def raw_delete(self, _id) -> None:
        doc = self._by_id.pop(_id, None)
        if doc is not None:
            self._by_height.pop(doc.get("height"), None)

    def raw_meta(self) -> dict:
        return self._meta

    def raw_checkpoints(self) -> dict:
        return self._checkpoints


def _hint(doc, field) -> int:
    """A hint read back from the database, or -1 (none) unless it is an exact int: whoever
    can write the database can write anything there, and a hint only saves probes."""
    value = doc.get(field) if isinstance(doc, dict) else None
    return value if type(value) is int else -1


class MongoStore:
    """Blocks in `<prefix>_blocks` (`_id` = height), plus `<prefix>_meta` and
    `<prefix>_checkpoints`, through the pymongo API (a real server, SecantusDB or mongomock)."""

    def __init__(self, db, prefix: str = "ledger", read_concern=None):
        """read_concern: a pymongo ReadConcern for every read (a replica set's appender needs
        "majority", docs/scaling.md); None keeps the database's."""
        self.db = db
        self.blocks, self.meta, self.checkpoints = (
            db[f"{prefix}_{name}"] if read_concern is None
            else db[f"{prefix}_{name}"].with_options(read_concern=read_concern)
            for name in ("blocks", "meta", "checkpoints"))

    def ensure_indexes(self) -> None:
        """Idempotent: the unique `height` index that every range query relies on."""
        self.blocks.create_index("height", unique=True, name="height_1")
        self.checkpoints.create_index("size", name="size_1")

    def insert_block(self, doc: dict) -> None:
        from pymongo.errors import DuplicateKeyError
        try:
            self.blocks.insert_one(doc)
        except DuplicateKeyError:
            raise HeightTaken(doc["_id"]) from None

    def insert_blocks(self, docs, chunk: int = 10000) -> None:
        """Bulk load pre-built blocks (benchmarks, imports) with insert_many."""
        docs = list(docs)
        for i in range(0, len(docs), chunk):
            self.blocks.insert_many(docs[i:i + chunk], ordered=True)

    def get_block(self, height: int) -> dict | None:
        return self.blocks.find_one({"_id": height})

    def _range(self, lo: int, hi: int) -> list:
        """One bounded range on the `height` index, ordered client-side."""
        return _by_height(self.blocks.find({"height": {"$gte": lo, "$lt": hi}},
                                           batch_size=max(hi - lo, 1)))

    def _end(self) -> int:
        """One past the highest height worth reading: hint and checkpoints, probed forward."""
        end = max(self.tip_hint(), self.latest_checkpoint_size() - 1)
        while self.blocks.find_one({"_id": end + 1}, {"_id": 1}) is not None:
            end += 1
        return end + 1

    def iter_blocks(self, start: int = 0, stop: int | None = None, batch: int = DEFAULT_BATCH):
        """Blocks with start <= height < stop in height order, one window of `batch` at a time.

        With stop=None the walk goes to the tip (hint, checkpoint sizes, equality probes) and
        then on window by window until a window comes back empty, so blocks stored past a
        stale hint are still read. A worker thread fetches the next window while the caller
        works on the current one, so the server and the client each keep a core busy.
        """
        open_ended = stop is None
        end = self._end() if open_ended else stop
        if start >= end and not open_ended:
            return

        def next_hi(lo):
            return lo + batch if open_ended else min(lo + batch, end)

        lo, hi = start, next_hi(start)
        with _Prefetcher(self._range) as prefetch:
            prefetch.request(lo, hi)
            while True:
                docs = prefetch.result()
                more = hi < end or (open_ended and bool(docs))
                if more:
                    lo, hi = hi, next_hi(hi)
                    prefetch.request(lo, hi)
                yield from docs
                if not more:
                    return

    def tip_hint(self) -> int:
        return _hint(self.meta.find_one({"_id": "tip"}), "height")

    def size_hint(self) -> int:
        """A best guess of the chain size, for progress bars (hint + equality probes)."""
        return self._end()

    def set_tip_hint(self, height: int) -> None:
        self.meta.update_one({"_id": "tip"}, {"$max": {"height": height}}, upsert=True)

    def save_checkpoint(self, note_text: str, size: int, **fields) -> bool:
        """Store a signed note; False if one with the same size and key_id is already there."""
        from pymongo.errors import DuplicateKeyError
        doc = _checkpoint_doc(note_text, size, fields)
        try:
            self.checkpoints.insert_one(doc)
        except DuplicateKeyError:
            return False
        self.meta.update_one({"_id": "checkpoints"}, {"$max": {"latest_size": size}},
                             upsert=True)
        return True

    def latest_checkpoint_size(self) -> int:
        return _hint(self.meta.find_one({"_id": "checkpoints"}), "latest_size")

    def iter_checkpoints(self, window: int = 100000):
        """Stored checkpoints in size order, by bounded ranges on the `size` index."""
        last = self.latest_checkpoint_size()
        lo = 0
        while lo <= last:
            docs = list(self.checkpoints.find({"size": {"$gte": lo, "$lt": lo + window}}))
            docs.sort(key=lambda d: (d["size"], str(d["_id"])))
            yield from docs
            lo += window

    def latest_checkpoint(self) -> dict | None:
        size = self.latest_checkpoint_size()
        if size < 0:
            return None
        docs = list(self.checkpoints.find({"size": size}))
        docs.sort(key=lambda d: str(d["_id"]))
        return docs[-1] if docs else None


class _Prefetcher:
    """Runs one range query ahead in a worker thread (pymongo releases the GIL on I/O)."""

    def __init__(self, fetch):
        self._fetch = fetch
        self._thread = None
        self._result = None
        self._error = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._thread is not None:
            self._thread.join()
        return False

    def request(self, lo, hi):
        def run():
            try:
                self._result = self._fetch(lo, hi)
            except BaseException as e:  # re-raised in the caller's thread
                self._error = e
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self):
        self._thread.join()
        self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return self._result
