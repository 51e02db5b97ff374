"""Appending blocks, log proofs and signed checkpoints over a store.

Appending is optimistic: read the tip, build block tip+1, insert it with `_id` = height. The
unique `_id` lets exactly one concurrent writer win each height; the losers re-read and retry.
An uncontended append is one insert (the tip this process saw last); after a lost race the
tip is found by equality probes from the winner, so the cost of an append is flat however long
the chain is.

Log roots and proofs stream the stored block hashes in height windows and keep O(log n) state:
a CompactRange per requested subtree, never the list of all leaves. A checkpoint resumes from
the compact range saved with the latest checkpoint (its peaks must fold to the signed root), so
it only reads the blocks appended since. The tree arithmetic (proof shapes, compact ranges) is
all in ledger.merkle and this module only reads, so streamed and in-memory proofs agree.
"""
import random
import threading
import time
from datetime import datetime, timezone

from ledger import merkle
from ledger.attributes import attribute_leaf_hashes, attribute_root, new_salt
from ledger.block import ROTATION_KIND, ZERO_HASH, block_hash, header_of, make_block, make_header
from ledger.notes import (Checkpoint, NoteError, SigningKey, VerifierKey, sign_note,
                          verify_checkpoint)
from ledger.store import HeightTaken

__all__ = ["LedgerError", "AppendConflict", "Ledger", "CheckpointPolicy", "ROTATION_KIND"]

HINT_EVERY = 16
"""Write the tip hint every this many heights: a cold start probes at most this far."""


class LedgerError(Exception):
    """The ledger cannot do what was asked (bad arguments or a tip it cannot build on)."""


class AppendConflict(LedgerError):
    """Lost the race for the next height too many times in a row."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Ledger:
    """The chain over one store; safe to use from many processes at once."""

    def __init__(self, store, clock=None, max_retries: int = 200, authenticator=None):
        """`authenticator(block_hash_hex) -> str`, if given, gives each appended block a `mac`
        field (outside the hashed header) that only the key holder can compute: the audit's
        `block_check` then tells the writer's blocks from any an insider inserted."""
        self.store = store
        self.authenticator = authenticator
        self.clock = clock or _utcnow
        self.max_retries = max_retries
        self._last = None  # the last tip this process saw: saves a round trip per append
        self._appending = threading.Lock()
        """Threads of one process take turns: racing each other for the same height would
        only cost the losers a refused insert, a probe and a retry each."""

    # Reading the tip -----------------------------------------------------------------
    def _tip_doc(self):
        """The tip block document (None if empty): cached or hinted, then probed forward."""
        doc = self._last
        if doc is None:
            hint = self.store.tip_hint()
            if hint >= 0:
                doc = self.store.get_block(hint)
                if doc is None:
                    raise LedgerError(f"the tip hint names block {hint}, which is missing; "
                                      "run an audit")
        while True:
            nxt = self.store.get_block((doc["height"] if doc else -1) + 1)
            if nxt is None:
                self._last = doc
                return doc
            doc = nxt

    def forget_tip(self) -> None:
        """Read the tip from the store at the next append: after a reconnect, the database
        may not hold what this process last saw (a server restarted without its journal)."""
        self._last = None

    def tip(self) -> int:
        """Height of the last block, -1 when the chain is empty."""
        doc = self._tip_doc()
        return doc["height"] if doc else -1

    def size(self) -> int:
        return self.tip() + 1

    def get(self, height: int) -> dict | None:
        return self.store.get_block(height)

    # Appending -------------------------------------------------------------------------
    def append(self, kind: str, subject: dict, actor: str, attributes: dict,
               salts: dict) -> dict:
        """Seal one event and return the stored block document.

        `attributes` are the plaintext values and `salts` one new_salt() per name; neither
        is stored in the block, only their leaf hashes. Raises CanonicalError for values
        outside the canonical domain, BlockError for a bad header field, AppendConflict
        after `max_retries` lost races.
        """
        leaves = attribute_leaf_hashes(attributes, salts)
        attr_root = attribute_root(leaves).hex()
        with self._appending:
            return self._append(kind, subject, actor, leaves, attr_root)

    def _append(self, kind, subject, actor, leaves, attr_root):
        timestamp = self.clock()
        for attempt in range(self.max_retries):
            # First try the tip this process saw last as is: if another process appended since,
            # the unique height refuses the insert and the retries probe forward from the
            # winner. That saves a probe round trip on every uncontended append.
            fresh = attempt > 0 or self._last is None
            tip = self._tip_doc() if fresh else self._last
            height = tip["height"] + 1 if tip else 0
            prev = block_hash(header_of(tip)).hex() if tip else ZERO_HASH
            header = make_header(height=height, prev_hash=prev, timestamp=timestamp, kind=kind,
                                 subject=subject, actor=actor, attr_root=attr_root,
                                 attr_count=len(leaves))
            doc = make_block(header, leaves)
            if self.authenticator is not None:
                doc["mac"] = self.authenticator(doc["hash"])
            try:
                self.store.insert_block(doc)
            except HeightTaken:
                self._last = None
                self._last = self.store.get_block(height)  # the winner: probe on from it
                time.sleep(random.uniform(0, 0.0005 * min(attempt + 1, 8)))
                continue
            except BaseException:
                # The insert may or may not have reached the store: never build on a tip
                # that was not read back from it.
                self._last = None
                raise
            self._last = doc
            if height % HINT_EVERY == 0:
                try:
                    self.store.set_tip_hint(height)
                except BaseException:
                    self._last = None
                    raise
            return doc
        raise AppendConflict(f"gave up after {self.max_retries} lost races for the next height")

    # Log tree --------------------------------------------------------------------------
    def _leaf_hashes(self, start: int, stop: int):
        expected = start
        for doc in self.store.iter_blocks(start, stop):
            if doc["height"] != expected:
                raise LedgerError(f"block {expected} is missing; run an audit")
            expected += 1
            yield bytes.fromhex(doc["hash"])
        if expected != stop:
            raise LedgerError(f"block {expected} is missing; run an audit")

    def _check_size(self, size: int) -> None:
        """Sizes past the end fail while streaming (a block is missing), not by a tip read."""
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise LedgerError(f"size {size!r} is not a chain size")

    def log_root(self, size: int | None = None) -> bytes:
        """RFC 6962 root over the first `size` block hashes (default: all), streamed."""
        size = self.size() if size is None else size
        self._check_size(size)
        cr = merkle.CompactRange()
        for leaf in self._leaf_hashes(0, size):
            cr.append(leaf)
        return cr.root()

    def _range_roots(self, ranges: list[tuple[int, int]]) -> dict:
        """Subtree roots of disjoint leaf ranges from one streaming pass (O(log n) memory)."""
        if not ranges:
            return {}
        ordered = sorted(ranges)
        roots, i, cr = {}, 0, merkle.CompactRange()
        lo_all, hi_all = ordered[0][0], ordered[-1][1]
        height = lo_all
        for leaf in self._leaf_hashes(lo_all, hi_all):
            lo, hi = ordered[i]
            if lo <= height < hi:
                cr.append(leaf)
                if height == hi - 1:
                    roots[(lo, hi)] = cr.root()
                    cr, i = merkle.CompactRange(), i + 1
            height += 1
        return roots

    def inclusion_proof(self, height: int, size: int) -> list[bytes]:
        """Inclusion proof of block `height` in the log of `size` blocks (RFC 9162)."""
        self._check_size(size)
        if not isinstance(height, int) or not 0 <= height < size:
            raise LedgerError(f"height {height!r} is not below size {size}")
        ranges = merkle.inclusion_ranges(height, size)
        roots = self._range_roots(ranges)
        return [roots[r] for r in ranges]

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        """Proof that the log of `new_size` blocks extends the one of `old_size` (RFC 9162)."""
        self._check_size(new_size)
        if not isinstance(old_size, int) or not 0 <= old_size <= new_size:
            raise LedgerError(f"old size {old_size!r} is not within 0..{new_size}")
        ranges = merkle.consistency_ranges(old_size, new_size)
        roots = self._range_roots(ranges)
        return [roots[r] for r in ranges]

    # Checkpoints -----------------------------------------------------------------------
    def _resume_range(self, size: int, trusted: list[VerifierKey]) -> merkle.CompactRange:
        """A CompactRange at `size`, resumed from the latest stored checkpoint when its saved
        peaks fold to its signed root (so a tampered state is never built on)."""
        cr = merkle.CompactRange()
        latest = self.store.latest_checkpoint()
        if latest and latest.get("peaks") is not None and latest["size"] <= size:
            try:
                cp, _ = verify_checkpoint(latest["note"], trusted)
                peaks = [bytes.fromhex(p) for p in latest["peaks"]]
                saved = merkle.CompactRange.from_peaks(cp.size, peaks)
                if cp.size == latest["size"] and saved.root() == cp.root:
                    cr = saved
            except (NoteError, ValueError, TypeError):
                cr = merkle.CompactRange()
        for leaf in self._leaf_hashes(cr.size, size):
            cr.append(leaf)
        return cr

    def _sign_and_store(self, size: int, keys: list[SigningKey], origin: str,
                        **extra) -> str:
        """Sign the log at `size` with every key in `keys` and store the note."""
        cr = self._resume_range(size, [k.public() for k in keys])
        cp = Checkpoint(origin, size, cr.root(), int(self.clock().timestamp() * 1000))
        note = sign_note(cp.body(), keys)
        self.store.save_checkpoint(note, size, root=cp.root.hex(),
                                   key_id="+".join(k.key_id.hex() for k in keys),
                                   timestamp_ms=cp.timestamp_ms,
                                   peaks=[p.hex() for p in cr.peaks], **extra)
        return note

    def checkpoint(self, key: SigningKey, origin: str, size: int | None = None) -> str:
        """Sign (origin, size, log root, time) for the chain's first `size` blocks (default:
        all) and store the note.

        Checkpoints live in the checkpoints collection, not in the chain: a block per
        checkpoint would change the size it signs. Only a key rotation appends a block.
        """
        return self._sign_and_store(self.size() if size is None else size, [key], origin)

    def rotate_key(self, old_key: SigningKey, new_key: SigningKey, origin: str,
                   actor: str = "ledger", salts: dict | None = None) -> tuple[dict, str]:
        """Introduce `new_key`: append a `checkpoint` block naming it, then store a checkpoint
        covering that block signed by both keys. Returns (block, note); the verifier's trust
        file should then `add(new_key.public(), from_size=block["height"] + 1)`.

        The block's attributes are public (the verifier key string and its fingerprint), so
        they are saved in clear with the checkpoint for anyone to check against the leaves.
        `salts` ({"vkey", "fingerprint"}: fixed salts) only for reproducible test vectors.
        """
        vkey = new_key.public()
        attributes = {"vkey": str(vkey), "fingerprint": vkey.fingerprint}
        salts = salts or {name: new_salt() for name in attributes}
        block = self.append(ROTATION_KIND, {"key": vkey.key_id.hex()}, actor, attributes, salts)
        note = self._sign_and_store(block["height"] + 1, [old_key, new_key], origin,
                                    rotation={"height": block["height"],
                                              "attributes": attributes, "salts": salts})
        return block, note


class CheckpointPolicy:
    """Checkpoint every N blocks or T seconds; call maybe_checkpoint() after each append.

    Keeps the last checkpoint's size and time in the process and only re-reads the store when
    one seems due, so the common call costs nothing; several processes may race to write the
    same checkpoint, which is harmless (one per size and key is stored).
    """

    def __init__(self, every_blocks: int = 1000, every_seconds: float = 3600.0,
                 clock=time.monotonic):
        self.every_blocks = every_blocks
        self.every_seconds = every_seconds
        self.clock = clock
        self._size = None
        self._time = None

    def due(self, size: int) -> bool:
        if self._time is None:
            self._time = self.clock()
        if self._size is None:
            self._size = 0
        if size <= self._size:
            return False
        return (size - self._size >= self.every_blocks
                or self.clock() - self._time >= self.every_seconds)

    def maybe_checkpoint(self, ledger: Ledger, key: SigningKey, origin: str,
                         size: int | None = None, sign=None) -> str | None:
        """A new signed note if a checkpoint is due at `size` (default: the chain's), else None.

        `sign(key, origin) -> note | None` replaces `ledger.checkpoint` (a writer that checks
        the blocks before it signs them)."""
        size = ledger.size() if size is None else size
        if not self.due(size):
            return None
        stored = ledger.store.latest_checkpoint_size()
        if stored > self._size:
            self._size = stored
            if not self.due(size):
                return None
        note = (sign or ledger.checkpoint)(key, origin)
        if note is not None:
            self._size, self._time = size, self.clock()
        return note

