"""Incremental audit: only the blocks after a checkpoint a full audit already vouched for.

The anchor is a signed checkpoint (size S, root R) with the compact range saved beside it
(its peaks, one per set bit of S). The peaks must fold to R under a trusted signature; the
audit then resumes there as if it had just read block S-1: the tail S..N-1 gets every check of
the full audit (hashes, links, attributes with the app's hooks, MACs), the log root at N is
the signed peaks folded with the tail's leaves (which is what an RFC 9162 consistency proof
from S to N is made of), and every later checkpoint is compared with it.

What it cannot see, by design: a block below S edited in place after the anchor was audited
(its stored hash is never read again; only block S-1's stored hash, which block S must link
to). That is the weekly full audit's job.
"""
import time

from ledger.audit import Report, Trust, _Auditor, _Checkpoints
from ledger.merkle import CompactRange
from ledger.notes import NoteError
from ledger.store import DEFAULT_BATCH

__all__ = ["AnchorError", "audit_since"]


class AnchorError(Exception):
    """The anchor checkpoint cannot be trusted (unsigned, forged, no peaks, gone)."""


class _From:
    """The store seen from the anchor on: only checkpoints of size >= S are opened."""

    def __init__(self, store, size):
        self._store, self._size = store, size

    def iter_checkpoints(self):
        return (doc for doc in self._store.iter_checkpoints()
                if isinstance(doc.get("size"), int) and doc["size"] >= self._size)

    def __getattr__(self, name):
        return getattr(self._store, name)


def anchor_range(doc, trust: Trust) -> CompactRange:
    """The compact range of a stored checkpoint, only if its peaks fold to its signed root."""
    if not isinstance(doc, dict):
        raise AnchorError("the audited checkpoint is not stored")
    try:
        cp = trust.open(doc.get("note"))
    except (NoteError, TypeError, AttributeError) as e:
        raise AnchorError(f"the audited checkpoint's signature does not verify: {e}") from None
    try:
        cr = CompactRange.from_peaks(cp.size, [bytes.fromhex(p) for p in doc.get("peaks")])
    except (TypeError, ValueError) as e:
        raise AnchorError(f"the audited checkpoint has no usable compact range: {e}") from None
    if cr.root() != cp.root:
        raise AnchorError("the audited checkpoint's compact range does not fold to its root")
    return cr


def audit_since(store, anchor_doc, *, verifiers, attribute_source=None, held_checkpoints=(),
                block_check=None, batch: int = DEFAULT_BATCH) -> Report:
    """Audit blocks anchor.size.. of `store`; raises AnchorError if the anchor is unusable.

    The report's size and root are the whole chain's; blocks_checked counts the tail only.
    """
    started = time.perf_counter()
    trust = Trust(verifiers)
    if not trust:
        raise AnchorError("an incremental audit needs the public key to trust its anchor")
    cr = anchor_range(anchor_doc, trust)
    report = Report()
    prev = store.get_block(cr.size - 1) if cr.size else None
    view = _From(store, cr.size)
    checkpoints = _Checkpoints(view, list(held_checkpoints), trust, report)
    auditor = _Auditor(view, trust, attribute_source, None, checkpoints, report, None, batch,
                       block_check)
    start = auditor.expected = cr.size
    auditor.cr = cr
    if cr.size:
        auditor.prev_ok = (prev.get("hash"),) if isinstance(prev, dict) else None
    auditor.run()
    notes = [f"incremental: blocks {start}.. only, from the audited checkpoint of size "
             f"{start}; blocks below it and unsealed documents are left to the full audit"]
    if attribute_source is None:
        notes.append("attribute contents not checked: no data key")
    if block_check is None and auditor.macs_seen:
        notes.append("block authentication codes not checked: no writer's key")
    report.offline_note = "; ".join(notes)
    report.problems.sort(key=lambda p: (p.height is None, p.height or 0))
    report.elapsed = time.perf_counter() - started
    return report
