"""Block header edges the mutation run found unguarded: exact refusals, bounds, the fast path.

Each test pins a boundary or a message that a one-token change to ledger/block.py would move.
"""
from datetime import datetime, timezone

import pytest

from ledger.block import (ROTATION_KIND, ZERO_HASH, BlockError, block_hash, fast_header_bytes,
                          header_bytes, make_header)
from ledger.encoding import MAX_SAFE_INT, canonical


def header(**overrides):
    fields = dict(height=3, prev_hash="ab" * 32, kind="record.amended",
                  subject={"record": "PAT-000234-R12", "version": 2}, actor="act-7f3a",
                  attr_root="cd" * 32, attr_count=2,
                  timestamp=datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc))
    fields.update(overrides)
    return make_header(**fields)


@pytest.mark.parametrize("overrides, message", [
    ({"subject": ["record"]}, "subject must be a dict"),
    ({"subject": {"": "x"}}, "subject keys must be non-empty strings, not ''"),
    ({"subject": {1: "x"}}, "subject keys must be non-empty strings, not 1"),
    ({"subject": {"version": 2.0}},
     "subject.version must be a str or an int (the subject is flat)"),
    ({"height": 0}, "prev_hash is all zeros exactly at height 0"),
    ({"actor": ""}, "actor must be a non-empty pseudonymous id string"),
    ({"actor": 7}, "actor must be a non-empty pseudonymous id string"),
    ({"attr_count": -1}, "attr_count must be a non-negative int"),
    ({"attr_count": False}, "attr_count must be a non-negative int"),
    ({"timestamp": None}, "timestamp must be a datetime or an RFC 3339 string"),
    ({"height": MAX_SAFE_INT + 1},
     f"height must be a non-negative safe integer, not {MAX_SAFE_INT + 1}"),
    ({"attr_root": "ab" * 31}, "attr_root must be 64 lowercase hex digits"),
    ({"prev_hash": "AB" * 32}, "prev_hash must be 64 lowercase hex digits"),
    ({"kind": 5}, "kind 5 does not match ^[a-z]+(\\.[a-z_]+)+$"),
])
def test_refusals_say_exactly_what_is_wrong(overrides, message):
    with pytest.raises(BlockError) as caught:
        header(**overrides)
    assert str(caught.value) == message


def test_a_header_outside_the_canonical_domain_is_refused_as_such():
    with pytest.raises(BlockError) as caught:
        header(subject={"record": "x\ud800"})
    assert str(caught.value).startswith("header is outside the canonical domain: ")


def test_headers_at_the_edges_of_the_domain_are_accepted():
    assert header(height=MAX_SAFE_INT)["height"] == MAX_SAFE_INT
    assert header(attr_count=0)["attr_count"] == 0
    assert header(timestamp="2026-01-01T00:00:00Z")["timestamp"] == "2026-01-01T00:00:00Z"
    assert header(height=0, prev_hash=ZERO_HASH)["prev_hash"] == "0" * 64


def test_the_rotation_kind_is_the_one_kind_without_a_dot():
    assert ROTATION_KIND == "checkpoint"
    assert header(kind="checkpoint")["kind"] == "checkpoint"
    with pytest.raises(BlockError):
        header(kind="checkpoints")


def test_the_subject_is_copied_not_shared():
    subject = {"record": "PAT-1-R1"}
    h = header(subject=subject)
    subject["record"] = "PAT-2-R1"
    assert h["subject"] == {"record": "PAT-1-R1"}


def test_the_fast_path_answers_for_an_ordinary_header():
    h = header()
    assert fast_header_bytes(h) == canonical(h)


@pytest.mark.parametrize("bound", [MAX_SAFE_INT, -MAX_SAFE_INT])
def test_the_fast_path_answers_at_both_safe_integer_bounds(bound):
    """Every exact int in range is the fast path's to encode, the bounds included."""
    h = {**header(), "v": bound, "height": bound, "attr_count": bound,
         "subject": {"record": "PAT-1-R1", "n": bound}}
    assert fast_header_bytes(h) == canonical(h)


def test_an_extra_field_is_hashed_by_the_generic_encoder():
    """A dict that is not exactly a header must not be encoded as if it were one."""
    h = {**header(), "extra": "x"}
    assert header_bytes(h) == canonical(h)
    assert b'"extra":"x"' in header_bytes(h)
    assert block_hash(h) != block_hash(header())
