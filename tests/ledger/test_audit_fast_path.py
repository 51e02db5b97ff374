"""The audit's fast path for clean blocks reports exactly what the full per-block check does.

The audit checks a block that passes every structural check with a lean path (_fast_block:
one header encoding, the hash, the link, the attribute leaves and their root) and falls back
to _Auditor._block, which names each problem, for anything else. These tests prove the two
paths agree: the same report, problem for problem, over generated tampering, with the fast
path on and with it switched off; and the fast path's leaf parser accepts exactly what the
per-leaf parser of the slow path accepts.
"""
import copy
import random
from datetime import datetime, timedelta, timezone
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ledger.audit as audit_module
from ledger.audit import _parse_hash, _parse_leaves, audit
from ledger.block import HEADER_FIELDS, block_hash, header_of
from ledger.chain import Ledger
from ledger.notes import SigningKey
from ledger.store import MemoryStore

KEY = SigningKey.from_seed("medledger-fast-path", bytes(range(3, 35)))
ORIGIN = "medledger.test/log"
BLOCKS = 12
SALT = "AAECAwQFBgcICQoLDA0ODw=="


class _Base:
    """A small chain of blocks with 1-10 attributes each, its app data and a checkpoint taken
    half way (stored) and at the end (stored and held). Built once; tests edit deep copies."""

    def __init__(self):
        rng = random.Random(7)
        clock = iter(datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=i)
                     for i in range(10**6))
        self.store = MemoryStore()
        ledger = Ledger(self.store, clock=lambda: next(clock))
        self.data = {}
        for i in range(BLOCKS):
            names = rng.sample(["blood_group", "dose_mg", "note", "sex", "ward", "code",
                                "flag", "dob", "result", "unit", "allergy"], rng.randint(1, 10))
            attributes = {name: rng.choice(["A+", "72.5", "Müller", 7, True, None, ["a", 1]])
                          for name in names}
            salts = {name: SALT for name in names}
            subject = {"record": f"PAT-{i:06d}-R1", "version": rng.randint(1, 3)}
            ledger.append("record.created", subject, "act-1", attributes, salts)
            self.data[(subject["record"], subject["version"])] = (attributes, salts)
            if i == BLOCKS // 2:
                ledger.checkpoint(KEY, ORIGIN)
        self.held = ledger.checkpoint(KEY, ORIGIN)

    def source(self, doc):
        subject = doc.get("subject")
        if not isinstance(subject, dict):
            return None
        return self.data.get((subject.get("record"), subject.get("version")))


BASE = _Base()
HELD = BASE.held


def _copy_chain():
    """A fresh store holding deep copies of the base chain's blocks and checkpoints."""
    store = MemoryStore()
    for doc in BASE.store.iter_blocks():
        store.insert_block(copy.deepcopy(doc))
    store.raw_checkpoints().update(copy.deepcopy(BASE.store.raw_checkpoints()))
    store.raw_meta().update(copy.deepcopy(BASE.store.raw_meta()))
    return store


def _report(store, fast: bool, hooks: bool):
    """The audit's report as a comparable dict (elapsed time dropped)."""
    options = {"verifiers": [KEY.public()], "held_checkpoints": [HELD]}
    if hooks:
        options["attribute_source"] = BASE.source
        options["document_check"] = lambda doc: []
    if fast:
        report = audit(store, **options)
    else:
        with mock.patch.object(audit_module, "_fast_block", lambda doc, height, prev_ok: None):
            report = audit(store, **options)
    result = report.to_dict()
    result.pop("elapsed")
    return result, report.lines()


odd_values = st.one_of(
    st.text(max_size=6),
    st.sampled_from(['a"b', "a\\b", "tab\t", "\x00", "\x7f", "é", "e\u0301", "\ud800",
                     "0" * 64, "AB" * 32, "ab " * 21 + "a", ""]),
    st.integers(), st.integers(2**53 - 3, 2**53 + 3), st.floats(allow_nan=False),
    st.booleans(), st.none(), st.binary(max_size=4),
    st.lists(st.one_of(st.integers(), st.text(max_size=3)), max_size=3),
    st.dictionaries(st.one_of(st.text(max_size=3), st.integers()),
                    st.one_of(st.integers(), st.text(max_size=3)), max_size=3),
)
FIELDS = HEADER_FIELDS + ("_id", "hash", "attr_leaves")


@st.composite
def mutations(draw):
    """One edit an attacker with write access could make to one stored block."""
    height = draw(st.integers(0, BLOCKS - 1))
    kind = draw(st.sampled_from(["set", "delete", "borrow", "upper", "nudge", "leaf", "subject",
                                 "drop-block", "rehash", "rehash-borrow", "leaf-hex",
                                 "swap-leaves"]))
    field = draw(st.sampled_from(FIELDS))
    value = draw(odd_values)
    other = draw(st.integers(0, BLOCKS - 1))
    return height, kind, field, value, other


def _apply(store, mutation):
    height, kind, field, value, other = mutation
    doc = store.get_block(height)
    if doc is None:
        return
    if kind == "set":
        doc[field] = value
    elif kind == "delete":
        doc.pop(field, None)
    elif kind == "borrow":  # a plausible value: the same field of another block
        source = store.get_block(other)
        if source is not None and field in source:
            doc[field] = copy.deepcopy(source[field])
    elif kind == "upper":
        if isinstance(doc.get(field), str):
            doc[field] = doc[field].upper()
        elif isinstance(doc.get(field), list):
            doc[field] = [x.upper() if isinstance(x, str) else x for x in doc[field]]
    elif kind == "nudge":
        current = doc.get(field)
        if isinstance(current, int) and not isinstance(current, bool):
            doc[field] = [current + 1, float(current), bool(current), current - 1][other % 4]
    elif kind == "leaf":
        leaves = doc.get("attr_leaves")
        if isinstance(leaves, list) and leaves:
            leaves[other % len(leaves)] = value
    elif kind == "subject":
        subject = doc.get("subject")
        if isinstance(subject, dict):
            subject[value if isinstance(value, (str, int)) else "extra"] = value
    elif kind == "drop-block":
        store.raw_delete(height)
    elif kind == "leaf-hex":  # a well-formed leaf hash that is not the sealed one
        leaves = doc.get("attr_leaves")
        if isinstance(leaves, list) and leaves:
            leaves[other % len(leaves)] = f"{other:064x}"
    elif kind == "swap-leaves":
        leaves = doc.get("attr_leaves")
        if isinstance(leaves, list) and len(leaves) > 1:
            leaves[0], leaves[-1] = leaves[-1], leaves[0]
    elif kind in ("rehash", "rehash-borrow"):  # edit a header field and recompute the hash
        if kind == "rehash-borrow":
            source = store.get_block(other)
            if source is not None and field in source and field in HEADER_FIELDS:
                doc[field] = copy.deepcopy(source[field])
        elif field in HEADER_FIELDS:
            doc[field] = value
        try:
            doc["hash"] = block_hash(header_of(doc)).hex()
        except (ValueError, TypeError):
            pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutations(), min_size=1, max_size=3), st.booleans())
def test_fast_and_full_checks_give_the_same_report(edits, hooks):
    store = _copy_chain()
    for edit in sorted(edits, key=lambda e: e[1] != "drop-block"):  # by _id, before edits
        _apply(store, edit)
    assert _report(store, fast=True, hooks=hooks) == _report(store, fast=False, hooks=hooks)


def test_untouched_chain_takes_the_fast_path_and_agrees():
    store = _copy_chain()
    calls = []

    def spy(doc, height, prev_ok):
        result = fast(doc, height, prev_ok)
        calls.append(result is not None)
        return result

    fast = audit_module._fast_block
    with mock.patch.object(audit_module, "_fast_block", spy):
        fast_report = _report(store, fast=True, hooks=True)
    assert calls == [True] * BLOCKS
    assert fast_report == _report(store, fast=False, hooks=True)
    assert fast_report[0]["ok"] and fast_report[0]["checkpoints_checked"] == 3


hex_like = st.one_of(
    st.binary(min_size=32, max_size=32).map(bytes.hex),
    st.binary(min_size=32, max_size=32).map(lambda b: b.hex().upper()),
    st.binary(min_size=31, max_size=33).map(bytes.hex),
    st.binary(min_size=32, max_size=32).map(lambda b: " ".join(f"{x:02x}" for x in b)),
    st.binary(min_size=32, max_size=32).map(lambda b: b.hex()[:63] + "g"),
    st.binary(min_size=32, max_size=32).map(lambda b: b.hex().encode()),
    st.text(max_size=70), st.integers(), st.none(),
)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.lists(hex_like, max_size=6),
                 st.lists(st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=12),
                 st.tuples(hex_like), st.text(max_size=5), st.none()))
def test_leaf_parser_accepts_exactly_what_the_per_leaf_parser_accepts(raw):
    parsed = _parse_leaves(raw)
    if isinstance(raw, list) and all(_parse_hash(x) is not None for x in raw):
        assert parsed == [_parse_hash(x) for x in raw]
    else:
        assert parsed is None


def _chain_with_attributes():
    store = _copy_chain()
    return store, store.get_block(5)


def test_tampered_values_of_the_wrong_type_are_reported_not_raised():
    """Unhashable or missing link fields used to crash the audit with TypeError/KeyError."""
    cases = [("prev_hash", ["x"]), ("prev_hash", {"a": 1}), ("hash", ["x"]), ("hash", None)]
    for field, value in cases:
        store, doc = _chain_with_attributes()
        doc[field] = value
        report = audit(store)
        assert ("bad-block-hash", 5) in [(p.kind, p.height) for p in report.problems], field
    store, doc = _chain_with_attributes()
    del doc["hash"]
    assert [(p.kind, p.height) for p in audit(store).problems] == [("bad-block-hash", 5)]
    store, doc = _chain_with_attributes()
    doc["hash"], doc["actor"] = ["x"], None  # nothing left to link block 6 to
    kinds = [(p.kind, p.height) for p in audit(store).problems]
    assert kinds == [("bad-block-hash", 5), ("broken-link", 6)]


def test_leaf_hash_with_whitespace_is_not_accepted_by_the_fast_path():
    """bytes.fromhex reads "ab cd ..." as the same bytes; the stored list must still be hex."""
    store, doc = _chain_with_attributes()
    leaf = doc["attr_leaves"][0]
    doc["attr_leaves"][0] = " ".join(leaf[i:i + 2] for i in range(0, 64, 2))
    report = audit(store)
    assert [(p.kind, p.height) for p in report.problems] == [("bad-attr-root", 5)]
