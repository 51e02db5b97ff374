"""Browsing the chain for auditors: keyset pages of blocks, filters, and one block in full.

Every query is an equality or a bounded range on an indexed field: the unique `height` index
(pages are height windows), `(kind, height)` for the kind filter, and one sparse index per
subject key for the subject filter. A date is turned into a height by bisecting on `_id`
equality probes (timestamps follow heights), so no query sorts or scans the chain.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from ledger.block import block_hash, header_of
from ledger.chain import Ledger, LedgerError
from ledger.merkle import verify_inclusion_hash
from ledger.notes import Checkpoint, NoteError, open_note

from models.sealing import proofs, registry
from models.sealing.seam import store_for

PER_PAGE = 50
MAX_KIND_WINDOWS = 40
"""A kind filter widens its height window up to this many times per page, then stops early."""
SUBJECT_KEYS = ("record", "request", "grant", "emergency", "account", "key")
"""Subject keys the explorer can filter on; each has a sparse index on the blocks."""

INDEXES = {
    "ledger_blocks": [([("kind", 1), ("height", 1)], {"name": "kind_height"})] + [
        ([(f"subject.{key}", 1), ("height", 1)], {"name": f"subject_{key}_height", "sparse": True})
        for key in SUBJECT_KEYS],
}


def kinds():
    """The kinds an auditor can filter on: every kind the registry declares."""
    return registry.kinds()


@dataclass
class Filters:
    kind: str | None = None
    subject: str | None = None
    height: int | None = None
    day: date | None = None

    def active(self):
        return any(value not in (None, "") for value in (self.kind, self.subject, self.height,
                                                         self.day))


@dataclass
class Page:
    blocks: list
    size: int
    next_before: int | None = None
    filters: Filters = field(default_factory=Filters)
    note: str | None = None


def _blocks(db):
    return store_for(db).blocks


def chain_size(db):
    """Blocks on the chain (one past the highest height reachable from the tip hint).

    The hint may name a block an insider deleted with the tail; then the end is found by
    probing down from the hint (doubling, then bisecting on `_id` equality), so pages keep
    working and the audit reports the truncation.
    """
    store = store_for(db)
    try:
        return Ledger(store).size()
    except LedgerError:
        pass
    hint, step = store.tip_hint(), 1
    below = hint - 1
    while below >= 0 and store.get_block(below) is None:
        below, step = hint - 2 * step, step * 2
    low, high = max(below, -1), hint  # block `low` exists (or -1), block `high` does not
    if below < 0:
        low = -1 if store.get_block(0) is None else 0
    while high - low > 1:
        mid = (low + high) // 2
        if store.get_block(mid) is None:
            high = mid
        else:
            low = mid
    return low + 1


def _window(db, lo, hi, extra=None):
    query = {"height": {"$gte": lo, "$lt": hi}}
    query.update(extra or {})
    return list(_blocks(db).find(query, {"attr_leaves": 0}))


def _newest_first(docs):
    return sorted(docs, key=lambda doc: doc.get("height", -1), reverse=True)


def first_height_on_or_after(db, moment, size):
    """The lowest height whose timestamp is at or after `moment` (size if none), by bisection.

    Timestamps are advisory but appended in height order, so a few `_id` probes are enough.
    """
    target = moment.strftime("%Y-%m-%dT%H:%M:%S")
    blocks, lo, hi = _blocks(db), 0, size
    while lo < hi:
        mid = (lo + hi) // 2
        doc = blocks.find_one({"_id": mid}, {"timestamp": 1})
        stamp = doc.get("timestamp") if doc else None
        if isinstance(stamp, str) and stamp[:19] < target:
            lo = mid + 1
        else:
            hi = mid
    return lo


def day_range(db, day, size):
    """[first, end) heights of the blocks stamped on `day` (UTC)."""
    start = datetime.combine(day, time.min, timezone.utc)
    first = first_height_on_or_after(db, start, size)
    end = first_height_on_or_after(db, start + timedelta(days=1), size)
    return first, end


def subject_matches(subject_id):
    """Candidate subject queries for an id typed by an auditor (any subject key may hold it)."""
    text = (subject_id or "").strip()
    spellings = list(dict.fromkeys([text, text.upper()])) if text else []
    return [{f"subject.{key}": spelling} for key in SUBJECT_KEYS for spelling in spellings]


def page(db, filters=None, before=None, per_page=PER_PAGE):
    """Blocks newest first, at most `per_page`, all with height < `before` (keyset)."""
    filters = filters or Filters()
    size = chain_size(db)
    hi, lo_bound = size, 0
    if filters.height is not None:
        hi = min(hi, filters.height + 1)
    if filters.day is not None:
        first, end = day_range(db, filters.day, size)
        hi, lo_bound = min(hi, end), max(lo_bound, first)
    if before is not None:
        hi = min(hi, before)
    if hi <= lo_bound:
        return Page([], size, None, filters)
    if filters.subject:
        docs = _by_subject(db, filters, lo_bound, hi)
    elif filters.kind:
        return _by_kind(db, filters, lo_bound, hi, per_page, size)
    else:
        lo = max(lo_bound, hi - per_page)
        docs = _newest_first(_window(db, lo, hi))
        return Page(docs, size, lo if lo > lo_bound else None, filters)
    docs = _newest_first(docs)
    more = len(docs) > per_page
    docs = docs[:per_page]
    return Page(docs, size, docs[-1]["height"] if more else None, filters)


def _by_subject(db, filters, lo, hi):
    found = {}
    for query in subject_matches(filters.subject):
        query["height"] = {"$gte": lo, "$lt": hi}
        if filters.kind:
            query["kind"] = filters.kind
        for doc in _blocks(db).find(query, {"attr_leaves": 0}):
            found[doc["_id"]] = doc
    return list(found.values())


def _by_kind(db, filters, lo_bound, hi, per_page, size):
    """Widening height windows on the (kind, height) index until the page is full."""
    found, width, windows = [], per_page * 4, 0
    while hi > lo_bound and len(found) < per_page and windows < MAX_KIND_WINDOWS:
        lo = max(lo_bound, hi - width)
        found.extend(_window(db, lo, hi, {"kind": filters.kind}))
        hi, width, windows = lo, width * 2, windows + 1
    found = _newest_first(found)
    if len(found) > per_page:
        return Page(found[:per_page], size, found[per_page - 1]["height"], filters)
    note = None
    if hi > lo_bound:
        note = f"Searched down to height {hi}; older blocks of this kind are on the next page."
    return Page(found, size, hi if hi > lo_bound else None, filters, note)


@dataclass
class BlockView:
    doc: dict
    hash_ok: bool
    checkpoint: dict | None = None
    proof: list = field(default_factory=list)
    proof_ok: bool | None = None
    proof_note: str | None = None


def _shown(doc, height):
    """The block as its page shows it. A field an insider gave a shape the ledger never
    writes is shown as its text (the audit names the problem; the page must still render),
    and the page's own height is the one it was asked for."""
    shown = dict(doc, height=height, stored_height=doc.get("height"))
    if not isinstance(doc.get("subject"), dict):
        shown["subject"] = {"(not a mapping)": repr(doc.get("subject"))}
    if not isinstance(doc.get("attr_leaves"), list):
        shown["attr_leaves"] = [repr(doc.get("attr_leaves"))]
    return shown


def block_view(db, height, verifiers):
    """One block with its recomputed hash and its inclusion proof against the latest checkpoint."""
    store = store_for(db)
    doc = store.get_block(height)
    if doc is None:
        return None
    try:
        hash_ok = block_hash(header_of(doc)).hex() == doc.get("hash")
    except (ValueError, TypeError):
        hash_ok = False
    view = BlockView(doc=_shown(doc, height), hash_ok=hash_ok)
    latest = store.latest_checkpoint()
    if latest is None:
        view.proof_note = "No checkpoint yet: create one to prove this block's inclusion."
        return view
    view.checkpoint = latest
    if height >= latest["size"]:
        view.proof_note = (f"This block is newer than the latest checkpoint (size "
                           f"{latest['size']}); it will be provable from the next one.")
        return view
    try:
        body, _ = open_note(latest.get("note"), verifiers)  # (a removed note is malformed)
        signed = Checkpoint.parse_body(body)
    except NoteError as exc:
        view.proof_ok = False
        view.proof_note = f"The latest checkpoint does not verify: {exc}."
        return view
    if height >= signed.size:
        view.proof_ok = False
        view.proof_note = (f"The latest checkpoint signs {signed.size} blocks, not the "
                           f"{latest['size']} stored beside it: it cannot prove this block.")
        return view
    try:
        proof = proofs.inclusion_proof(db, height, signed.size)
    except proofs.MissingBlock as exc:
        view.proof_ok = False
        view.proof_note = f"No inclusion proof: {exc}."
        return view
    view.proof = [step.hex() for step in proof]
    try:
        leaf = bytes.fromhex(doc.get("hash", ""))
    except (ValueError, TypeError):
        leaf = b""
    view.proof_ok = verify_inclusion_hash(leaf, height, signed.size, proof, signed.root)
    return view
