"""The writer's block codes as the audit sees them (the app passes `block_check`; offline there
is none): a block whose code fails is named, on the fast path and after a broken block, and an
audit that cannot check codes it sees says so in its note; and every checkpoint is compared."""
import copy
import random

import pytest

from ledger.audit import Problem, audit
from ledger.store import MemoryStore, MongoStore
from tests.ledger.conftest import build_chain

UNAUTHENTICATED = ("the block's authentication code does not match: it was not appended by the "
                   "app")


def _with_codes(store, n):
    for height in range(n):
        doc = copy.deepcopy(store.get_block(height))
        doc["mac"] = f"k1:{height:064x}"
        store.raw_put(doc)


def _unauthenticated(report):
    return [(p.height, p.detail, p.record) for p in report.problems
            if p.kind == "unauthenticated-block"]


def test_a_block_whose_code_fails_is_named_with_its_record(memory_chain, key):
    report = audit(memory_chain.store, verifiers=[key.public()],
                   attribute_source=memory_chain.source,
                   block_check=lambda doc: doc["height"] != 7)
    assert _unauthenticated(report) == [(7, UNAUTHENTICATED, "PAT-000007-R1")]
    assert len(report.problems) == 1 and report.offline_note is None


def test_a_block_whose_code_fails_after_a_broken_block_is_named_too(memory_chain, key):
    broken = copy.deepcopy(memory_chain.store.get_block(3))
    broken["actor"] = "someone else"
    memory_chain.store.raw_put(broken)
    report = audit(memory_chain.store, verifiers=[key.public()],
                   attribute_source=memory_chain.source,
                   block_check=lambda doc: doc["height"] not in (3, 4))
    assert [p.height for p in report.problems if p.kind == "bad-block-hash"] == [3]
    assert _unauthenticated(report) == [(4, UNAUTHENTICATED, "PAT-000004-R1")]


@pytest.mark.parametrize("codes, check, note", [
    (True, None, "block authentication codes not checked: no writer's key"),
    (True, lambda doc: True, None),
    (False, None, None),
])
def test_an_audit_that_cannot_check_the_codes_it_sees_says_so(memory_chain, key, codes, check,
                                                              note):
    if codes:
        _with_codes(memory_chain.store, 40)
    report = audit(memory_chain.store, verifiers=[key.public()], block_check=check,
                   attribute_source=memory_chain.source)
    assert report.ok and report.offline_note == note


def test_every_stored_and_held_checkpoint_is_compared(key):
    """Checkpoints are taken in size order as the walk reaches each size: none is skipped
    (whatever their roots' order)."""
    rng = random.Random(3)
    chain = build_chain(MemoryStore(), 0)
    held = []
    for i in range(60):
        chain.append(rng, i)
        if (i + 1) % 7 == 0:
            held.append(chain.ledger.checkpoint(key, "medledger.test/log"))
    report = audit(chain.store, verifiers=[key.public()], attribute_source=chain.source,
                   held_checkpoints=held)
    assert report.ok and report.checkpoints_checked == 2 * len(held) == 16


def test_a_document_check_alone_sees_every_block_and_its_problems_are_reported(memory_chain,
                                                                             key):
    """The app's document coverage without an attribute source (as `flask ledger verify`
    without the data key runs it): called once per block, its problems in the report, and a
    block whose subject is a stray document is named as one."""
    seen = []

    def check(doc):
        seen.append(doc["height"])
        return [Problem("unsealed-document", None, "users DOC-1 has no ledger block")] \
            if doc["height"] == 39 else []

    report = audit(memory_chain.store, verifiers=[key.public()], document_check=check)
    assert seen == list(range(40))
    assert [(p.kind, p.detail) for p in report.problems] == [
        ("unsealed-document", "users DOC-1 has no ledger block")]


def test_a_stray_document_among_the_blocks_is_named(mongo_db, key):
    chain = build_chain(MongoStore(mongo_db, prefix="ledger"), 12, seed=2)
    stray = copy.deepcopy(chain.store.get_block(5))
    stray["_id"] = "not-a-block"
    mongo_db.ledger_blocks.insert_one(stray)
    report = audit(chain.store, verifiers=[key.public()], attribute_source=chain.source)
    assert [(p.kind, p.height, p.detail) for p in report.problems] == [
        ("bad-block-hash", 5, "stray document 'not-a-block' with height 5")]
