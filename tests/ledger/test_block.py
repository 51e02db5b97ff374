"""Block headers: validation, the exact field set, and the hash every verifier must agree on."""
import hashlib
from datetime import datetime, timezone

import bson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.attributes import attribute_leaf_hashes, attribute_root
from ledger.block import (HEADER_FIELDS, ZERO_HASH, BlockError, block_hash, fast_header_bytes,
                          header_bytes, header_of, make_block, make_header)
from ledger.encoding import CanonicalError, canonical
from ledger.merkle import leaf_hash

SALTS = {"blood_group": "AAAAAAAAAAAAAAAAAAAAAA==", "weight_kg": "AQEBAQEBAQEBAQEBAQEBAQ=="}
ATTRS = {"blood_group": "AB-", "weight_kg": "72.5"}


def header(**overrides):
    fields = dict(height=3, prev_hash="ab" * 32, kind="record.amended",
                  subject={"record": "PAT-000234-R12", "version": 2}, actor="act-7f3a",
                  attr_root="cd" * 32, attr_count=2,
                  timestamp=datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=timezone.utc))
    fields.update(overrides)
    return make_header(**fields)


def test_header_has_exactly_the_format_fields():
    h = header()
    assert tuple(h) == HEADER_FIELDS
    assert h["v"] == 1
    assert h["timestamp"] == "2026-03-01T12:00:00.123Z"


@pytest.mark.parametrize("overrides, message", [
    ({"kind": "Record.created"}, "kind"),
    ({"kind": "record"}, "kind"),
    ({"kind": "record.created."}, "kind"),
    ({"subject": {"record": {"nested": 1}}}, "flat"),
    ({"subject": {"version": 2.0}}, "flat"),
    ({"subject": {"ok": True}}, "flat"),
    ({"subject": ["record"]}, "dict"),
    ({"prev_hash": "AB" * 32}, "prev_hash"),
    ({"prev_hash": "ab" * 31}, "prev_hash"),
    ({"prev_hash": ZERO_HASH}, "zeros"),
    ({"height": 0}, "zeros"),
    ({"height": -1}, "height"),
    ({"height": True}, "height"),
    ({"height": 2**53}, "height"),
    ({"attr_count": -1}, "attr_count"),
    ({"actor": ""}, "actor"),
    ({"timestamp": 1700000000}, "timestamp"),
    ({"subject": {"record": "x\ud800"}}, "canonical"),
])
def test_invalid_headers_are_refused(overrides, message):
    with pytest.raises(BlockError, match=message):
        header(**overrides)


def test_genesis_links_to_zero_hash():
    h = header(height=0, prev_hash=ZERO_HASH)
    assert h["prev_hash"] == "0" * 64


def test_block_hash_is_the_rfc6962_leaf_hash_of_the_canonical_header():
    h = header()
    expected = hashlib.sha256(b"\x00" + canonical(h)).digest()
    assert block_hash(h) == expected == leaf_hash(canonical(h))


def test_every_header_field_changes_the_hash():
    h = header()
    base = block_hash(h)
    changes = {"v": 2, "height": 4, "prev_hash": "ac" * 32, "timestamp": "2026-03-01T12:00:00.124Z",
               "kind": "record.created", "subject": {"record": "PAT-000234-R12", "version": 3},
               "actor": "act-7f3b", "attr_root": "ce" * 32, "attr_count": 3}
    assert set(changes) == set(HEADER_FIELDS)
    for name, value in changes.items():
        assert block_hash({**h, name: value}) != base, name


def test_stored_document_and_header_of():
    leaves = attribute_leaf_hashes(ATTRS, SALTS)
    h = header(attr_root=attribute_root(leaves).hex(), attr_count=len(leaves))
    doc = make_block(h, leaves)
    assert doc["_id"] == doc["height"] == 3
    assert doc["attr_leaves"] == [x.hex() for x in leaves]
    assert doc["hash"] == block_hash(h).hex()
    assert header_of(doc) == h
    assert set(doc) == set(HEADER_FIELDS) | {"_id", "attr_leaves", "hash"}
    # Clinical values and salts never reach the block.
    text = repr(doc)
    assert "AB-" not in text and "72.5" not in text and SALTS["blood_group"] not in text


def test_header_of_leaves_absent_fields_absent():
    assert header_of({"height": 1, "hash": "x", "extra": 1}) == {"height": 1}


def test_hash_survives_a_bson_round_trip():
    leaves = attribute_leaf_hashes(ATTRS, SALTS)
    h = header(attr_root=attribute_root(leaves).hex(), attr_count=len(leaves))
    doc = make_block(h, leaves)
    back = bson.decode(bson.encode(doc))
    assert block_hash(header_of(back)).hex() == doc["hash"]


text = st.text(st.characters(codec="utf-8"), max_size=12)
ascii_text = st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=12)
small_int = st.integers(-(2**53) + 1, 2**53 - 1)
headers = st.fixed_dictionaries({
    "v": st.one_of(st.just(1), small_int), "height": small_int,
    "prev_hash": st.one_of(ascii_text, text), "timestamp": st.one_of(ascii_text, text),
    "kind": st.one_of(ascii_text, text),
    "subject": st.dictionaries(st.one_of(ascii_text, text), st.one_of(ascii_text, text, small_int),
                               max_size=4),
    "actor": st.one_of(ascii_text, text), "attr_root": ascii_text, "attr_count": small_int})


@settings(max_examples=1000, deadline=None)
@given(headers)
def test_fast_encoder_is_byte_identical_to_canonical(h):
    fast = fast_header_bytes(h)
    try:
        expected = canonical(h)
    except CanonicalError:
        assert fast is None
        with pytest.raises(CanonicalError):
            header_bytes(h)
        return
    assert header_bytes(h) == expected
    if fast is not None:
        assert fast == expected


@pytest.mark.parametrize("bad", [{"attr_count": 2.0}, {"height": True}, {"v": 2**53},
                                 {"height": 2**53}, {"attr_count": -(2**53)},
                                 {"subject": {"a": 1.5}}, {"subject": {1: "a"}},
                                 {"subject": {1: "a", "b": "c"}}, {"subject": {"a": 2**53}},
                                 {"subject": {"a": False}}, {"actor": b"bytes"},
                                 {"kind": None}, {"actor": "é"}, {"kind": "record\u00e9"}])
def test_fast_encoder_declines_what_it_cannot_prove(bad):
    h = {**header(), **bad}
    assert fast_header_bytes(h) is None
    try:
        expected = canonical(h)
    except CanonicalError:
        with pytest.raises(CanonicalError):
            block_hash(h)
    else:
        assert header_bytes(h) == expected


def test_missing_field_is_not_fast_encoded():
    h = header()
    del h["actor"]
    assert fast_header_bytes(h) is None
