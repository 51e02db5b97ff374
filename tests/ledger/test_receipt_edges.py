"""Receipt edges the mutation run found unguarded: base64url spelling and exact refusals.

A receipt is handed to strangers, so its reasons are part of the interface: each test pins
one branch of ledger/receipt.py that a one-token change would silently move.
"""
import pytest

from ledger.receipt import b64, make_receipt, unb64, verify_receipt

HASH = bytes(range(32))


@pytest.mark.parametrize("raw, text", [
    (b"", ""), (b"f", "Zg"), (b"fo", "Zm8"), (b"foo", "Zm9v"), (b"foob", "Zm9vYg"),
    (b"\x00\x00\x17", "AAAX"), (b"\xfb\xff", "-_8"),
])
def test_b64_is_unpadded_base64url(raw, text):
    """RFC 4648 §10 vectors without padding, one ending in X and the two url-safe letters."""
    assert b64(raw) == text


def test_unb64_reads_hashes_back():
    assert unb64(b64(HASH), "h", 32) == HASH
    assert unb64(b64(HASH * 2), "path") == HASH * 2
    assert unb64("", "path") == b""


@pytest.mark.parametrize("text, exact, message", [
    (5, None, "h is not unpadded base64url"),
    ("AB+/", None, "h is not unpadded base64url"),
    ("A", None, "h is not unpadded base64url"),
    (b64(HASH) + "AA", None, "h is not unpadded base64url"),
    (b64(HASH)[:-1] + "B", None, "h is not canonical base64url"),
    ("AAAA", None, "h is not a list of 32-byte hash(es)"),
    (b64(HASH[:7]), None, "h is not a list of 32-byte hash(es)"),  # 10 letters, 2 pad
    (b64(HASH[:31]), 32, "h is not one 32-byte hash(es)"),
    (b64(HASH * 2), 32, "h is not one 32-byte hash(es)"),
])
def test_unb64_refuses_with_the_reason(text, exact, message):
    with pytest.raises(ValueError) as caught:
        unb64(text, "h", exact)
    assert str(caught.value) == message


@pytest.mark.parametrize("receipt", [None, {}, {"block": {}}])
def test_what_is_not_a_receipt_names_the_fields(receipt):
    assert verify_receipt(receipt, []) == (False, "the receipt must be an object with exactly "
                                           "the fields block, checkpoint, disclosed, format, "
                                           "inclusion")


def test_text_that_is_not_json_is_named():
    """A str is the receipt's text, read by the strict rule (docs/ledger.md §2)."""
    assert verify_receipt("junk", []) == (
        False, "not-json: Expecting value: line 1 column 1 (char 0)")


def test_an_unknown_format_is_named():
    assert verify_receipt({"format": "medledger-receipt/3"}, []) == (
        False, "unknown format 'medledger-receipt/3'")


@pytest.mark.parametrize("where, reason", [
    (("block", "prev_hash"), "block.prev_hash is not unpadded base64url"),
    (("block", "attr_root"), "block.attr_root is not unpadded base64url"),
    (("inclusion",), "inclusion is not unpadded base64url"),
])
def test_an_undecodable_receipt_names_the_field(memory_chain, key, where, reason):
    note = memory_chain.ledger.checkpoint(key, "medledger.test/log")
    receipt = make_receipt(memory_chain.ledger, 5, note)
    assert verify_receipt(receipt, key.public())[0]
    target = receipt
    for name in where[:-1]:
        target = target[name]
    target[where[-1]] = "~"
    assert verify_receipt(receipt, key.public()) == (
        False, f"block header or inclusion cannot be decoded: {reason}")


def test_structural_refusals_of_a_signed_receipt(memory_chain, key):
    note = memory_chain.ledger.checkpoint(key, "medledger.test/log")
    doc = memory_chain.store.get_block(5)
    attributes, salts = memory_chain.source(doc)
    name = sorted(attributes)[0]
    receipt = make_receipt(memory_chain.ledger, 5, note, {name: (attributes[name], salts[name])})
    other = make_receipt(memory_chain.ledger, 6, note)
    for change, reason in [
            (("inclusion", other["inclusion"]),
             "inclusion proof does not lead to the checkpoint root"),
            (("disclosed", {}), "disclosed must be a list"),
            (("disclosed", receipt["disclosed"] * 2), "an attribute is disclosed twice")]:
        assert verify_receipt({**receipt, change[0]: change[1]}, key.public()) == (False, reason)
