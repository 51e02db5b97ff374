"""Receipt edges the mutation run found unguarded: base64url spelling and exact refusals.

A receipt is handed to strangers, so its reasons are part of the interface: each test pins
one branch of ledger/receipt.py that a one-token change would silently move.
"""
import pytest

from ledger.receipt import b64, make_receipt, receipt_block_hash, unb64, verify_receipt

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


def test_each_refusal_of_a_disclosed_attribute_names_it(memory_chain, key):
    """A disclosed item with a field too many, a bad name or an index out of range, a proof
    that does not decode or does not lead to the sealed root: each by its reason."""
    note = memory_chain.ledger.checkpoint(key, "medledger.test/log")
    doc = memory_chain.store.get_block(5)
    attributes, salts = memory_chain.source(doc)
    name = sorted(attributes)[0]
    receipt = make_receipt(memory_chain.ledger, 5, note, {name: (attributes[name], salts[name])})
    item, count = receipt["disclosed"][0], receipt["block"]["attr_count"]
    ok, summary = verify_receipt(receipt, key.public())
    assert ok and summary.endswith(f"disclosed attributes: {name}")
    assert verify_receipt(make_receipt(memory_chain.ledger, 5, note), key.public())[1] \
        .endswith("disclosed attributes: none")
    for change, reason in [
            ({"extra": 1},
             "unknown-field: a disclosed attribute has the unknown field(s) 'extra'"),
            ({"name": 7}, "disclosed attribute 7 has a bad name or index"),
            ({"index": count}, f"disclosed attribute {name!r} has a bad name or index"),
            ({"index": "0"}, f"disclosed attribute {name!r} has a bad name or index"),
            ({"proof": "~"}, f"proof of attribute {name!r} is not unpadded base64url"),
            ({"value": "something else"},
             f"disclosed attribute {name!r} does not match the sealed attribute root")]:
        changed = {**receipt, "disclosed": [{**item, **change}]}
        assert verify_receipt(changed, key.public()) == (False, reason), change
    nfd = {**receipt, "disclosed": [{**item, "value": "Cafe\u0301"}]}
    assert verify_receipt(nfd, key.public())[1].startswith("not-nfc")
    with pytest.raises(ValueError, match="^malformed receipt: "):
        receipt_block_hash({"format": receipt["format"], "block": {}})


def test_a_receipt_names_every_attribute_it_discloses(memory_chain, key):
    note = memory_chain.ledger.checkpoint(key, "medledger.test/log")
    height = next(h for h in range(40) if len(memory_chain.source(
        memory_chain.store.get_block(h))[0]) >= 2)
    attributes, salts = memory_chain.source(memory_chain.store.get_block(height))
    first, second = sorted(attributes)[:2]
    receipt = make_receipt(memory_chain.ledger, height, note,
                           {name: (attributes[name], salts[name]) for name in (first, second)})
    ok, summary = verify_receipt(receipt, key.public())
    assert ok and summary.endswith(f"disclosed attributes: {first}, {second}")
