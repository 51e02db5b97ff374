"""Each finding of the audit as the auditor reads it: kind, height, the exact detail, the
record, the attribute and the span, one tampering at a time; the notes on what an offline
audit could not check; the order of the list; the consistency check's own findings.

The auditor's page and `flask ledger verify` print these lines as they are: a wrong height in
a detail ("blocks 5..8" for a gap of 5..7) sends a person to the wrong place. Written for the
survivors of the ledger-audit mutation run (scripts/mutation ledger-audit).
"""
import copy
import time

import pytest

from ledger import audit as audit_module
from ledger.audit import AttributeSourceError, audit, check_consistency
from ledger.merkle import root_from_hashes
from ledger.notes import Checkpoint, sign_checkpoint
from ledger.store import MemoryStore
from tests.ledger.conftest import ORIGIN, build_chain

SIZE = 12
STORED_HASH = "stored hash does not match the header"
FLOAT = "floats are not allowed (use a decimal string)"
NOT_NFC = "string is not in Unicode NFC (normalise input before sealing)"


@pytest.fixture
def chain():
    return build_chain(MemoryStore(), SIZE, seed=1)


def edit(chain, height, change):
    doc = copy.deepcopy(chain.store.get_block(height))
    change(doc)
    chain.store.raw_put(doc)
    return doc


def ref(chain, height):
    subject = chain.store.get_block(height)["subject"]
    return subject["record"], subject["version"]


def found(report):
    return [(p.kind, p.height, p.detail, p.record, p.version, p.attribute, p.height_end)
            for p in report.problems]


def honest_root(chain, size=SIZE):
    return root_from_hashes([bytes.fromhex(chain.store.get_block(h)["hash"])
                             for h in range(size)])


def held(chain, key, size, root=None):
    return sign_checkpoint(Checkpoint(ORIGIN, size, root or honest_root(chain, size)), key)


@pytest.mark.parametrize("gone, detail, end", [
    ((5,), "block 5 is missing", 5),
    ((5, 6), "blocks 5..6 are missing", 6),
    ((5, 6, 7), "blocks 5..7 are missing", 7),
])
def test_a_gap_names_its_first_and_last_height(chain, gone, detail, end):
    for height in gone:
        chain.store.raw_delete(height)
    report = audit(chain.store, attribute_source=chain.source)
    assert found(report) == [("missing-block", gone[0], detail, None, None, None, end)]
    assert report.root is None and report.size == SIZE


def _broken_header(doc):
    doc["actor"] = 1.5


@pytest.mark.parametrize("change, detail", [
    (lambda doc: doc.update(actor="someone else"), STORED_HASH),
    (lambda doc: doc.pop("actor"), "header fields are missing"),
    (_broken_header, f"header cannot be encoded: actor: {FLOAT}"),
])
def test_a_block_whose_header_fails_says_why(chain, change, detail):
    record, version = ref(chain, 5)
    edit(chain, 5, change)
    report = audit(chain.store, attribute_source=chain.source)
    assert found(report) == [("bad-block-hash", 5, detail, record, version, None, None)]


def test_an_encoder_failure_nobody_foresaw_is_a_finding_not_a_crash(chain, monkeypatch):
    """Every value outside the canonical domain is a CanonicalError today; a TypeError or
    ValueError from a future encoder must still name the block, not stop the audit."""
    record, version = ref(chain, 5)
    edit(chain, 5, lambda doc: doc.update(actor="someone else"))  # off the fast path
    real = audit_module.block_hash

    def block_hash(header):
        if header["height"] == 5:
            raise TypeError("unforeseen")
        return real(header)
    monkeypatch.setattr(audit_module, "block_hash", block_hash)
    report = audit(chain.store)
    assert found(report) == [("bad-block-hash", 5, "header cannot be encoded: unforeseen",
                              record, version, None, None)]
    assert report.blocks_checked == SIZE


def test_a_header_respelled_in_nfd_is_one_not_nfc_finding(chain):
    edit(chain, 5, lambda doc: doc.update(subject={"record": "Cafe\u0301", "version": 1}))
    report = audit(chain.store)
    assert found(report) == [
        ("not-nfc", 5, f"header.subject.record: {NOT_NFC}", "Cafe\u0301", 1, None, None),
        ("bad-block-hash", 5, STORED_HASH, "Cafe\u0301", 1, None, None)]


def test_a_header_in_nfd_that_fails_for_another_reason_too_says_so(chain):
    """NFC is tried only to go on: a header that still cannot be encoded is that finding."""
    record, version = ref(chain, 5)
    edit(chain, 5, lambda doc: doc.update(kind="record.cre\u0301ated", actor=1.5))
    report = audit(chain.store)
    assert found(report) == [
        ("not-nfc", 5, f"header.kind: {NOT_NFC}", record, version, None, None),
        ("bad-block-hash", 5, f"header cannot be encoded: actor: {FLOAT}", record, version,
         None, None)]


def test_a_block_under_another_id_is_named(chain):
    record, version = ref(chain, 5)
    doc = copy.deepcopy(chain.store.get_block(5))
    chain.store.raw_delete(5)
    doc["_id"] = 99
    chain.store.raw_put(doc)
    report = audit(chain.store)
    assert found(report) == [("bad-block-hash", 5, "document _id 99 does not match height 5",
                              record, version, None, None)]


def test_a_broken_link_names_the_block_it_should_follow(chain):
    record, version = ref(chain, 6)
    edit(chain, 6, lambda doc: doc.update(prev_hash="ab" * 32))
    report = audit(chain.store)
    assert found(report) == [("bad-block-hash", 6, STORED_HASH, record, version, None, None),
                             ("broken-link", 6, "prev_hash does not match block 5", record,
                              version, None, None)]


def test_block_zero_must_link_to_zeros(chain):
    record, version = ref(chain, 0)
    edit(chain, 0, lambda doc: doc.update(prev_hash="11" * 32))
    report = audit(chain.store)
    assert found(report) == [
        ("bad-block-hash", 0, STORED_HASH, record, version, None, None),
        ("broken-link", 0, "block 0 must have an all-zero prev_hash", record, version, None,
         None)]


def test_a_link_to_an_unreadable_hash_is_checked_against_its_stored_text(chain):
    """Block 5's hash is not hex and its header cannot be encoded: there is no hash to link
    to but the stored text, and block 6 links to exactly that text."""
    record, version = ref(chain, 6)
    edit(chain, 5, lambda doc: doc.update(hash="not a hash", actor=1.5))
    edit(chain, 6, lambda doc: doc.update(prev_hash="not a hash"))
    report = audit(chain.store)
    assert [(kind, height) for kind, height, *_ in found(report)] == [
        ("bad-block-hash", 5), ("bad-block-hash", 6)]
    assert found(report)[1] == ("bad-block-hash", 6, STORED_HASH, record, version, None, None)


def test_an_unreadable_stored_hash_leaves_the_log_tree_on_the_recomputed_one(chain):
    """The header still hashes: the log root is the honest one, so checkpoints still match."""
    record, version = ref(chain, 5)
    root = honest_root(chain).hex()
    edit(chain, 5, lambda doc: doc.update(hash="not a hash"))
    report = audit(chain.store)
    assert found(report) == [("bad-block-hash", 5, STORED_HASH, record, version, None, None)]
    assert report.root == root


@pytest.mark.parametrize("change, detail", [
    (lambda doc: doc.update(attr_leaves="not a list"), "attr_leaves is not a list of hex hashes"),
    (lambda doc: doc.update(attr_leaves=["zz"]), "attr_leaves is not a list of hex hashes"),
])
def test_unreadable_attribute_leaves(chain, change, detail):
    record, version = ref(chain, 5)
    edit(chain, 5, change)
    report = audit(chain.store, attribute_source=chain.source)
    assert found(report) == [("bad-attr-root", 5, detail, record, version, None, None)]


def test_a_leaf_count_that_disagrees_names_both_numbers(chain):
    record, version = ref(chain, 5)
    leaves = len(chain.store.get_block(5)["attr_leaves"])
    edit(chain, 5, lambda doc: doc.update(attr_count=99))
    report = audit(chain.store)
    assert found(report) == [
        ("bad-block-hash", 5, STORED_HASH, record, version, None, None),
        ("bad-attr-root", 5, f"{leaves} attribute leaves but attr_count is 99", record,
         version, None, None)]


@pytest.mark.parametrize("with_source", [False, True])
def test_an_attribute_root_that_matches_nothing(chain, with_source):
    record, version = ref(chain, 5)
    edit(chain, 5, lambda doc: doc.update(attr_root="00" * 32))
    report = audit(chain.store, attribute_source=chain.source if with_source else None)
    assert found(report) == [
        ("bad-block-hash", 5, STORED_HASH, record, version, None, None),
        ("bad-attr-root", 5, "attr_root does not match the attribute leaves", record, version,
         None, None)]


def test_an_altered_leaf_is_named_when_the_data_still_matches_the_root(chain):
    record, version = ref(chain, 5)
    attributes, salts = chain.source(chain.store.get_block(5))
    first = sorted(attributes)[0]
    edit(chain, 5, lambda doc: doc["attr_leaves"].__setitem__(0, "00" * 32))
    report = audit(chain.store, attribute_source=chain.source)
    assert found(report) == [
        ("bad-attr-root", 5, "a stored attribute leaf hash was altered (the data still "
         "matches attr_root)", record, version, first, None)]


def test_an_extra_leaf_is_no_attribute_of_its_own(chain):
    """A leaf with no attribute behind it is named by position inside the check ("#n"): the
    finding names no attribute rather than a made-up one."""
    record, version = ref(chain, 5)
    leaves = len(chain.store.get_block(5)["attr_leaves"])
    edit(chain, 5, lambda doc: doc["attr_leaves"].append("00" * 32))
    report = audit(chain.store, attribute_source=chain.source)
    assert found(report) == [
        ("bad-attr-root", 5, f"{leaves + 1} attribute leaves but attr_count is {leaves}",
         record, version, None, None),
        ("bad-attr-root", 5, "a stored attribute leaf hash was altered (the data still "
         "matches attr_root)", record, version, None, None)]


@pytest.mark.parametrize("root", [None, ""])
def test_a_value_outside_the_domain_matches_no_root(chain, root):
    """Data that cannot be encoded has no root: it is never "the data still matches
    attr_root", not even when attr_root is gone too (found by the ledger-audit mutation run)."""
    record, version = ref(chain, 5)
    attributes, salts = chain.source(chain.store.get_block(5))
    name = sorted(attributes)[0]
    chain.data[(record, version)] = ({**attributes, name: 1.5}, salts)
    edit(chain, 5, lambda doc: doc.pop("attr_root") if root is None
         else doc.update(attr_root=root))
    report = audit(chain.store, attribute_source=chain.source)
    assert found(report) == [
        ("bad-block-hash", 5, "header fields are missing" if root is None else STORED_HASH,
         record, version, None, None),
        ("bad-attr-root", 5, "attr_root does not match the attribute leaves", record, version,
         None, None),
        ("attribute-mismatch", 5, "stored value or salt does not match the sealed leaf", record,
         version, name, None)]


def test_a_changed_value_is_named_by_attribute(chain):
    record, version = ref(chain, 5)
    attributes, salts = chain.source(chain.store.get_block(5))
    name = sorted(attributes)[0]
    chain.data[(record, version)] = ({**attributes, name: "changed"}, salts)
    report = audit(chain.store, attribute_source=chain.source)
    assert found(report) == [("attribute-mismatch", 5, "stored value or salt does not match "
                              "the sealed leaf", record, version, name, None)]


@pytest.mark.parametrize("salts", [["x"], "x", None, 7])
@pytest.mark.parametrize("root_too", [False, True])
def test_salts_that_are_no_mapping_mismatch_every_attribute(chain, salts, root_too):
    """Salts come back from a database an insider can write: a list or a null in their
    place is every attribute's mismatch, not a crash of the audit."""
    record, version = ref(chain, 5)
    attributes, _ = chain.source(chain.store.get_block(5))
    chain.data[(record, version)] = (attributes, salts)
    if root_too:
        edit(chain, 5, lambda doc: doc.update(attr_root="00" * 32))
    report = audit(chain.store, attribute_source=chain.source)
    mismatches = [("attribute-mismatch", 5, "stored value or salt does not match the sealed "
                   "leaf", record, version, name, None) for name in sorted(attributes)]
    if root_too:
        mismatches = [("bad-block-hash", 5, STORED_HASH, record, version, None, None),
                      ("bad-attr-root", 5, "attr_root does not match the attribute leaves",
                       record, version, None, None)] + mismatches
    assert found(report) == mismatches


@pytest.mark.parametrize("name, kind, detail", [
    (7, "attribute-mismatch", "attributes: attribute names must be strings, not int"),
    ("Cafe\u0301", "not-nfc", f"attributes.Cafe\\u0301: {NOT_NFC}"),
])
@pytest.mark.parametrize("root_too", [False, True])
def test_attributes_that_cannot_be_encoded(chain, name, kind, detail, root_too):
    """A value outside the domain is a mismatch of that attribute; a name outside it leaves
    the attributes unreadable as a whole."""
    record, version = ref(chain, 5)
    attributes, salts = chain.source(chain.store.get_block(5))
    chain.data[(record, version)] = ({**attributes, name: "x"}, {**salts, name: "x"})
    if root_too:
        edit(chain, 5, lambda doc: doc.update(attr_root="00" * 32))
    report = audit(chain.store, attribute_source=chain.source)
    expected = [(kind, 5, f"attributes cannot be encoded: {detail}", record, version, None,
                 None)]
    if root_too:
        expected = [("bad-block-hash", 5, STORED_HASH, record, version, None, None),
                    *expected,
                    ("bad-attr-root", 5, "attr_root does not match the attribute leaves",
                     record, version, None, None)]
    assert found(report) == expected


def test_a_source_that_reports_a_problem_is_filed_under_its_kind(chain):
    record, version = ref(chain, 5)

    def source(doc):
        if doc["height"] == 5:
            raise AttributeSourceError("missing-document", "the record is gone")
        return chain.source(doc)
    report = audit(chain.store, attribute_source=source)
    assert found(report) == [("missing-document", 5, "the record is gone", record, version,
                              None, None)]


class _StrayAfter(MemoryStore):
    """Yields a stray copy of block 2 after block 3 (under another `_id`, with the height
    given), as a database with a duplicate or an edited height might."""

    stray_height = 2

    def iter_blocks(self, start=0, stop=None, batch=1000):
        for doc in super().iter_blocks(start, stop, batch):
            yield doc
            if doc["height"] == 3:
                yield {**copy.deepcopy(super().get_block(2)), "_id": "dup",
                       "height": self.stray_height}


@pytest.mark.parametrize("stray, named", [(2, 2), ("2", None), (True, None), (None, None)])
def test_a_stray_document_is_named_and_the_walk_goes_on(stray, named):
    """A height behind the walk, or one that is no integer at all (a bool is not one), is a
    stray document; the blocks after it are still checked."""
    chain = build_chain(_StrayAfter(), SIZE, seed=1)
    chain.store.stray_height = stray
    record, version = ref(chain, 8)
    edit(chain, 8, lambda doc: doc.update(actor="someone else"))
    report = audit(chain.store)
    stray_found = ("bad-block-hash", named, f"stray document 'dup' with height {stray!r}",
                   None, None, None, None)
    tampered = ("bad-block-hash", 8, STORED_HASH, record, version, None, None)
    # In height order; a finding with no height comes last.
    expected = [stray_found, tampered] if named is not None else [tampered, stray_found]
    assert found(report) == expected
    assert report.blocks_checked == SIZE


def test_after_a_broken_block_the_walk_returns_to_the_fast_path(chain, monkeypatch):
    """Only the broken block and the next one (whose link decides which of the broken block's
    two hashes the log tree takes) go the slow path: a chain with one bad block is audited at
    the fast path's rate, not the slow one's from there on."""
    slow = []
    original = audit_module._Auditor._block
    monkeypatch.setattr(audit_module._Auditor, "_block",
                        lambda self, doc, height, add: (slow.append(height),
                                                        original(self, doc, height, add)))
    edit(chain, 5, lambda doc: doc.update(actor="someone else"))
    report = audit(chain.store, attribute_source=chain.source)
    assert [p.height for p in report.problems] == [5]
    assert slow == [5, 6]


def test_a_checkpoint_that_disagrees_is_bracketed_between_the_last_good_one_and_itself(
        chain, key):
    """Two checkpoints of the same size, one honest and one not: the honest one does not
    bracket the other (the chain may differ anywhere below that size)."""
    forged = held(chain, key, 8, root=b"\x01" * 32)
    report = audit(chain.store, verifiers=[key.public()],
                   held_checkpoints=[held(chain, key, 4), held(chain, key, 8), forged])
    assert found(report) == [
        ("inconsistent-with-checkpoint", 4, "held checkpoint #3 (size 8) signs a different log "
         "root: the chain differs from the signed one at some height in 4..7", None, None,
         None, 7)]


def test_problems_are_listed_in_height_order(chain, key):
    """A bracket from height 0 is found at the end of the walk but listed first."""
    record, version = ref(chain, 1)
    edit(chain, 1, lambda doc: doc.update(actor="someone else"))
    report = audit(chain.store, verifiers=[key.public()],
                   held_checkpoints=[held(chain, key, 5, root=b"\x01" * 32)])
    assert [(p.kind, p.height) for p in report.problems] == [
        ("inconsistent-with-checkpoint", 0), ("bad-block-hash", 1)]
    assert report.problems[0].detail.endswith("at some height in 0..4")


class _NoTipHint(MemoryStore):
    unreadable = False

    def tip_hint(self):
        if self.unreadable:
            raise OSError("the hint cannot be read")
        return super().tip_hint()


def test_an_unreadable_tip_hint_is_no_evidence_of_truncation():
    chain = build_chain(_NoTipHint(), 1, seed=1)
    chain.store.unreadable = True
    report = audit(chain.store)
    assert report.ok and found(report) == []


def test_the_offline_notes_say_what_was_not_checked(chain):
    for height in range(SIZE):
        edit(chain, height, lambda doc: doc.update(mac=f"k1:{'0' * 64}"))
    report = audit(chain.store)
    assert report.offline_note == ("attribute contents not checked: no data key; checkpoint "
                                   "signatures not checked: no public key; block "
                                   "authentication codes not checked: no writer's key")


def test_elapsed_is_the_time_the_audit_took(chain, key):
    before = time.perf_counter()
    reports = [audit(chain.store), check_consistency(chain.store, held(chain, key, 5),
                                                     [key.public()]),
               check_consistency(chain.store, "not a note", [key.public()])]
    took = time.perf_counter() - before
    for report in reports:
        assert 0 <= report.elapsed <= took


# check_consistency -------------------------------------------------------------------------

def test_consistency_with_a_checkpoint_of_the_chains_own_size(chain, key):
    report = check_consistency(chain.store, held(chain, key, SIZE), [key.public()])
    assert report.ok and report.checkpoints_checked == 1
    assert (report.size, report.root) == (SIZE, honest_root(chain).hex())


def test_consistency_names_the_first_missing_block_only(chain, key):
    for height in (5, 6, 9):
        chain.store.raw_delete(height)
    report = check_consistency(chain.store, held(chain, key, 4), [key.public()])
    assert found(report) == [("missing-block", 5, "block 5 is missing", None, None, None,
                              None)]
    assert report.size == 5 and report.root == honest_root(chain, 5).hex()


def test_consistency_with_a_checkpoint_past_the_end(chain, key):
    note = held(chain, key, SIZE)
    for height in range(8, SIZE):
        chain.store.raw_delete(height)
    report = check_consistency(chain.store, note, [key.public()])
    assert found(report) == [("truncated", 8, f"the chain has 8 blocks but the held checkpoint "
                              f"shows {SIZE}", None, None, None, SIZE - 1)]


def test_consistency_with_a_checkpoint_the_chain_does_not_extend(chain, key):
    report = check_consistency(chain.store, held(chain, key, 6, root=b"\x01" * 32),
                               [key.public()])
    assert found(report) == [("inconsistent-with-checkpoint", 0, f"the chain of size {SIZE} "
                              "does not extend the held checkpoint of size 6", None, None, None,
                              5)]


class _Shrinking(MemoryStore):
    """Loses its last block after the first walk, as if the chain changed under the check."""

    walked = False

    def iter_blocks(self, start=0, stop=None, batch=1000):
        yield from super().iter_blocks(start, stop, batch)
        if not self.walked:
            self.walked = True
            self.raw_delete(max(self._by_id))


def test_consistency_when_the_chain_changes_under_the_check(key):
    chain = build_chain(_Shrinking(), SIZE, seed=1)
    note = held(chain, key, 4)
    report = check_consistency(chain.store, note, [key.public()])
    assert [(p.kind, p.height) for p in report.problems] == [("missing-block", None)]
    assert report.problems[0].detail
