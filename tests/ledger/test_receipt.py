"""Receipts verify offline, and any change to any byte of one makes it fail with a reason.

Format 2 (compact, the default) and format 1 (receipts already handed out) alike.
"""
import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from ledger.chain import Ledger
from ledger.encoding import canonical
from ledger.notes import SigningKey, TrustFile
from ledger.store import MemoryStore
from ledger.receipt import (FORMAT_V1, RECEIPT_FORMAT, ReceiptError, make_receipt,
                            make_receipt_v1, receipt_block_hash, verify_receipt)

ORIGIN = "medledger.test/log"


@pytest.fixture(params=[make_receipt, make_receipt_v1], ids=["format2", "format1"])
def receipt_setup(request, memory_chain, key):
    note = memory_chain.ledger.checkpoint(key, ORIGIN)
    doc = memory_chain.store.get_block(23)
    attributes, salts = memory_chain.source(doc)
    names = sorted(attributes)[:2]
    disclose = {name: (attributes[name], salts[name]) for name in names}
    receipt = request.param(memory_chain.ledger, 23, note, disclose)
    return memory_chain, key, note, receipt, names


def _raw(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_compact_receipt_shape_and_verification(memory_chain, key):
    note = memory_chain.ledger.checkpoint(key, ORIGIN)
    doc = memory_chain.store.get_block(23)
    attributes, salts = memory_chain.source(doc)
    name = sorted(attributes)[0]
    receipt = make_receipt(memory_chain.ledger, 23, note, {name: (attributes[name], salts[name])})
    assert receipt["format"] == RECEIPT_FORMAT == "medledger-receipt/2"
    assert set(receipt) == {"format", "block", "checkpoint", "inclusion", "disclosed"}
    # Nothing derivable: no block hash, no leaves, no index/size beside the proof.
    assert "hash" not in receipt["block"] and "attr_leaves" not in receipt["block"]
    assert _raw(receipt["block"]["prev_hash"]).hex() == doc["prev_hash"]
    assert _raw(receipt["block"]["attr_root"]).hex() == doc["attr_root"]
    path = _raw(receipt["inclusion"])
    assert [path[i:i + 32] for i in range(0, len(path), 32)] == \
        memory_chain.ledger.inclusion_proof(23, 40)
    assert "=" not in json.dumps(receipt["inclusion"])
    ok, reason = verify_receipt(json.loads(json.dumps(receipt)), [key.public()])
    assert ok, reason
    assert "block 23" in reason and doc["hash"] in reason and "size 40" in reason
    assert receipt_block_hash(receipt) == doc["hash"]


def test_compact_receipt_is_smaller_and_carries_the_same_proof(memory_chain, key):
    note = memory_chain.ledger.checkpoint(key, ORIGIN)
    new = make_receipt(memory_chain.ledger, 23, note)
    old = make_receipt_v1(memory_chain.ledger, 23, note)
    assert len(canonical(new)) < 0.6 * len(canonical(old))
    assert receipt_block_hash(new) == receipt_block_hash(old) == old["block"]["hash"]


def test_format_1_receipts_still_verify(memory_chain, key):
    note = memory_chain.ledger.checkpoint(key, ORIGIN)
    receipt = make_receipt_v1(memory_chain.ledger, 23, note)
    assert receipt["format"] == FORMAT_V1 and receipt["inclusion"]["size"] == 40
    ok, reason = verify_receipt(json.loads(json.dumps(receipt)), [key.public()])
    assert ok and "block 23" in reason
    receipt["format"] = "medledger-receipt/3"
    assert verify_receipt(receipt, [key.public()]) == (False,
                                                       "unknown format 'medledger-receipt/3'")


def test_receipt_without_disclosure(memory_chain, key):
    note = memory_chain.ledger.checkpoint(key, ORIGIN)
    for height in (0, 1, 31, 39):
        receipt = make_receipt(memory_chain.ledger, height, note)
        assert receipt["disclosed"] == []
        assert verify_receipt(receipt, key.public())[0]


def test_cannot_make_impossible_receipts(memory_chain, key):
    note = memory_chain.ledger.checkpoint(key, ORIGIN)
    with pytest.raises(ReceiptError, match="no block"):
        make_receipt(memory_chain.ledger, 99, note)
    doc = memory_chain.store.get_block(5)
    name = sorted(memory_chain.source(doc)[0])[0]
    with pytest.raises(ReceiptError, match="not in the block"):
        make_receipt(memory_chain.ledger, 5, note, {name: ("made up", "AAAAAAAAAAAAAAAAAAAAAA==")})
    memory_chain.append(__import__("random").Random(1), 40)
    with pytest.raises(ReceiptError, match="not covered"):
        make_receipt(memory_chain.ledger, 40, note)


def test_wrong_key_or_trust_range(receipt_setup, other_key):
    _, key, _, receipt, _ = receipt_setup
    ok, reason = verify_receipt(receipt, [other_key.public()])
    assert not ok and "checkpoint signature" in reason
    trust = TrustFile()
    trust.add(key.public(), 0)
    assert verify_receipt(receipt, trust)[0]
    trust.add(other_key.public(), 10)  # key retired before size 40
    ok, reason = verify_receipt(receipt, trust)
    assert not ok and "not trusted for size 40" in reason


def _leaves(value, path=()):
    """Every scalar in a JSON value, with its path."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))
    else:
        yield path, value


def _mutated(value):
    if isinstance(value, bool) or value is None:
        return "x"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1") if value else "x"
    return None


def _set(receipt, path, new):
    tampered = json.loads(json.dumps(receipt))
    target = tampered
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return tampered


def test_changing_any_value_fails_with_a_reason(receipt_setup):
    _, key, _, receipt, _ = receipt_setup
    count = 0
    for path, value in _leaves(receipt):
        ok, reason = verify_receipt(_set(receipt, path, _mutated(value)), [key.public()])
        assert not ok and reason, path
        count += 1
    assert count > (20 if receipt["format"] == RECEIPT_FORMAT else 30)
    # Structural edits too: a dropped proof step, an extra field, a dropped disclosure field.
    compact = receipt["format"] == RECEIPT_FORMAT
    for edit in ((lambda r: r.__setitem__("inclusion", r["inclusion"][:-43])) if compact
                 else (lambda r: r["inclusion"]["proof"].pop()),
                 (lambda r: r["disclosed"].append(dict(r["disclosed"][0]))) if compact
                 else (lambda r: r.pop("disclosed")),
                 lambda r: r["block"].__setitem__("extra", 1),
                 lambda r: r["disclosed"][0].pop("salt"),
                 lambda r: r.pop("checkpoint")):
        tampered = json.loads(json.dumps(receipt))
        edit(tampered)
        assert not verify_receipt(tampered, [key.public()])[0]


def test_flipping_any_byte_of_the_file_fails(receipt_setup):
    _, key, _, receipt, _ = receipt_setup
    data = canonical(receipt)
    for i in range(len(data)):
        for flip in (0x01, 0x20):
            tampered = bytearray(data)
            tampered[i] ^= flip
            try:
                parsed = json.loads(bytes(tampered).decode("utf-8"))
            except ValueError:
                continue  # no longer a JSON document: rejected before verification
            ok, reason = verify_receipt(parsed, [key.public()])
            assert not ok and reason, (i, flip, bytes(tampered[max(0, i - 20):i + 20]))


class _ExampleClock:
    """docs/ledger.md §12: 2026-03-01T09:30:00Z + 1.25 s per call."""

    def __init__(self):
        self.now = datetime(2026, 3, 1, 9, 30, tzinfo=timezone.utc)

    def __call__(self):
        self.now += timedelta(milliseconds=1250)
        return self.now


DOCUMENTED = {  # docs/ledger.md §12, the format-2 test vector for outside implementers
    "format": "medledger-receipt/2",
    "block": {"v": 1, "height": 0, "prev_hash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
              "timestamp": "2026-03-01T09:30:01.250Z", "kind": "record.created",
              "subject": {"record": "PAT-000234-R12", "version": 1}, "actor": "act-7f3a",
              "attr_root": "eXTt-_lHbdb90_eA7WqT7QG5CeukO-xMAz4EwlUMJnk", "attr_count": 2},
    "checkpoint": "medledger.example/log\n3\nn0imLme2cM9l8hB13oh4g7zj6+L8jaWAHl1pO+OQ/Vw=\n"
                  "timestamp 1772357405000\n\n— medledger.example xFtFUTVrD9Bv+7tR2Bfm7z9uKfGT4"
                  "d9el/RIgipPdW3zmmqmu1AHkpC+23m4qAteyStbg8aPZF+wuoYNP0H2j/CopwE=\n",
    "inclusion": "i5hCnQvar2zE48jm9mYAm5mSe7awo8YDOme32F7NG-CxJDkCd0pvIDPkpI4wEHFqqWVhvzy0JCgzHbjo"
                 "D5mYsA",
    "disclosed": [{"name": "blood_group", "value": "AB-", "salt": "EBESExQVFhcYGRobHB0eHw==",
                   "index": 0, "proof": "cTiFXK2j6UjsyfdZI5Kn4tE-bnVylxykAQ6zaI-axmQ"}]}


def test_the_documented_example_is_what_the_code_makes_and_verifies():
    key = SigningKey.from_seed("medledger.example", bytes(range(32)))
    ledger = Ledger(MemoryStore(), clock=_ExampleClock())
    attrs = {"weight_kg": "72.5", "blood_group": "AB-"}
    salts = {"weight_kg": "AAECAwQFBgcICQoLDA0ODw==", "blood_group": "EBESExQVFhcYGRobHB0eHw=="}
    ledger.append("record.created", {"record": "PAT-000234-R12", "version": 1}, "act-7f3a",
                  attrs, salts)
    ledger.append("access.requested", {"request": "REQ-0001"}, "act-19c2",
                  {"reason": "second opinion"}, {"reason": "ICIiIyQlJicoKSorLC0uLw=="})
    ledger.append("record.read", {"record": "PAT-000234-R12", "version": 1}, "act-19c2", {}, {})
    note = ledger.checkpoint(key, "medledger.example/log")
    receipt = make_receipt(ledger, 0, note, {"blood_group": ("AB-", salts["blood_group"])})
    assert receipt == DOCUMENTED and len(canonical(receipt)) == 803
    assert verify_receipt(DOCUMENTED, key.public()) == (True, (
        "block 0 (record.created, hash 2156e1537f80df3c2125fcea68d75ef542ad4536fba4090944f952586bc"
        "70727) is in the log of size 3; disclosed attributes: blood_group"))


@pytest.mark.parametrize("field", ["inclusion", "prev_hash", "proof"])
def test_only_canonical_unpadded_base64url_is_accepted(field):
    key = SigningKey.from_seed("medledger.example", bytes(range(32)))

    def where(r):
        return (r, "inclusion") if field == "inclusion" else \
            (r["block"], field) if field == "prev_hash" else (r["disclosed"][0], "proof")
    text = where(DOCUMENTED)[0][where(DOCUMENTED)[1]]
    last = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".index(text[-1])
    same_bytes = text[:-1] + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[
        last | 1]  # a low bit that decoding drops: same bytes, not the canonical text
    assert _raw(same_bytes) == _raw(text) and same_bytes != text
    standard = base64.b64encode(_raw(text)).decode()  # padded, maybe '+' or '/'
    for bad in (same_bytes, standard, text + "A", text.replace(text[0], "~", 1)):
        tampered = json.loads(json.dumps(DOCUMENTED))
        target, name = where(tampered)
        target[name] = bad
        ok, reason = verify_receipt(tampered, key.public())
        assert not ok and ("base64url" in reason or "32-byte" in reason), (bad, reason)
