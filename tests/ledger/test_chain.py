"""Appending, log roots and proofs, checkpoints, key rotation and the checkpoint policy."""
import random
import threading

import pytest

from ledger.attributes import attribute_leaf_hashes, attribute_root, new_salt
from ledger.audit import audit
from ledger.block import ZERO_HASH, block_hash, header_of
from ledger.chain import AppendConflict, CheckpointPolicy, Ledger, LedgerError
from ledger.encoding import CanonicalError
from ledger.merkle import (consistency_proof_from_hashes, inclusion_proof_from_hashes,
                           root_from_hashes, verify_consistency, verify_inclusion_hash)
from ledger.notes import TrustFile, verify_checkpoint
from ledger.store import HeightTaken, MemoryStore

ORIGIN = "medledger.test/log"


def hashes(store, n):
    return [bytes.fromhex(store.get_block(h)["hash"]) for h in range(n)]


def test_append_links_blocks_and_seals_attributes(step_clock):
    store = MemoryStore()
    ledger = Ledger(store, clock=step_clock)
    assert ledger.tip() == -1 and ledger.size() == 0
    attrs = {"weight_kg": "72.5", "blood_group": "AB-"}
    salts = {name: new_salt() for name in attrs}
    first = ledger.append("record.created", {"record": "PAT-1-R1", "version": 1}, "act-1",
                          attrs, salts)
    second = ledger.append("record.read", {"record": "PAT-1-R1", "version": 1}, "act-2", {}, {})
    assert (first["height"], first["_id"], first["prev_hash"]) == (0, 0, ZERO_HASH)
    assert second["prev_hash"] == first["hash"] == block_hash(header_of(first)).hex()
    leaves = attribute_leaf_hashes(attrs, salts)
    assert first["attr_leaves"] == [x.hex() for x in leaves]
    assert first["attr_root"] == attribute_root(leaves).hex() and first["attr_count"] == 2
    assert second["attr_count"] == 0
    assert first["timestamp"] == "2026-01-01T00:00:00.001Z"
    assert ledger.tip() == 1 and ledger.get(1) == second


def test_a_fresh_process_finds_the_tip_from_the_hint(memory_chain):
    store = memory_chain.store
    assert Ledger(store).tip() == 39
    doc = Ledger(store).append("record.read", {"record": "R"}, "a", {}, {})
    assert doc["height"] == 40 and doc["prev_hash"] == store.get_block(39)["hash"]


def test_values_outside_the_canonical_domain_store_nothing():
    store = MemoryStore()
    ledger = Ledger(store)
    with pytest.raises(CanonicalError, match="weight"):
        ledger.append("record.created", {"record": "R"}, "a", {"weight": 72.5},
                      {"weight": new_salt()})
    with pytest.raises(CanonicalError, match="salt"):
        ledger.append("record.created", {"record": "R"}, "a", {"weight": "72.5"}, {})
    assert ledger.size() == 0


def test_missing_tip_block_is_an_error_not_a_fork(memory_chain):
    memory_chain.store.raw_meta()["tip"] = 45
    with pytest.raises(LedgerError, match="missing"):
        Ledger(memory_chain.store).append("record.read", {"record": "R"}, "a", {}, {})


class AlwaysTaken(MemoryStore):
    def insert_block(self, doc):
        raise HeightTaken(doc["_id"])


def test_endless_conflicts_give_up_with_a_clear_error():
    with pytest.raises(AppendConflict, match="lost races"):
        Ledger(AlwaysTaken(), max_retries=5).append("record.read", {"record": "R"}, "a", {}, {})


class CountingStore(MemoryStore):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def get_block(self, height):
        self.calls += 1
        return super().get_block(height)

    def insert_block(self, doc):
        self.calls += 1
        return super().insert_block(doc)

    def set_tip_hint(self, height):
        self.calls += 1
        return super().set_tip_hint(height)

    def tip_hint(self):
        self.calls += 1
        return super().tip_hint()

    def iter_blocks(self, *args, **kwargs):
        raise AssertionError("append must not scan the chain")


def test_append_does_constant_work_per_block():
    store = CountingStore()
    ledger = Ledger(store)
    per_append = []
    for i in range(3000):
        before = store.calls
        ledger.append("record.read", {"record": f"R{i}"}, "a", {}, {})
        per_append.append(store.calls - before)
    assert per_append[0] <= 4  # cold start: hint read, probe, insert, hint write
    assert max(per_append[1:]) <= 2  # then the cached tip: insert (+ hint write now and then)
    assert sum(per_append[1:101]) == pytest.approx(sum(per_append[-100:]), abs=2)


def test_a_stale_cached_tip_loses_one_insert_then_catches_up():
    """Two processes alternating: each one's cached tip is one block behind every time."""
    store = CountingStore()
    first, second = Ledger(store), Ledger(store)
    costs = []
    for i in range(200):
        writer = first if i % 2 == 0 else second
        before = store.calls
        block = writer.append("record.read", {"record": f"R{i}"}, "a", {}, {})
        costs.append(store.calls - before)
        assert block["height"] == i
    assert max(costs[2:]) <= 5  # refused insert, winner read, probe, insert, hint write
    store.iter_blocks = MemoryStore.iter_blocks.__get__(store)  # the audit may read it all
    assert Ledger(store).size() == 200 and audit(store).ok


def test_threads_appending_at_once_never_fork():
    store = MemoryStore()

    def writer(tag):
        ledger = Ledger(store)
        for i in range(150):
            ledger.append("record.read", {"record": f"{tag}-{i}"}, tag, {}, {})

    threads = [threading.Thread(target=writer, args=(f"w{t}",)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Ledger(store).size() == 600
    assert audit(store).ok


def test_log_root_matches_the_reference_at_every_size(memory_chain):
    store = memory_chain.store
    leaves = hashes(store, 40)
    for size in range(41):
        assert memory_chain.ledger.log_root(size) == root_from_hashes(leaves[:size])
    with pytest.raises(LedgerError):
        memory_chain.ledger.log_root(41)


def test_inclusion_proofs_match_the_reference_and_verify(memory_chain):
    ledger, leaves = memory_chain.ledger, hashes(memory_chain.store, 40)
    for size in (1, 2, 7, 16, 33, 40):
        root = root_from_hashes(leaves[:size])
        for height in range(size):
            proof = ledger.inclusion_proof(height, size)
            assert proof == inclusion_proof_from_hashes(leaves[:size], height)
            assert verify_inclusion_hash(leaves[height], height, size, proof, root)
    with pytest.raises(LedgerError):
        ledger.inclusion_proof(40, 40)


def test_consistency_proofs_match_the_reference_and_verify(memory_chain):
    ledger, leaves = memory_chain.ledger, hashes(memory_chain.store, 40)
    for new in (1, 5, 8, 21, 40):
        for old in range(new + 1):
            proof = ledger.consistency_proof(old, new)
            assert proof == consistency_proof_from_hashes(leaves[:new], old)
            assert verify_consistency(old, new, root_from_hashes(leaves[:old]),
                                      root_from_hashes(leaves[:new]), proof)


def test_checkpoint_signs_the_current_root(memory_chain, key):
    note = memory_chain.ledger.checkpoint(key, ORIGIN)
    cp, signer = verify_checkpoint(note, [key.public()])
    assert (cp.origin, cp.size, cp.root) == (ORIGIN, 40, memory_chain.ledger.log_root())
    assert signer == key.public()
    stored = memory_chain.store.latest_checkpoint()
    assert stored["note"] == note and stored["size"] == 40


class ReadCounting(MemoryStore):
    def __init__(self):
        super().__init__()
        self.read = 0

    def iter_blocks(self, start=0, stop=None, batch=5000):
        for doc in super().iter_blocks(start, stop, batch):
            self.read += 1
            yield doc


def test_checkpoint_resumes_from_the_last_one(key, make_chain):
    chain = make_chain(ReadCounting(), 100, seed=4)
    chain.ledger.checkpoint(key, ORIGIN)
    rng = random.Random(5)
    for i in range(10):
        chain.append(rng, 100 + i)
    chain.store.read = 0
    note = chain.ledger.checkpoint(key, ORIGIN)
    assert chain.store.read == 10
    assert verify_checkpoint(note, [key.public()])[0].root == root_from_hashes(
        hashes(chain.store, 110))


def test_tampered_saved_peaks_are_not_built_on(key, make_chain):
    chain = make_chain(MemoryStore(), 30, seed=6)
    chain.ledger.checkpoint(key, ORIGIN)
    saved = chain.store.latest_checkpoint()
    saved["peaks"] = ["00" * 32 for _ in saved["peaks"]]
    chain.append(random.Random(1), 30)
    note = chain.ledger.checkpoint(key, ORIGIN)
    assert verify_checkpoint(note, [key.public()])[0].root == root_from_hashes(
        hashes(chain.store, 31))


def test_key_rotation_block_and_trust_file(memory_chain, key, other_key, tmp_path):
    ledger, store = memory_chain.ledger, memory_chain.store
    first = ledger.checkpoint(key, ORIGIN)
    block, note = ledger.rotate_key(key, other_key, ORIGIN)
    assert block["kind"] == "checkpoint" and block["height"] == 40
    assert block["subject"] == {"key": other_key.key_id.hex()}
    # The hand-over note is signed by both keys.
    assert verify_checkpoint(note, [key.public()])[0].size == 41
    assert verify_checkpoint(note, [other_key.public()])[0].size == 41
    trust = TrustFile()
    trust.add(key.public(), 0)
    trust.add(other_key.public(), block["height"] + 1)
    trust.save(tmp_path / "trust.json")
    trust = TrustFile.load(tmp_path / "trust.json")
    memory_chain.append(random.Random(2), 41)
    later = ledger.checkpoint(other_key, ORIGIN)
    report = audit(store, verifiers=trust, held_checkpoints=[first, note, later])
    assert report.ok, report.lines()
    # The retired key may no longer sign a later size.
    memory_chain.append(random.Random(3), 42)
    rogue = ledger.checkpoint(key, ORIGIN)
    report = audit(store, verifiers=trust, held_checkpoints=[rogue])
    assert [p.kind for p in report.problems] == ["bad-signature", "bad-signature"]
    assert "not trusted for size 43" in report.problems[0].detail
    # The rotation attributes are saved in clear and match the sealed leaves.
    rotation = next(d["rotation"] for d in store.iter_checkpoints() if d.get("rotation"))
    leaves = attribute_leaf_hashes(rotation["attributes"], rotation["salts"])
    assert [x.hex() for x in leaves] == block["attr_leaves"]
    assert rotation["attributes"]["vkey"] == str(other_key.public())


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_policy_checkpoints_every_n_blocks(key):
    store = MemoryStore()
    ledger = Ledger(store)
    policy = CheckpointPolicy(every_blocks=5, every_seconds=10**9, clock=FakeClock())
    sizes = []
    for i in range(23):
        doc = ledger.append("record.read", {"record": f"R{i}"}, "a", {}, {})
        if policy.maybe_checkpoint(ledger, key, ORIGIN, size=doc["height"] + 1):
            sizes.append(doc["height"] + 1)
    assert sizes == [5, 10, 15, 20]
    assert [d["size"] for d in store.iter_checkpoints()] == [5, 10, 15, 20]


def test_policy_checkpoints_after_t_seconds_and_sees_other_writers(key):
    store = MemoryStore()
    ledger = Ledger(store)
    clock = FakeClock()
    policy = CheckpointPolicy(every_blocks=1000, every_seconds=60, clock=clock)
    ledger.append("record.read", {"record": "R0"}, "a", {}, {})
    assert policy.maybe_checkpoint(ledger, key, ORIGIN) is None
    clock.now = 61
    assert policy.maybe_checkpoint(ledger, key, ORIGIN) is not None
    clock.now = 200
    assert policy.maybe_checkpoint(ledger, key, ORIGIN) is None  # nothing new to sign
    # Another process checkpointed 1,000 blocks on: this one does not repeat it.
    other = CheckpointPolicy(every_blocks=1000, every_seconds=10**9, clock=clock)
    for i in range(1000):
        ledger.append("record.read", {"record": f"R{i}"}, "a", {}, {})
    assert other.maybe_checkpoint(ledger, key, ORIGIN) is not None
    fresh = CheckpointPolicy(every_blocks=1000, every_seconds=10**9, clock=clock)
    assert fresh.maybe_checkpoint(ledger, key, ORIGIN) is None
