"""`parallel_audit` on N processes gives the single-process audit's report, sound or tampered.

The attacks are the tamper suite's (tests/ledger/test_tamper.py): each chain is audited once
by `audit` and once by `parallel_audit` with 3 workers (ranges that cut through checkpoints
and attacked heights), and the verdict, size, root and problem list must be the same.
"""
import multiprocessing
import random

import pytest

from ledger.audit import audit
from ledger.merkle import CompactRange, RangeCompact, leaf_hash
from ledger.parallel import parallel_audit, split_ranges
from ledger.store import MemoryStore

from test_tamper import ATTACKS, KEY, App, MemoryAttacker

UNSEEN_WITHOUT_DATA = {"none", "edit_value", "replace_salt"}
"""Attacks on the app's data only: a structural audit (no attribute source) cannot see them."""


@pytest.fixture(scope="module")
def pool():
    with multiprocessing.get_context("spawn").Pool(3) as workers:
        yield workers


def _same(serial, parallel):
    assert parallel.ok == serial.ok
    assert (parallel.size, parallel.root, parallel.blocks_checked) == \
        (serial.size, serial.root, serial.blocks_checked)
    assert parallel.checkpoints_checked == serial.checkpoints_checked
    assert [p.to_dict() for p in parallel.problems] == [p.to_dict() for p in serial.problems]
    assert parallel.offline_note == serial.offline_note


def test_ranges_joined_give_the_log_root_at_every_cut():
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(45)]
    for n in range(46):
        whole = CompactRange()
        for leaf in leaves[:n]:
            whole.append(leaf)
        for workers in (1, 2, 3, 4, 8):
            joined = CompactRange()
            for lo, hi in split_ranges(n, workers):
                part = RangeCompact(lo)
                for leaf in leaves[lo:n if hi is None else hi]:
                    part.append(leaf)
                for level, root in part.subtrees():
                    joined.append_subtree(level, root)
            assert (joined.size, joined.root()) == (n, whole.root())


def test_sound_chain_same_report_and_root(pool, monkeypatch):
    store = MemoryStore()
    app = App(store, random.Random(16), 57, 6)
    serial = audit(store, verifiers=[KEY.public()], held_checkpoints=app.held)

    def no_fallback(*args, **kwargs):
        raise AssertionError("a sound chain must be reported by the workers, not the fallback")
    monkeypatch.setattr("ledger.parallel.audit", no_fallback)
    parallel = parallel_audit(store, 3, verifiers=[KEY.public()], held_checkpoints=app.held,
                              pool=pool, batch=8)
    assert serial.ok and serial.checkpoints_checked > 5
    _same(serial, parallel)


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_every_tamper_attack_same_verdict_and_problems(pool, name):
    for seed in range(4):
        rng = random.Random(f"{name}-{seed}")
        store = MemoryStore()
        n = rng.randint(30, 60)
        app = App(store, rng, n, rng.randint(7, 13))
        ATTACKS[name](app, MemoryAttacker(store), n, rng)
        serial = audit(store, verifiers=[KEY.public()], held_checkpoints=app.held)
        parallel = parallel_audit(store, 3, verifiers=[KEY.public()],
                                  held_checkpoints=app.held, pool=pool, batch=8)
        assert serial.ok == (name in UNSEEN_WITHOUT_DATA)
        _same(serial, parallel)


def test_without_keys_the_same_offline_note(pool):
    store = MemoryStore()
    App(store, random.Random(3), 20, 5)
    _same(audit(store), parallel_audit(store, 2, pool=pool))


def test_forked_workers_read_the_parents_store_and_pickle_no_block(monkeypatch):
    """Without a pool, workers are forked and read the parent's store: nothing is pickled to
    them, only compact ranges come back; the report is still the single process's."""
    store = MemoryStore()
    app = App(store, random.Random(5), 45, 6)
    serial = audit(store, verifiers=[KEY.public()], held_checkpoints=app.held)

    def no_pickle(self):
        raise AssertionError("a block store was pickled for a worker")

    def no_fallback(*args, **kwargs):
        raise AssertionError("a sound chain must be reported by the workers, not the fallback")
    monkeypatch.setattr(MemoryStore, "__getstate__", no_pickle)
    monkeypatch.setattr("ledger.parallel.audit", no_fallback)
    cpu, faults = [], []
    parallel = parallel_audit(store, 3, verifiers=[KEY.public()], held_checkpoints=app.held,
                              batch=8, cpu=cpu, faults=faults)
    _same(serial, parallel)
    assert serial.ok and len(cpu) == 3 and all(seconds >= 0 for seconds in cpu)
    # Each worker reports its own page faults (a forked worker at least writes reference
    # counts into the parent's pages, each a copy-on-write fault).
    assert len(faults) == 3 and all(type(count) is int and count > 0 for count in faults)


def test_forked_workers_on_a_tampered_chain_give_the_same_problems(monkeypatch):
    rng = random.Random("forked")
    store = MemoryStore()
    app = App(store, rng, 50, 9)
    name = sorted(set(ATTACKS) - UNSEEN_WITHOUT_DATA)[0]
    ATTACKS[name](app, MemoryAttacker(store), 50, rng)
    serial = audit(store, verifiers=[KEY.public()], held_checkpoints=app.held)
    parallel = parallel_audit(store, 2, verifiers=[KEY.public()], held_checkpoints=app.held,
                              batch=8)
    assert not serial.ok
    _same(serial, parallel)
