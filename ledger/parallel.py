"""`audit` on N processes: the chain split into height ranges, each hashed by one worker.

Each worker runs the audit's fast path (ledger.audit._fast_block) over its range and returns
the range's compact range (RFC 9162 perfect subtrees), the compact ranges up to each
checkpoint size inside it, and the hashes at its two ends. The parent joins the compact
ranges in height order into the log root, checks the link at every range boundary and
compares the checkpoints, exactly as the single-process audit does.

Only a sound chain is reported from the parallel pass. The moment any worker, boundary or
checkpoint finds anything, the single-process audit runs instead and its report is returned:
problems are then named, in height order, by the one code that names them, so the verdict and
problem list are identical by construction (a tampered chain costs one more pass).

A store in memory is read by forked workers from the parent's memory (copy-on-write, nothing
pickled). Workers with an `opener()` (a database client of their own) are started with
`spawn` (a forked pymongo client is unsafe); with a reusable `pool`, each gets a pickled copy
of its range.
"""
import functools
import gc
import multiprocessing
import resource
import time

from ledger.audit import Report, Trust, _Auditor, _Checkpoints, _fast_block, audit
from ledger.block import ZERO_HASH
from ledger.merkle import CompactRange, RangeCompact
from ledger.store import DEFAULT_BATCH

__all__ = ["parallel_audit", "split_ranges"]

_FORKED = None
"""The parent's store while a forked pool runs: its workers read it, nothing is pickled."""


def split_ranges(size: int, workers: int) -> list[tuple[int, int | None]]:
    """`workers` contiguous height ranges covering 0..size; the last is open-ended, so blocks
    stored past a stale size hint are still read."""
    workers = max(1, min(workers, size or 1))
    step = -(-max(size, 1) // workers)
    bounds = [min(i * step, size) for i in range(workers)]
    return [(lo, bounds[i + 1] if i + 1 < workers else None) for i, lo in enumerate(bounds)]


def _scan(source, lo, hi, cp_sizes, batch):
    """One worker's range: None if any block leaves the fast path, else what the parent joins.

    `source`: None in a forked worker (the parent's store, `_FORKED`, read copy-on-write), an
    opener that returns a store of the worker's own, or a store.
    """
    started, faults = time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    store = _FORKED if source is None else source() if callable(source) else source
    rc = RangeCompact(lo)
    cps = sorted(s for s in cp_sizes if s > lo and (hi is None or s <= hi))
    at_cp = {}
    expected, prev_ok, first_prev, last_hash, macs = lo, None, None, None, False
    for doc in store.iter_blocks(lo, hi, batch):
        height = doc.get("height")
        if height != expected or isinstance(height, bool):
            return None
        if prev_ok is None:
            first_prev = doc.get("prev_hash")
            if not isinstance(first_prev, str):
                return None
            prev_ok = (ZERO_HASH,) if lo == 0 else (first_prev,)
        digest = _fast_block(doc, height, prev_ok)
        if digest is None:
            return None
        rc.append(digest)
        last_hash = doc["hash"]
        prev_ok = (last_hash,)
        macs = macs or "mac" in doc
        expected = height + 1
        while cps and cps[0] == expected:
            at_cp[cps.pop(0)] = rc.subtrees()
    return {"lo": lo, "end": expected, "first_prev": first_prev, "last_hash": last_hash,
            "subtrees": rc.subtrees(), "at_cp": at_cp, "macs": macs,
            "cpu": time.process_time() - started,
            "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults}


def parallel_audit(store, workers: int, *, opener=None, worker_store=None, verifiers=None,
                   held_checkpoints=(), batch: int = DEFAULT_BATCH, pool=None,
                   cpu: list | None = None, faults: list | None = None) -> Report:
    """The structural audit (links, block hashes, attribute roots, log root, checkpoints) on
    `workers` processes; the same Report as audit(store, verifiers=..., held_checkpoints=...).

    `store` is read by this process (checkpoints, size hint, the fallback); workers call
    `opener()`, or read `worker_store` (default: `store`) forked, or get a pickled copy of
    their range from a reusable multiprocessing `pool`. `cpu`, if a list, receives each
    worker's CPU seconds (benchmarks on a shared machine: CPU time is what load cannot inflate);
    `faults`, each worker's minor page faults while it scanned (first touches, and in a
    forked worker the copy-on-write of the parent's pages whose reference counts it writes).
    """
    started = time.perf_counter()
    held = list(held_checkpoints)
    source = opener or (worker_store if worker_store is not None else store)
    report = _parallel(store, workers, source, verifiers, held, batch, pool, cpu, faults)
    if report is None:
        report = audit(store, verifiers=verifiers, held_checkpoints=held, batch=batch)
    report.elapsed = time.perf_counter() - started
    return report


def _run(scan, source, ranges, pool):
    """Each range's part, in range order, from its own process.

    A store in memory goes to forked workers that read the parent's copy (copy-on-write:
    nothing is pickled, only the compact ranges come back); with a `pool` given, or where
    fork is unavailable, each worker gets a pickled copy of its own range only. An opener
    runs in spawned workers (a forked pymongo client is unsafe; each opens its own).
    """
    global _FORKED
    forkable = "fork" in multiprocessing.get_all_start_methods()
    if pool is None and not callable(source) and forkable:
        _FORKED = source
        gc.freeze()  # a worker's collections would touch, and so copy, every page of the store
        try:
            with multiprocessing.get_context("fork").Pool(len(ranges)) as own:
                return own.starmap(scan, [(None, lo, hi) for lo, hi in ranges])
        finally:
            gc.unfreeze()
            _FORKED = None
    tasks = [(source.slice(lo, hi) if hasattr(source, "slice") else source, lo, hi)
             for lo, hi in ranges]
    if pool is not None:
        return pool.starmap(scan, tasks)
    with multiprocessing.get_context("spawn").Pool(len(ranges)) as own:
        return own.starmap(scan, tasks)


def _parallel(store, workers, source, verifiers, held, batch, pool, cpu, faults):
    report = Report()
    trust = Trust(verifiers)
    checkpoints = _Checkpoints(store, held, trust, report)
    if report.problems:
        return None
    ranges = split_ranges(store.size_hint(), workers)
    cp_sizes = [size for size, _, _ in checkpoints.pending]
    scan = functools.partial(_scan, cp_sizes=cp_sizes, batch=batch)
    parts = _run(scan, source, ranges, pool)
    if cpu is not None:
        cpu.extend(part["cpu"] for part in parts if part is not None)
    if faults is not None:
        faults.extend(part["faults"] for part in parts if part is not None)
    auditor = _Auditor(store, trust, None, None, checkpoints, report, None, batch)
    auditor._compare(0)
    cr, prev = auditor.cr, ZERO_HASH
    for (lo, hi), part in zip(ranges, parts):
        if part is None or part["lo"] != cr.size:
            return None
        if part["end"] > lo:
            if part["first_prev"] != prev:
                return None  # the link across the boundary
            prev = part["last_hash"]
        elif hi is not None and hi > lo:
            return None  # a range came back short: a gap
        for size in sorted(part["at_cp"]):
            at = CompactRange.from_peaks(cr.size, cr.peaks)
            for level, root in part["at_cp"][size]:
                at.append_subtree(level, root)
            auditor.cr = at
            auditor._compare(size)
        auditor.cr = cr
        for level, root in part["subtrees"]:
            cr.append_subtree(level, root)
        auditor.macs_seen = auditor.macs_seen or part["macs"]
    auditor.expected = report.blocks_checked = cr.size
    auditor._finish()
    if report.problems or report.problems_not_listed:
        return None
    notes = ["attribute contents not checked: no data key"]
    if not trust:
        notes.append("checkpoint signatures not checked: no public key")
    if auditor.macs_seen:
        notes.append("block authentication codes not checked: no writer's key")
    report.offline_note = "; ".join(notes)
    return report

