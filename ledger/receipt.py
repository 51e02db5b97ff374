"""Receipts: a self-contained proof that one event is in the signed log.

A receipt carries the block header, a signed checkpoint, the inclusion proof of the block hash
in that checkpoint's tree, and optionally some attributes disclosed with their salts and
attribute-tree proofs. Anyone holding the public key can check it with no database: nothing in
it is trusted until it hashes up to the signed root.

Format 2 (the default) is compact: hashes are unpadded base64url of the raw 32 bytes, a proof
is its hashes concatenated into one such string, and nothing derivable is carried (the block
hash, the inclusion index and size, the attribute leaves). Format 1 receipts already handed out
still verify (`ledger.receipt_v1`). Verification is strict (exact fields, canonical base64url,
format version), so any change to any value in a receipt makes it fail with a reason.
"""
import base64
import re

from ledger.attributes import verify_attribute
from ledger.audit import Trust
from ledger.block import HEADER_FIELDS, block_hash, header_of
from ledger.encoding import CanonicalError
from ledger.merkle import verify_inclusion_hash
from ledger.notes import NoteError
from ledger.receipt_v1 import (FORMAT_V1, ReceiptError, check_envelope, check_v1,
                               fields_reason, is_int, make_receipt_v1, note_checkpoint,
                               receipt_parts)
from ledger.strict import StrictError, check_nfc, read_json

__all__ = ["RECEIPT_FORMAT", "FORMAT_V1", "ReceiptError", "make_receipt", "make_receipt_v1",
           "verify_receipt", "receipt_block_hash", "b64", "unb64"]

RECEIPT_FORMAT = "medledger-receipt/2"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_HASHED = ("prev_hash", "attr_root")
"""Header fields that are hex in the header and base64url in a format-2 receipt."""
_TOP = {"format", "block", "checkpoint", "inclusion", "disclosed"}
_BLOCK = set(HEADER_FIELDS)
_DISCLOSED = {"name", "value", "salt", "index", "proof"}


def b64(raw: bytes) -> str:
    """Unpadded base64url (RFC 4648 §5) of raw bytes."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64(text, what: str, exact: int | None = None) -> bytes:
    """The 32-byte hashes' raw bytes; ValueError unless `text` is canonical unpadded base64url
    of a multiple of 32 bytes (exactly `exact` bytes if given)."""
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError(f"{what} is not unpadded base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64(raw) != text:
        raise ValueError(f"{what} is not canonical base64url")
    if len(raw) % 32 or (exact is not None and len(raw) != exact):
        raise ValueError(f"{what} is not {'one' if exact else 'a list of'} 32-byte hash(es)")
    return raw


def _split(raw: bytes) -> list[bytes]:
    return [raw[i:i + 32] for i in range(0, len(raw), 32)]


def make_receipt(ledger, height: int, checkpoint_note: str,
                 disclose: dict | None = None) -> dict:
    """A JSON-able format-2 receipt for block `height` under `checkpoint_note`.

    disclose: {name: (value, salt)} to reveal; each attribute is found among the block's
    stored leaf hashes by its own leaf hash, so the ledger needs no other attribute.
    """
    doc, _, proof, disclosed = receipt_parts(ledger, height, checkpoint_note, disclose)
    block = header_of(doc)
    for field in _HASHED:
        block[field] = b64(bytes.fromhex(block[field]))
    return {"format": RECEIPT_FORMAT, "block": block, "checkpoint": checkpoint_note,
            "inclusion": b64(b"".join(proof)),
            "disclosed": [{"name": name, "value": value, "salt": salt, "index": index,
                           "proof": b64(b"".join(path))}
                          for name, value, salt, index, path in disclosed]}


def _header(block) -> dict:
    """The block header as sealed (hex hashes) from a format-2 receipt's block."""
    header = header_of(block)
    for field in _HASHED:
        header[field] = unb64(block[field], f"block.{field}", 32).hex()
    return header


def _check(receipt, trust: Trust) -> str | None:
    """None if the format-2 receipt is valid, else the reason."""
    reason, cp = check_envelope(receipt, trust, _BLOCK)
    if reason:
        return reason
    block = receipt["block"]
    try:
        header = _header(block)
        path = _split(unb64(receipt["inclusion"], "inclusion"))
        computed = block_hash(header)
    except (CanonicalError, TypeError, ValueError) as e:
        return f"block header or inclusion cannot be decoded: {e}"
    if not verify_inclusion_hash(computed, block["height"], cp.size, path, cp.root):
        return "inclusion proof does not lead to the checkpoint root"
    disclosed = receipt["disclosed"]
    if not isinstance(disclosed, list):
        return "disclosed must be a list"
    attr_root = bytes.fromhex(header["attr_root"])
    names = [item.get("name") if isinstance(item, dict) else None for item in disclosed]
    if len(set(map(repr, names))) != len(names):
        return "an attribute is disclosed twice"
    for item in disclosed:
        reason = _check_disclosed(item, block["attr_count"], attr_root)
        if reason:
            return reason
    return None


def _check_disclosed(item, count: int, attr_root: bytes) -> str | None:
    reason = fields_reason(item, _DISCLOSED, "a disclosed attribute")
    if reason:
        return reason
    name, index = item["name"], item["index"]
    if not isinstance(name, str) or not is_int(index) or not 0 <= index < count:
        return f"disclosed attribute {name!r} has a bad name or index"
    try:
        proof = _split(unb64(item["proof"], f"proof of attribute {name!r}"))
    except ValueError as e:
        return str(e)
    if not verify_attribute(name, item["value"], item["salt"], index, count, proof, attr_root):
        return f"disclosed attribute {name!r} does not match the sealed attribute root"
    return None


def receipt_block_hash(receipt) -> str:
    """The hex block hash (the log leaf hash) a receipt proves, of either format; ValueError if
    its header cannot be read. Call verify_receipt first: this trusts nothing it computes."""
    try:
        block = receipt["block"]
        if receipt["format"] == FORMAT_V1:
            return block_hash(header_of(block)).hex()
        return block_hash(_header(block)).hex()
    except (CanonicalError, TypeError, KeyError, AttributeError) as e:
        raise ValueError(f"malformed receipt: {e}") from None


def verify_receipt(receipt, verifiers) -> tuple[bool, str]:
    """(True, summary) if the receipt (format 2 or 1) checks out against `verifiers`, else
    (False, reason).

    receipt: its bytes or text as received (read by the strict rule, ledger.strict: a
    duplicated key or a string not in NFC is refused, the reason starting with the kind), or
    an already parsed dict (then held to the same NFC rule).
    verifiers: a VerifierKey, a list of them, or a TrustFile. Never raises on bad input.
    """
    if isinstance(receipt, (bytes, bytearray, str)):
        receipt, error = read_json(receipt)
        if error is not None:
            return False, str(error)
    try:
        check_nfc(receipt)
        if not isinstance(receipt, dict) or "format" not in receipt:
            reason = fields_reason(receipt, _TOP, "the receipt")
        elif receipt["format"] == RECEIPT_FORMAT:
            reason = _check(receipt, Trust(verifiers))
        elif receipt["format"] == FORMAT_V1:
            reason = check_v1(receipt, Trust(verifiers))
        else:
            reason = f"unknown format {receipt['format']!r}"
    except StrictError as e:
        reason = str(e)
    except (CanonicalError, NoteError, TypeError, ValueError, KeyError, AttributeError) as e:
        reason = f"malformed receipt: {e}"
    if reason:
        return False, reason
    block = receipt["block"]
    size = note_checkpoint(receipt["checkpoint"]).size
    names = ", ".join(item["name"] for item in receipt["disclosed"]) or "none"
    return True, (f"block {block['height']} ({block['kind']}, hash "
                  f"{receipt_block_hash(receipt)}) is in the log of size {size}; "
                  f"disclosed attributes: {names}")
