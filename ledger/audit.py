"""Full audit: stream the chain once and name every tampered place, by kind and height.

Constant memory: blocks are read window by window, the log root is a CompactRange, and only
the previous block's hashes, the next checkpoint and the problems found are kept.

How the per-block checks interplay, so that one edit gives one precise report, not a cascade:

- `bad-block-hash` at h: the header stored at h no longer hashes to the `hash` stored beside
  it (or `_id` != height, or the header cannot be encoded).
- `broken-link` at h: block h's `prev_hash` is neither the stored nor the recomputed hash of
  block h-1. Accepting either keeps a single edit local: an edited header field (hash left
  alone) is only `bad-block-hash` at h, and block h+1 still links to the stored hash; an
  edited `hash` field is only `bad-block-hash` at h, and h+1 links to the recomputed one.
  A header edited *and* re-hashed shows as `broken-link` at h+1.
- The log tree takes, for a block whose two hashes differ, the one its successor links to, so
  a locally reported edit does not also make every later checkpoint fail. Checkpoints catch
  what is consistent locally: a rewritten (re-hashed) stretch, a forged or removed tail.
- After a gap (`missing-block`) nothing links back, the log root can no longer be computed,
  and checkpoints past the gap are left unchecked (the gap is already a failure).
- An `inconsistent-with-checkpoint` is located by bracketing: the first differing height lies
  between the largest checkpoint that still matches and the size of the one that does not
  (`height`..`height_end`). A signed root alone cannot name the exact block.
"""
import copy
import time
from dataclasses import asdict, dataclass, field

from ledger.attributes import attribute_leaf_hashes, attribute_root, find_mismatches
from ledger.block import ZERO_HASH, block_hash, fast_header_bytes, header_of
from ledger.chain import Ledger, LedgerError
from ledger.encoding import NOT_NFC, CanonicalError, to_nfc
from ledger.merkle import CompactRange, leaf_hash, root_from_joined, verify_consistency
from ledger.notes import Checkpoint, NoteError, TrustFile, VerifierKey, open_note
from ledger.store import DEFAULT_BATCH
from ledger.strict import STRICT_KINDS

__all__ = ["PROBLEM_KINDS", "Problem", "Report", "AttributeSourceError", "audit",
           "check_consistency", "Trust"]

PROBLEM_KINDS = ("broken-link", "bad-block-hash", "bad-attr-root", "attribute-mismatch",
                 "missing-block", "unsealed-document", "missing-document", "bad-signature",
                 "inconsistent-with-checkpoint", "truncated", "unauthenticated-document",
                 "unauthenticated-block") + STRICT_KINDS
MAX_PROBLEMS = 10000
_NO_HASH = b"\x00" * 32


class AttributeSourceError(Exception):
    """Raised by an attribute source to report a problem it found itself.

    E.g. AttributeSourceError("attribute-mismatch", "AES-GCM tag check failed") when the
    encrypted payload was altered, or ("missing-document", ...) when the record is gone.
    """

    def __init__(self, kind: str, detail: str):
        if kind not in PROBLEM_KINDS:
            raise ValueError(f"unknown problem kind {kind!r}")
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass
class Problem:
    """One finding. `height_end` is set when it spans heights (a gap, a bracket)."""

    kind: str
    height: int | None
    detail: str
    record: str | None = None
    version: int | str | None = None
    attribute: str | None = None
    height_end: int | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def line(self) -> str:
        where = "-" if self.height is None else str(self.height)
        if self.height_end is not None and self.height_end != self.height:
            where += f"..{self.height_end}"
        parts = [self.kind, f"height={where}"]
        if self.record is not None:
            parts.append(f"record={self.record}")
        if self.version is not None:
            parts.append(f"version={self.version}")
        if self.attribute is not None:
            parts.append(f"attribute={self.attribute}")
        return " ".join(parts) + f": {self.detail}"


@dataclass
class Report:
    problems: list = field(default_factory=list)
    blocks_checked: int = 0
    size: int = 0
    root: str | None = None
    elapsed: float = 0.0
    offline_note: str | None = None
    checkpoints_checked: int = 0
    problems_not_listed: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems and not self.problems_not_listed

    @property
    def first_failing_height(self) -> int | None:
        heights = [p.height for p in self.problems if p.height is not None]
        return min(heights) if heights else None

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.problems_not_listed += 1

    def to_dict(self) -> dict:
        return {"ok": self.ok, "size": self.size, "root": self.root,
                "blocks_checked": self.blocks_checked,
                "checkpoints_checked": self.checkpoints_checked,
                "first_failing_height": self.first_failing_height,
                "elapsed": round(self.elapsed, 3), "offline_note": self.offline_note,
                "problems": [p.to_dict() for p in self.problems],
                "problems_not_listed": self.problems_not_listed}

    def lines(self) -> list[str]:
        """One line per problem (for cron mail), then a note of what was not checked."""
        out = [p.line() for p in self.problems]
        if self.problems_not_listed:
            out.append(f"... and {self.problems_not_listed} more problems")
        return out

    def verdict(self) -> str:
        """One summary line: SOUND or TAMPERED, with what was covered."""
        if self.ok:
            state = "SOUND"
        else:
            count = len(self.problems) + self.problems_not_listed
            state = f"TAMPERED ({count} problems, first at height {self.first_failing_height})"
        text = (f"{state}: {self.blocks_checked} blocks, size {self.size}, root {self.root}, "
                f"{self.checkpoints_checked} checkpoints, {self.elapsed:.2f} s")
        return text + (f"; {self.offline_note}" if self.offline_note else "")


class Trust:
    """Which verifier keys count for a checkpoint of a given size (TrustFile or plain list)."""

    def __init__(self, verifiers):
        self.trust_file = verifiers if isinstance(verifiers, TrustFile) else None
        if self.trust_file is not None:
            keys = [e.vkey for e in verifiers.entries]
        elif isinstance(verifiers, VerifierKey):
            keys = [verifiers]
        else:
            keys = list(verifiers or ())
        self.all = list(dict.fromkeys(keys))
        self._opened = {}  # note text -> Checkpoint or NoteError (stored and held often repeat)

    def __bool__(self) -> bool:
        return bool(self.all)

    def for_size(self, size: int) -> list:
        return self.trust_file.verifiers_for(size) if self.trust_file else self.all

    def open(self, text: str) -> Checkpoint:
        """The checkpoint if a key valid for its size signed it; NoteError otherwise."""
        cached = self._opened.get(text) if isinstance(text, str) else None
        if cached is None:
            try:
                cached = self._open(text)
            except NoteError as e:
                cached = e
            if isinstance(text, str):
                self._opened[text] = cached
        if isinstance(cached, NoteError):
            raise cached
        return cached

    def _open(self, text: str) -> Checkpoint:
        body, verified = open_note(text, self.all)
        cp = Checkpoint.parse_body(body)
        allowed = self.for_size(cp.size)
        if not any(key in allowed for key in verified):
            names = ", ".join(k.name for k in verified)
            raise NoteError(f"signed by {names}, not trusted for size {cp.size}")
        return cp


def _subject_ref(subject) -> tuple:
    """(record, version) for a problem line: the record id if there is one, else k=v."""
    if not isinstance(subject, dict):
        return None, None
    record = subject.get("record")
    if record is None and subject:
        record = ",".join(f"{k}={v}" for k, v in subject.items() if k != "version")
    return record, subject.get("version")


def _leaf_bytes(raw) -> bytes | None:
    """attr_leaves decoded with one bytes.fromhex (32 bytes per leaf, back to back), or None
    unless it is a list of 64-digit hex strings (exactly what _parse_hash accepts one by one:
    no whitespace, no bytes)."""
    if type(raw) is not list:
        return None
    count = len(raw)
    try:
        text = " ".join(raw)  # TypeError unless every entry is a str
        # A separator exactly every 65 characters, and no other whitespace (the decoded
        # length): every entry is 64 characters long.
        if len(text) != 65 * count - 1 + (not count) or text[64::65] != " " * (count - 1):
            return None
        leaves = bytes.fromhex(text)  # ValueError unless hex digits in pairs
    except (TypeError, ValueError):
        return None
    return leaves if len(leaves) == 32 * count else None


def _parse_leaves(raw) -> list | None:
    """attr_leaves as 32-byte hashes, or None unless it is a list of 64-digit hex strings."""
    leaves = _leaf_bytes(raw)
    if leaves is None:
        return None
    return [leaves[i:i + 32] for i in range(0, len(leaves), 32)]


def _fast_block(doc, height, prev_ok) -> bytes | None:
    """The block hash if every structural check of the block passes, else None.

    The common case, checked with as little Python per block as possible: the same checks
    as _Auditor._block (header hash against `hash`, `_id`, the link, the attribute leaves,
    their count and root); on None, _block checks the block again and names each problem.
    The leaves are folded straight from their decoded buffer (no list of hashes per block).
    """
    text = fast_header_bytes(doc)
    if text is None:
        return None
    digest = leaf_hash(text)
    if (digest.hex() != doc.get("hash") or doc.get("_id") != height
            or doc["prev_hash"] not in prev_ok):
        return None
    leaves, count = _leaf_bytes(doc.get("attr_leaves")), doc["attr_count"]
    if (leaves is None or len(leaves) != 32 * count
            or root_from_joined(leaves, 0, count).hex() != doc["attr_root"]):
        return None
    return digest


def _parse_hash(value) -> bytes | None:
    """A stored hex hash as 32 bytes, or None if it is not one."""
    if isinstance(value, str) and len(value) == 64:
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            return None
        return raw if len(raw) == 32 else None
    return None


class _Checkpoints:
    """Stored and held checkpoints merged in size order, verified lazily."""

    def __init__(self, store, held, trust, report):
        self.trust, self.report = trust, report
        self.results = []  # (size, matched: bool | None, source)
        self.claimed = []  # (size, source) of signed sizes, for truncation
        entries = []
        if trust:
            for doc in store.iter_checkpoints():
                entries.append(self._open(doc.get("note"), f"stored checkpoint {doc.get('_id')}"))
        for i, text in enumerate(held):
            entries.append(self._open(text, f"held checkpoint #{i + 1}"))
        # (size, root, source) verified, not yet compared; smallest size last
        self.pending = sorted((e for e in entries if e), key=lambda e: e[0], reverse=True)

    def _open(self, text, source):
        try:
            cp = self.trust.open(text)
        except (NoteError, TypeError, AttributeError) as e:
            self.report.add(Problem("bad-signature", None, f"{source}: {e}"))
            return None
        self.claimed.append((cp.size, source))
        return (cp.size, cp.root, source)

    def due(self, size: int) -> list:
        out = []
        while self.pending and self.pending[-1][0] <= size:
            out.append(self.pending.pop())
        return out

    def record(self, size, root, candidates, source):
        matched = root in candidates
        self.results.append((size, matched, source))
        self.report.checkpoints_checked += 1


class _Auditor:
    def __init__(self, store, trust, attribute_source, document_check, checkpoints, report,
                 progress, batch, block_check=None):
        self.store, self.trust = store, trust
        self.block_check = block_check
        self.macs_seen = False  # blocks carry a writer's code this audit cannot check
        self.attribute_source, self.document_check = attribute_source, document_check
        self.cps, self.report, self.progress, self.batch = checkpoints, report, progress, batch
        self.cr = CompactRange()
        self.log_ok = True
        self.pending_leaf = None  # (stored, recomputed) of the last block when they differ
        self.prev_ok = (ZERO_HASH,)  # hashes block `expected` may link to; None: unknown
        self.expected = 0

    def run(self):
        """One pass over the chain: the fast path for clean blocks, _block for the rest.

        The loop keeps its state in locals (next height, link targets, next checkpoint size)
        and hands it to the attributes that _block and _gap use only when it leaves the fast
        path, then takes it back.
        """
        self._compare(self.cr.size)
        total = self._estimate_total()
        add = self.report.add
        attribute_source, document_check = self.attribute_source, self.document_check
        block_check, macs_seen = self.block_check, False
        batch, progress = self.batch, self.progress
        cr_append = self.cr.append
        fast_block = _fast_block
        checked, expected = 0, self.expected  # 0, or where an incremental audit resumes
        prev_ok, log_ok = self.prev_ok, self.log_ok
        fast = prev_ok is not None  # no pending leaf and a known link target
        next_cp = self._next_checkpoint_size()
        for doc in self.store.iter_blocks(expected, None, batch):
            height = doc.get("height")
            digest = fast_block(doc, height, prev_ok) if fast and height == expected else None
            if digest is not None:
                # Every structural check passed: only the log tree and the app hooks remain.
                if log_ok:
                    cr_append(digest)
                    if height >= next_cp - 1:
                        self._compare(height + 1)
                        next_cp = self._next_checkpoint_size()
                prev_ok = (doc["hash"],)
                if block_check is None:
                    if not macs_seen and "mac" in doc:
                        macs_seen = self.macs_seen = True
                elif not block_check(doc):
                    add(Problem("unauthenticated-block", height,
                                "the block's authentication code does not match: it was not "
                                "appended by the app", *_subject_ref(doc["subject"])))
                if attribute_source is not None or document_check is not None:
                    self.attr_root_ok = True
                    record, version = _subject_ref(doc["subject"])
                    if attribute_source is not None:
                        self._attributes(doc, height, None, record, version, add)
                    if document_check is not None:
                        self._document(doc)
            elif not isinstance(height, int) or isinstance(height, bool) or height < expected:
                add(Problem("bad-block-hash", height if type(height) is int else None,
                            f"stray document {doc.get('_id')!r} with height {height!r}"))
                continue
            else:
                self.prev_ok, self.expected = prev_ok, expected
                if height > expected:
                    self._gap(expected, height)
                self._block(doc, height, add)
                prev_ok, log_ok = self.prev_ok, self.log_ok
                fast = self.pending_leaf is None and prev_ok is not None
                next_cp = self._next_checkpoint_size()
            expected = height + 1
            checked += 1
            if progress and checked % batch == 0:
                progress(checked, total)
        self.prev_ok, self.expected = prev_ok, expected
        self.report.blocks_checked = checked
        self._finish()
        if progress:
            progress(checked, max(total, checked))

    def _next_checkpoint_size(self) -> float:
        """The smallest checkpoint size not yet compared (infinity: none left)."""
        pending = self.cps.pending
        return pending[-1][0] if pending else float("inf")

    def _estimate_total(self):
        """The size to show in progress reports (the store's best guess; never trusted)."""
        return self.store.size_hint()

    def _gap(self, first, after):
        self.report.add(Problem("missing-block", first,
                                f"blocks {first}..{after - 1} are missing" if after - first > 1
                                else f"block {first} is missing",
                                height_end=after - 1))
        self._flush_pending(None)
        self.log_ok = False
        self.prev_ok = None

    def _block(self, doc, height, add):
        header = header_of(doc)
        stored = _parse_hash(doc.get("hash"))
        record, version = _subject_ref(doc.get("subject"))
        try:
            recomputed = block_hash(header) if len(header) == 9 else None
            why = None if recomputed is not None else "header fields are missing"
        except CanonicalError as e:
            recomputed, why = self._not_nfc(header, e, height, record, version, add)
        except (TypeError, ValueError) as e:
            recomputed, why = None, f"header cannot be encoded: {e}"
        if recomputed is None or stored != recomputed:
            add(Problem("bad-block-hash", height, why or "stored hash does not match the header",
                        record, version))
        elif self.block_check is not None and not self.block_check(doc):
            add(Problem("unauthenticated-block", height, "the block's authentication code does "
                        "not match: it was not appended by the app", record, version))
        if doc.get("_id") != height:
            add(Problem("bad-block-hash", height,
                        f"document _id {doc.get('_id')!r} does not match height {height}",
                        record, version))
        prev = doc.get("prev_hash")
        if self.prev_ok is not None and prev not in self.prev_ok:
            add(Problem("broken-link", height, f"prev_hash does not match block {height - 1}"
                        if height else "block 0 must have an all-zero prev_hash",
                        record, version))
        self._flush_pending(prev)
        self._log_leaf(stored, recomputed)
        # A tuple, compared with ==: a tampered unhashable prev_hash must not crash the audit.
        self.prev_ok = (tuple(dict.fromkeys(h.hex() for h in (stored, recomputed) if h is not None))
                        or (doc.get("hash"),))
        leaves = self._attr_tree(doc, height, record, version, add)
        if self.attribute_source is not None and leaves is not None:
            self._attributes(doc, height, leaves, record, version, add)
        if self.document_check is not None:
            self._document(doc)

    @staticmethod
    def _not_nfc(header, error, height, record, version, add):
        """(hash of the header in NFC, None) after a `not-nfc` problem, so that a string
        respelled in NFD is that one problem (the link and the log tree go on); (None, why)
        when the header is outside the canonical domain for another reason."""
        if error.kind != NOT_NFC:
            return None, f"header cannot be encoded: {error}"
        add(Problem(NOT_NFC, height, f"header.{error}", record, version))
        try:
            return block_hash(to_nfc(header)), None
        except CanonicalError as e:
            return None, f"header cannot be encoded: {e}"

    # Log tree ----------------------------------------------------------------------------
    def _log_leaf(self, stored, recomputed):
        if not self.log_ok:
            return
        if stored is not None and recomputed is not None and stored != recomputed:
            self.pending_leaf = (stored, recomputed)
            return
        self.cr.append(stored or recomputed or _NO_HASH)
        self._compare(self.cr.size)

    def _flush_pending(self, successor_prev):
        """Decide the last block's leaf now that its successor (or the end) is known.

        With no successor, either hash may be the true one: a checkpoint at exactly this size
        passes if it matches the root with either.
        """
        pending, self.pending_leaf = self.pending_leaf, None
        if pending is None or not self.log_ok:
            return
        stored, recomputed = pending
        if successor_prev is None:
            alt = copy.deepcopy(self.cr)
            alt.append(recomputed)
            self.cr.append(stored)
            self._compare(self.cr.size, alt)
            return
        self.cr.append(recomputed if successor_prev == recomputed.hex() else stored)
        self._compare(self.cr.size)

    def _compare(self, size, alt=None):
        """Compare every checkpoint of exactly `size` with the log root at this point."""
        pending = self.cps.pending
        if not pending or pending[-1][0] > size:
            return
        roots = [self.cr.root()] + ([alt.root()] if alt is not None else [])
        for cp_size, cp_root, source in self.cps.due(size):
            if cp_size == size:
                self.cps.record(cp_size, cp_root, roots, source)

    # Attributes ----------------------------------------------------------------------------
    def _attr_tree(self, doc, height, record, version, add):
        raw = doc.get("attr_leaves")
        leaves = [_parse_hash(h) for h in raw] if isinstance(raw, list) else None
        if leaves is None or None in leaves:
            add(Problem("bad-attr-root", height, "attr_leaves is not a list of hex hashes",
                        record, version))
            return None
        count = doc.get("attr_count")
        if count != len(leaves):
            add(Problem("bad-attr-root", height,
                        f"{len(leaves)} attribute leaves but attr_count is {count!r}",
                        record, version))
        self.attr_root_ok = attribute_root(leaves).hex() == doc.get("attr_root")
        if not self.attr_root_ok and self.attribute_source is None:
            add(Problem("bad-attr-root", height, "attr_root does not match the attribute leaves",
                        record, version))
        return leaves

    def _attributes(self, doc, height, leaves, record, version, add):
        """Check the app's (decrypted) attributes and salts against the sealed leaves.

        When attr_root fails but the app's data still folds to it, the stored leaf list is
        what was edited: that is one `bad-attr-root` naming the attribute, not a mismatch.
        `leaves` None: the block passed the fast path, its leaves are decoded only if the
        app has attributes for it (most kinds' blocks in a chain with many plain ones).
        """
        def generic_bad_root():
            add(Problem("bad-attr-root", height, "attr_root does not match the attribute "
                        "leaves", record, version))

        try:
            found = self.attribute_source(doc)
        except AttributeSourceError as e:
            add(Problem(e.kind, height, e.detail, record, version))
            found = None
        if found is None:
            if not self.attr_root_ok:
                generic_bad_root()
            return
        attributes, salts = found
        if leaves is None:
            leaves = _parse_leaves(doc["attr_leaves"])  # valid: the fast path checked them
        try:
            bad = find_mismatches(attributes, salts, leaves)
        except CanonicalError as e:
            add(Problem(e.kind or "attribute-mismatch", height,
                        f"attributes cannot be encoded: {e}", record, version))
            if not self.attr_root_ok:
                generic_bad_root()
            return
        if not self.attr_root_ok:
            try:
                data_root = attribute_root(attribute_leaf_hashes(attributes, salts)).hex()
            except CanonicalError:  # a value outside the domain: it matches no root
                data_root = None
            if data_root is not None and data_root == doc.get("attr_root"):
                for name in [n for n in bad if not n.startswith("#")] or [None]:
                    add(Problem("bad-attr-root", height, "a stored attribute leaf hash was "
                                "altered (the data still matches attr_root)",
                                record, version, name))
                return
            generic_bad_root()
        for name in bad:
            add(Problem("attribute-mismatch", height,
                        "stored value or salt does not match the sealed leaf",
                        record, version, name))

    def _document(self, doc):
        check = self.document_check
        found = check.on_block(doc) if hasattr(check, "on_block") else check(doc)
        for problem in found or ():
            self.report.add(problem)

    # End of chain ----------------------------------------------------------------------------
    def _finish(self):
        size = self.expected
        self._flush_pending(None)
        self.report.size = size
        self.report.root = self.cr.root().hex() if self.log_ok else None
        if self.document_check is not None and hasattr(self.document_check, "finish"):
            for problem in self.document_check.finish() or ():
                self.report.add(problem)
        self._truncation(size)
        self._brackets()

    def _truncation(self, size):
        evidence = [(s, src) for s, src in self.cps.claimed if s > size]
        try:
            hint = self.store.tip_hint()
        except Exception:
            hint = -1
        if hint >= size:
            evidence.append((hint + 1, "tip hint"))
        if evidence:
            claimed, source = max(evidence)
            self.report.add(Problem("truncated", size,
                                    f"the chain ends at size {size} but the {source} "
                                    f"shows size {claimed}", height_end=claimed - 1))

    def _brackets(self):
        results = sorted(self.cps.results)
        good = [s for s, ok, _ in results if ok]
        for size, ok, source in results:
            if ok:
                continue
            lo = max((s for s in good if s < size), default=0)
            self.report.add(Problem(
                "inconsistent-with-checkpoint", lo,
                f"{source} (size {size}) signs a different log root: the chain differs "
                f"from the signed one at some height in {lo}..{size - 1}", height_end=size - 1))


def audit(store, *, verifiers=None, attribute_source=None, document_check=None,
          held_checkpoints=(), progress=None, batch: int = DEFAULT_BATCH,
          block_check=None) -> Report:
    """Stream the whole chain in `store` and report every problem found.

    verifiers: a TrustFile, a VerifierKey or a list of them (None: checkpoints unchecked).
    attribute_source(block_doc) -> (attributes, salts) | None, or raise AttributeSourceError:
        the app's decryption hook; None means "nothing to check for this block".
    document_check: an object with on_block(doc) -> problems and finish() -> problems (or a
        plain callable per block), for unsealed or missing app documents.
    held_checkpoints: signed note texts the auditor kept outside the database.
    block_check(block_doc) -> bool: whether the block carries the writer's authentication
        code (a MAC under a key only the writer holds); None: not checked (say so offline).
    progress(done, total): called every `batch` blocks.
    """
    started = time.perf_counter()
    report = Report()
    trust = Trust(verifiers)
    notes = []
    if attribute_source is None:
        notes.append("attribute contents not checked: no data key")
    if not trust:
        notes.append("checkpoint signatures not checked: no public key")
    checkpoints = _Checkpoints(store, list(held_checkpoints), trust, report)
    auditor = _Auditor(store, trust, attribute_source, document_check, checkpoints, report,
                       progress, batch, block_check)
    auditor.run()
    if block_check is None and auditor.macs_seen:
        notes.append("block authentication codes not checked: no writer's key")
    report.offline_note = "; ".join(notes) or None
    report.problems.sort(key=lambda p: (p.height is None, p.height or 0))
    report.elapsed = time.perf_counter() - started
    return report


def check_consistency(store, held_note: str, verifiers) -> Report:
    """RFC 9162 consistency of the current chain with one held checkpoint.

    Streams the chain once for its size and root, builds the consistency proof from the
    store (a second streamed pass, O(log n) memory) and verifies it against the held signed
    root and the current root, exactly as an external party would.
    """
    started = time.perf_counter()
    report = Report()
    try:
        cp = Trust(verifiers).open(held_note)
    except (NoteError, TypeError, AttributeError) as e:
        report.add(Problem("bad-signature", None, f"held checkpoint: {e}"))
        report.elapsed = time.perf_counter() - started
        return report
    cr = CompactRange()
    for doc in store.iter_blocks():
        if doc.get("height") != cr.size:
            report.add(Problem("missing-block", cr.size, f"block {cr.size} is missing"))
            break
        cr.append(_parse_hash(doc.get("hash")) or _NO_HASH)
    size = report.size = report.blocks_checked = cr.size
    report.root = cr.root().hex()
    if report.problems:
        pass
    elif cp.size > size:
        report.add(Problem("truncated", size, f"the chain has {size} blocks but the held "
                           f"checkpoint shows {cp.size}", height_end=cp.size - 1))
    else:
        try:
            proof = Ledger(store).consistency_proof(cp.size, size)
        except LedgerError as e:  # the chain changed under us
            report.add(Problem("missing-block", None, str(e)))
        else:
            report.checkpoints_checked = 1
            if not verify_consistency(cp.size, size, cp.root, cr.root(), proof):
                report.add(Problem("inconsistent-with-checkpoint", 0,
                                   f"the chain of size {size} does not extend the held "
                                   f"checkpoint of size {cp.size}", height_end=cp.size - 1))
    report.elapsed = time.perf_counter() - started
    return report
