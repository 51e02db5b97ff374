"""The audit's report as people and cron mail read it: kinds, lines, verdict, overflow, trust.

These pin the parts of ledger/audit.py that the mutation run showed no test reads: the
vocabulary of problem kinds, the exact line and verdict text, and the cap on listed problems.
"""
import pytest

from ledger import audit as audit_module
from ledger.audit import (MAX_PROBLEMS, PROBLEM_KINDS, AttributeSourceError, Problem, Report,
                          Trust, audit, check_consistency)
from ledger.notes import Checkpoint, NoteError, TrustEntry, TrustFile, sign_checkpoint, sign_note
from ledger.merkle import root_from_hashes
from ledger.store import MemoryStore

DOCUMENTED_KINDS = ("broken-link", "bad-block-hash", "bad-attr-root", "attribute-mismatch",
                    "missing-block", "unsealed-document", "missing-document", "bad-signature",
                    "inconsistent-with-checkpoint", "truncated", "unauthenticated-document",
                    "unauthenticated-block", "duplicate-key", "not-nfc", "not-canonical",
                    "unknown-field")


def test_the_problem_vocabulary_is_the_documented_one():
    """The app files problems under these names: each is accepted from an attribute source."""
    assert PROBLEM_KINDS == DOCUMENTED_KINDS
    for kind in DOCUMENTED_KINDS:
        error = AttributeSourceError(kind, "detail")
        assert (error.kind, error.detail, str(error)) == (kind, "detail", f"{kind}: detail")
    with pytest.raises(ValueError, match="^unknown problem kind 'broken'$"):
        AttributeSourceError("broken", "x")


def test_problem_lines_and_dicts():
    full = Problem("attribute-mismatch", 7, "differs", "PAT-1-R1", 2, "dose_mg", 9)
    assert full.line() == ("attribute-mismatch height=7..9 record=PAT-1-R1 version=2 "
                           "attribute=dose_mg: differs")
    assert full.to_dict() == {"kind": "attribute-mismatch", "height": 7, "detail": "differs",
                              "record": "PAT-1-R1", "version": 2, "attribute": "dose_mg",
                              "height_end": 9}
    bare = Problem("bad-signature", None, "stored checkpoint 5")
    assert bare.line() == "bad-signature height=-: stored checkpoint 5"
    assert bare.to_dict() == {"kind": "bad-signature", "detail": "stored checkpoint 5"}
    assert Problem("truncated", 0, "d", height_end=0).line() == "truncated height=0: d"


def test_report_summary_of_a_tampered_chain():
    report = Report(blocks_checked=5, size=5, root="ab", elapsed=1.23456,
                    offline_note="attribute contents not checked: no data key")
    report.add(Problem("broken-link", 3, "x"))
    report.add(Problem("bad-signature", None, "y"))
    report.add(Problem("bad-block-hash", 2, "z"))
    assert not report.ok and report.first_failing_height == 2
    assert report.verdict() == ("TAMPERED (3 problems, first at height 2): 5 blocks, size 5, "
                                "root ab, 0 checkpoints, 1.23 s; "
                                "attribute contents not checked: no data key")
    data = report.to_dict()
    assert data["ok"] is False and data["elapsed"] == 1.235 and data["first_failing_height"] == 2
    assert data["problems_not_listed"] == 0 and len(data["problems"]) == 3
    assert data["offline_note"].startswith("attribute contents")


def test_report_lists_at_most_max_problems_and_counts_the_rest():
    report = Report()
    for h in range(MAX_PROBLEMS + 2):
        report.add(Problem("missing-block", h, "gone"))
    assert MAX_PROBLEMS == 10000
    assert len(report.problems) == MAX_PROBLEMS and report.problems_not_listed == 2
    assert report.lines()[-1] == "... and 2 more problems"
    assert len(report.lines()) == MAX_PROBLEMS + 1
    assert report.verdict().startswith(f"TAMPERED ({MAX_PROBLEMS + 2} problems")
    only_unlisted = Report(problems_not_listed=1)
    assert not only_unlisted.ok and only_unlisted.first_failing_height is None


def test_trust_by_size_and_its_refusal(key, other_key):
    root = bytes(32)
    trust_file = TrustFile()
    trust_file.add(key.public(), 0)
    trust_file.add(other_key.public(), 10)  # key covers 0..10, other_key 10..
    trust = Trust(trust_file)
    assert trust.all == [key.public(), other_key.public()]
    assert trust.for_size(11) == [other_key.public()]
    late = sign_checkpoint(Checkpoint("log", 11, root), key)
    with pytest.raises(NoteError) as caught:
        trust.open(late)
    assert str(caught.value) == f"signed by {key.name}, not trusted for size 11"
    with pytest.raises(NoteError):  # the refusal is remembered, not forgotten
        trust.open(late)
    assert trust.open(sign_checkpoint(Checkpoint("log", 10, root), key)).size == 10
    assert Trust(key.public()).all == [key.public()]
    assert Trust([key.public(), key.public()]).all == [key.public()]
    assert not Trust(None) and Trust([key.public()])


def test_a_checkpoint_signed_only_by_keys_out_of_their_range_names_every_one(key, other_key):
    trust = Trust(TrustFile([TrustEntry(key.public(), 0, 5), TrustEntry(other_key.public(), 0, 5)]))
    both = sign_note(Checkpoint("log", 6, bytes(32)).body(), [key, other_key])
    with pytest.raises(NoteError) as caught:
        trust.open(both)
    assert str(caught.value) == f"signed by {key.name}, {other_key.name}, not trusted for size 6"


def test_a_badly_signed_stored_checkpoint_is_named(memory_chain, key, other_key):
    memory_chain.ledger.checkpoint(other_key, "medledger.test/log")
    report = audit(memory_chain.store, verifiers=[key.public()])
    assert [(p.kind, p.height) for p in report.problems] == [("bad-signature", None)]
    assert report.problems[0].detail.startswith("stored checkpoint 40:")
    held = sign_checkpoint(Checkpoint("log", 40, bytes(32)), other_key)
    report = audit(MemoryStore(), verifiers=[key.public()], held_checkpoints=[held])
    assert report.problems[0].detail == "held checkpoint #1: no signature by a known key"


def test_a_block_without_any_readable_hash_is_a_zero_leaf_in_the_root(memory_chain):
    """The log keeps its size: an unreadable block counts as 32 zero bytes, not as nothing."""
    last = memory_chain.store.get_block(39)
    del last["actor"]
    last["hash"] = "not hex"
    report = audit(memory_chain.store)
    hashes = [bytes.fromhex(memory_chain.store.get_block(h)["hash"]) for h in range(39)]
    assert report.root == root_from_hashes(hashes + [bytes(32)]).hex()
    assert [(p.kind, p.height) for p in report.problems] == [("bad-block-hash", 39)]


def test_a_consistency_check_against_an_untrusted_note_reports_nothing_checked(
        memory_chain, key, other_key):
    held = memory_chain.ledger.checkpoint(other_key, "medledger.test/log")
    report = check_consistency(memory_chain.store, held, [key.public()])
    assert [(p.kind, p.height) for p in report.problems] == [("bad-signature", None)]
    assert report.problems[0].detail == "held checkpoint: no signature by a known key"
    assert (report.size, report.blocks_checked, report.checkpoints_checked) == (0, 0, 0)
    assert report.root is None and report.offline_note is None
    assert report.to_dict()["size"] == 0


def test_an_empty_report_is_sound_and_says_it_checked_nothing():
    assert Report().to_dict() == {
        "ok": True, "size": 0, "root": None, "blocks_checked": 0, "checkpoints_checked": 0,
        "first_failing_height": None, "elapsed": 0.0, "offline_note": None, "problems": [],
        "problems_not_listed": 0}
    assert Report().verdict() == "SOUND: 0 blocks, size 0, root None, 0 checkpoints, 0.00 s"


@pytest.mark.parametrize("subject, named", [
    ({"record": "PAT-000001-R1", "version": 2}, ("PAT-000001-R1", 2)),
    ({"grant": "GRT-000001", "patient": "PAT-000001"}, ("grant=GRT-000001,patient=PAT-000001", None)),
    ({"request": "REQ-000001", "version": 1}, ("request=REQ-000001", 1)),
    ({}, (None, None)),
    ("not a subject", (None, None)),
])
def test_a_problem_names_its_document_by_record_or_by_its_subjects_keys(subject, named):
    """How a problem line names the document when the subject has no record id."""
    assert audit_module._subject_ref(subject) == named
