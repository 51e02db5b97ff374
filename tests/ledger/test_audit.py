"""The audit names each tampered place precisely: one edit, one report, the right height."""
import random
import tracemalloc

import pytest

from ledger.audit import AttributeSourceError, Problem, audit, check_consistency
from ledger.block import block_hash, header_of
from ledger.merkle import root_from_hashes
from ledger.notes import Checkpoint, TrustFile, sign_checkpoint
from ledger.store import MemoryStore, MongoStore

ORIGIN = "medledger.test/log"


def kinds_at(report):
    return [(p.kind, p.height) for p in report.problems]


def run(chain, key=None, **options):
    options.setdefault("attribute_source", chain.source)
    return audit(chain.store, verifiers=[key.public()] if key else None, **options)


def rehash(doc):
    doc["hash"] = block_hash(header_of(doc)).hex()


def test_untouched_chain_is_sound(memory_chain, key):
    held = memory_chain.ledger.checkpoint(key, ORIGIN)
    report = run(memory_chain, key, held_checkpoints=[held])
    assert report.ok and report.problems == [] and report.lines() == []
    assert report.size == report.blocks_checked == 40
    assert report.root == memory_chain.ledger.log_root().hex()
    assert report.checkpoints_checked == 2  # the stored one and the held one
    assert report.first_failing_height is None
    assert report.offline_note is None
    assert report.to_dict()["ok"] is True
    assert report.verdict().startswith("SOUND")


def test_offline_audit_says_what_it_did_not_check(memory_chain):
    report = audit(memory_chain.store)
    assert report.ok
    assert "attribute contents not checked" in report.offline_note
    assert "checkpoint signatures not checked" in report.offline_note


def test_edited_header_field_is_one_bad_block_hash(memory_chain, key):
    memory_chain.ledger.checkpoint(key, ORIGIN)
    memory_chain.store.get_block(17)["actor"] = "someone-else"
    report = run(memory_chain, key)
    assert kinds_at(report) == [("bad-block-hash", 17)]
    assert report.first_failing_height == 17
    assert report.problems[0].record == memory_chain.store.get_block(17)["subject"]["record"]


def test_edited_hash_field_is_one_bad_block_hash(memory_chain, key):
    memory_chain.ledger.checkpoint(key, ORIGIN)
    memory_chain.store.get_block(39)["hash"] = "00" * 32  # even at the tip
    memory_chain.store.get_block(5)["hash"] = "11" * 32
    report = run(memory_chain, key)
    assert kinds_at(report) == [("bad-block-hash", 5), ("bad-block-hash", 39)]


def test_rehashed_edit_breaks_the_next_link_and_the_checkpoint(memory_chain, key):
    memory_chain.ledger.checkpoint(key, ORIGIN)
    doc = memory_chain.store.get_block(17)
    doc["timestamp"] = "2020-01-01T00:00:00.000Z"  # back-dated
    rehash(doc)
    report = run(memory_chain, key)
    assert kinds_at(report) == [("inconsistent-with-checkpoint", 0), ("broken-link", 18)]
    bracket = report.problems[0]
    assert bracket.height <= 17 <= bracket.height_end


def test_edited_prev_hash(memory_chain):
    memory_chain.store.get_block(9)["prev_hash"] = "ab" * 32
    assert sorted(kinds_at(run(memory_chain))) == [("bad-block-hash", 9), ("broken-link", 9)]


def test_edited_leaf_hash_names_the_attribute(memory_chain):
    doc = memory_chain.store.get_block(12)
    attributes, _ = memory_chain.source(doc)
    doc["attr_leaves"][0] = "ee" * 32
    report = run(memory_chain)
    assert kinds_at(report) == [("bad-attr-root", 12)]
    assert report.problems[0].attribute == sorted(attributes)[0]
    # Without the data, the root check alone still catches it.
    assert kinds_at(audit(memory_chain.store)) == [("bad-attr-root", 12)]


def test_edited_value_and_salt_name_record_version_and_attribute(memory_chain):
    doc = memory_chain.store.get_block(21)
    attributes, salts = memory_chain.source(doc)
    name = sorted(attributes)[-1]
    attributes[name] = "tampered"
    report = run(memory_chain)
    assert kinds_at(report) == [("attribute-mismatch", 21)]
    problem = report.problems[0]
    assert (problem.record, problem.version, problem.attribute) == (
        doc["subject"]["record"], doc["subject"]["version"], name)
    assert f"attribute={name}" in report.lines()[0]
    attributes[name], salts[name] = "restored", "AAAAAAAAAAAAAAAAAAAAAA=="
    assert kinds_at(run(memory_chain)) == [("attribute-mismatch", 21)]


def test_attribute_source_errors_are_reported_as_their_kind(memory_chain):
    def source(doc):
        if doc["height"] == 8:
            raise AttributeSourceError("attribute-mismatch", "AES-GCM tag check failed")
        if doc["height"] == 9:
            raise AttributeSourceError("missing-document", "record is gone")
        return memory_chain.source(doc)

    report = audit(memory_chain.store, attribute_source=source)
    assert kinds_at(report) == [("attribute-mismatch", 8), ("missing-document", 9)]
    assert "AES-GCM" in report.problems[0].detail
    with pytest.raises(ValueError):
        AttributeSourceError("no-such-kind", "x")


def test_deleted_blocks_are_exactly_the_missing_heights(memory_chain, key):
    memory_chain.ledger.checkpoint(key, ORIGIN)
    memory_chain.store.raw_delete(11)
    for h in (20, 21, 22):
        memory_chain.store.raw_delete(h)
    report = run(memory_chain, key)
    assert kinds_at(report) == [("missing-block", 11), ("missing-block", 20)]
    assert report.problems[1].height_end == 22
    assert report.lines()[1].startswith("missing-block height=20..22")


def test_truncated_tail_is_caught_by_checkpoint_and_hint(memory_chain, key):
    note = memory_chain.ledger.checkpoint(key, ORIGIN)
    for h in range(35, 40):
        memory_chain.store.raw_delete(h)
    report = run(memory_chain, key)
    assert kinds_at(report) == [("truncated", 35)]
    assert report.problems[0].height_end == 39
    # An attacker who also removes the stored checkpoint and the hint is caught by a held one.
    memory_chain.store.raw_checkpoints().clear()
    memory_chain.store.raw_meta().clear()
    assert run(memory_chain, key).ok
    assert kinds_at(run(memory_chain, key, held_checkpoints=[note])) == [("truncated", 35)]


def test_moved_document_id(memory_chain):
    doc = dict(memory_chain.store.get_block(30))
    memory_chain.store.raw_delete(30)
    doc["_id"] = 1000
    memory_chain.store.raw_put(doc)
    assert kinds_at(run(memory_chain)) == [("bad-block-hash", 30)]


def test_forged_or_foreign_checkpoints(memory_chain, key, other_key):
    note = memory_chain.ledger.checkpoint(key, ORIGIN)
    forged = note.replace("\n40\n", "\n39\n")
    foreign = memory_chain.ledger.checkpoint(other_key, ORIGIN)
    report = run(memory_chain, key, held_checkpoints=[forged, foreign])
    assert [p.kind for p in report.problems] == ["bad-signature"] * 3
    assert all(p.height is None for p in report.problems)


def test_inconsistent_held_checkpoint_is_bracketed(make_chain, key):
    chain = make_chain(MemoryStore(), 30, seed=9)
    # The auditor kept checkpoints at sizes 10, 20 and 30 (signed over the honest chain).
    notes = []
    for size in (10, 20, 30):
        leaves = [bytes.fromhex(chain.store.get_block(h)["hash"]) for h in range(size)]
        notes.append(sign_checkpoint(Checkpoint(ORIGIN, size, root_from_hashes(leaves)), key))
    # Rewrite from height 14 on with every hash recomputed: locally perfect.
    prev = chain.store.get_block(13)["hash"]
    for h in range(14, 30):
        doc = chain.store.get_block(h)
        if h == 14:
            doc["actor"] = "insider"
        doc["prev_hash"] = prev
        rehash(doc)
        prev = doc["hash"]
    assert audit(chain.store).ok
    report = run(chain, key, held_checkpoints=notes)
    assert kinds_at(report) == [("inconsistent-with-checkpoint", 10),
                                ("inconsistent-with-checkpoint", 10)]
    assert [p.height_end for p in report.problems] == [19, 29]


class Documents:
    """A document check: which records the app holds, seen against which blocks seal them."""

    def __init__(self, records):
        self.unseen = set(records)

    def on_block(self, doc):
        record = doc["subject"].get("record")
        if record in self.unseen:
            self.unseen.discard(record)
            return []
        return [Problem("missing-document", doc["height"], "block refers to a missing record",
                        record=record)]

    def finish(self):
        return [Problem("unsealed-document", None, "no block covers this record", record=r)
                for r in sorted(self.unseen)]


def test_document_check_hook(memory_chain):
    records = {memory_chain.store.get_block(h)["subject"]["record"] for h in range(40)}
    records.discard(memory_chain.store.get_block(4)["subject"]["record"])
    records.add("PAT-999999-R1")
    report = run(memory_chain, document_check=Documents(records))
    assert [(p.kind, p.height, p.record) for p in report.problems] == [
        ("missing-document", 4, memory_chain.store.get_block(4)["subject"]["record"]),
        ("unsealed-document", None, "PAT-999999-R1")]


def test_plain_callable_document_check(memory_chain):
    seen = []
    assert run(memory_chain, document_check=lambda doc: seen.append(doc["height"])).ok
    assert seen == list(range(40))


def test_progress_is_reported_per_batch(memory_chain):
    calls = []
    audit(memory_chain.store, progress=lambda done, total: calls.append((done, total)), batch=10)
    assert calls[:4] == [(10, 40), (20, 40), (30, 40), (40, 40)]


def test_same_findings_on_mongo(mongo_db, key, make_chain):
    chain = make_chain(MongoStore(mongo_db), 25, seed=3)
    chain.store.ensure_indexes()
    chain.ledger.checkpoint(key, ORIGIN)
    chain.store.blocks.update_one({"_id": 7}, {"$set": {"kind": "record.created", "actor": "x"}})
    chain.store.blocks.delete_one({"_id": 12})
    report = run(chain, key, batch=4)
    assert kinds_at(report) == [("bad-block-hash", 7), ("missing-block", 12)]


def test_trust_file_ranges(memory_chain, key, other_key):
    trust = TrustFile()
    trust.add(key.public(), 0)
    trust.add(other_key.public(), 30)
    early = memory_chain.ledger.checkpoint(key, ORIGIN)  # size 40, but key retired at 30
    report = audit(memory_chain.store, held_checkpoints=[early], verifiers=trust)
    assert [p.kind for p in report.problems] == ["bad-signature", "bad-signature"]


def test_check_consistency_with_a_held_checkpoint(make_chain, key):
    chain = make_chain(MemoryStore(), 20, seed=5)
    held = chain.ledger.checkpoint(key, ORIGIN)
    rng = random.Random(1)
    for i in range(13):
        chain.append(rng, 20 + i)
    report = check_consistency(chain.store, held, [key.public()])
    assert report.ok and report.checkpoints_checked == 1 and report.size == 33
    doc = chain.store.get_block(3)
    doc["actor"] = "insider"
    prev = None
    for h in range(3, 33):
        d = chain.store.get_block(h)
        if prev:
            d["prev_hash"] = prev
        rehash(d)
        prev = d["hash"]
    report = check_consistency(chain.store, held, [key.public()])
    assert kinds_at(report) == [("inconsistent-with-checkpoint", 0)]
    for h in range(15, 33):
        chain.store.raw_delete(h)
    report = check_consistency(chain.store, held, [key.public()])
    assert kinds_at(report) == [("truncated", 15)]


def test_audit_memory_does_not_grow_with_the_chain(make_chain):
    peaks = []
    for n in (500, 4000):
        chain = make_chain(MemoryStore(), n, seed=n)
        tracemalloc.start()
        assert audit(chain.store, batch=500).ok
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 2 * peaks[0] + 50_000, peaks
