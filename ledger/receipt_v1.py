"""Receipt format 1 (`medledger-receipt/1`): made before format 2, still verified.

Receipts already handed out must keep verifying, so this module keeps format 1's maker (for
tests and the documented example) and its strict checker; `ledger.receipt` dispatches here.
A receipt carries the block header (+ its attribute leaf hashes), a signed checkpoint, the
inclusion proof of the block hash in that checkpoint's tree, and optionally some attributes
disclosed with their salts and attribute-tree proofs. Anyone holding the public key can check
it with no database: nothing in it is trusted until it hashes up to the signed root.

Verification is strict (exact fields, lowercase hex, format version), so any change to any
value in a receipt makes it fail with a reason.
"""
import re

from ledger.attributes import attribute_leaf, verify_attribute
from ledger.audit import Trust
from ledger.block import HEADER_FIELDS, block_hash, header_of
from ledger.encoding import CanonicalError
from ledger.merkle import (inclusion_proof_from_hashes, leaf_hash, root_from_hashes,
                           verify_inclusion_hash)
from ledger.notes import Checkpoint, NoteError
from ledger.strict import StrictError, check_fields

__all__ = ["FORMAT_V1", "ReceiptError", "make_receipt_v1", "check_v1", "note_checkpoint",
           "receipt_parts", "check_envelope", "is_int", "fields_reason"]

FORMAT_V1 = "medledger-receipt/1"
_HEX32 = re.compile(r"[0-9a-f]{64}")
_TOP = {"format", "block", "checkpoint", "inclusion", "disclosed"}
_BLOCK = set(HEADER_FIELDS) | {"attr_leaves", "hash"}


class ReceiptError(ValueError):
    """A receipt cannot be made (unknown block, checkpoint too small, unknown attribute)."""


def note_checkpoint(note: str) -> Checkpoint:
    """The checkpoint in a signed note, unverified (the maker trusts its own note)."""
    split = note.rfind("\n\n") if isinstance(note, str) else -1
    if split < 0:
        raise ReceiptError("not a signed note")
    return Checkpoint.parse_body(note[:split + 1])


def receipt_parts(ledger, height: int, checkpoint_note: str, disclose: dict | None):
    """What either format's receipt holds, as (block doc, checkpoint, inclusion proof,
    [(name, value, salt, leaf index, attribute proof)]); ReceiptError if impossible.

    Each disclosed attribute is found among the block's stored leaf hashes by its own leaf
    hash, so the ledger needs no other attribute.
    """
    doc = ledger.get(height)
    if doc is None:
        raise ReceiptError(f"no block at height {height}")
    cp = note_checkpoint(checkpoint_note)
    if height >= cp.size:
        raise ReceiptError(f"block {height} is not covered by a checkpoint of size {cp.size}")
    leaves = [bytes.fromhex(h) for h in doc["attr_leaves"]]
    disclosed = []
    for name, (value, salt) in sorted((disclose or {}).items()):
        leaf = leaf_hash(attribute_leaf(name, value, salt))
        if leaf not in leaves:
            raise ReceiptError(f"attribute {name!r} with this value and salt is not in the block")
        index = leaves.index(leaf)
        disclosed.append((name, value, salt, index, inclusion_proof_from_hashes(leaves, index)))
    return doc, cp, ledger.inclusion_proof(height, cp.size), disclosed


def make_receipt_v1(ledger, height: int, checkpoint_note: str,
                    disclose: dict | None = None) -> dict:
    """A JSON-able format-1 receipt for block `height` under `checkpoint_note`.

    disclose: {name: (value, salt)} to reveal.
    """
    doc, cp, proof, disclosed = receipt_parts(ledger, height, checkpoint_note, disclose)
    block = header_of(doc)
    block["attr_leaves"] = list(doc["attr_leaves"])
    block["hash"] = doc["hash"]
    return {"format": FORMAT_V1, "block": block, "checkpoint": checkpoint_note,
            "inclusion": {"index": height, "size": cp.size, "proof": [p.hex() for p in proof]},
            "disclosed": [{"name": name, "value": value, "salt": salt, "index": index,
                           "proof": [p.hex() for p in path]}
                          for name, value, salt, index, path in disclosed]}


def _hashes(values, what: str) -> list[bytes]:
    if not isinstance(values, list) or not all(isinstance(v, str) and _HEX32.fullmatch(v)
                                               for v in values):
        raise ValueError(f"{what} must be a list of lowercase hex SHA-256 hashes")
    return [bytes.fromhex(v) for v in values]


def fields_reason(obj, fields, where: str) -> str | None:
    """None if `obj` is an object with exactly `fields`, else the reason: the strict rule's
    `unknown-field: ...` when it has a field the format does not have (receipts are closed)."""
    if isinstance(obj, dict) and set(obj) == set(fields):
        return None
    try:
        check_fields(obj, fields, where)
    except StrictError as e:
        return str(e)
    return f"{where} must be an object with exactly the fields {', '.join(sorted(fields))}"


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_envelope(receipt, trust: Trust, block_fields: set) -> tuple[str | None, object]:
    """(None, the checkpoint) if the note is signed by a trusted key and the block has exactly
    `block_fields` with a version-1 header's integers, else (the reason, None). Both formats
    have the same top-level fields."""
    reason = fields_reason(receipt, _TOP, "the receipt")
    if reason:
        return reason, None
    try:
        cp = trust.open(receipt["checkpoint"])
    except (NoteError, TypeError, AttributeError) as e:
        return f"checkpoint signature: {e}", None
    block = receipt["block"]
    reason = fields_reason(block, block_fields, "block")
    if reason:
        return reason, None
    if block["v"] != 1 or not is_int(block["height"]) or not is_int(block["attr_count"]):
        return "block header is not format version 1", None
    return None, cp


def check_v1(receipt, trust: Trust) -> str | None:
    """None if the format-1 receipt is valid, else the reason."""
    reason, cp = check_envelope(receipt, trust, _BLOCK)
    if reason:
        return reason
    block = receipt["block"]
    try:
        computed = block_hash(header_of(block))
    except (CanonicalError, TypeError, ValueError) as e:
        return f"block header cannot be encoded: {e}"
    if not isinstance(block["hash"], str) or computed.hex() != block["hash"]:
        return "block hash does not match the header"
    inclusion = receipt["inclusion"]
    reason = fields_reason(inclusion, {"index", "size", "proof"}, "inclusion")
    if reason:
        return reason
    if inclusion["index"] != block["height"] or not is_int(inclusion["index"]):
        return "inclusion index is not the block height"
    if inclusion["size"] != cp.size or not is_int(inclusion["size"]):
        return "inclusion size is not the checkpoint size"
    try:
        path = _hashes(inclusion["proof"], "inclusion proof")
        leaves = _hashes(block["attr_leaves"], "attr_leaves")
    except ValueError as e:
        return str(e)
    if not verify_inclusion_hash(computed, block["height"], cp.size, path, cp.root):
        return "inclusion proof does not lead to the checkpoint root"
    if len(leaves) != block["attr_count"]:
        return "attr_count does not match the number of attribute leaves"
    attr_root = root_from_hashes(leaves)
    if not isinstance(block["attr_root"], str) or attr_root.hex() != block["attr_root"]:
        return "attr_root does not match the attribute leaves"
    disclosed = receipt["disclosed"]
    if not isinstance(disclosed, list):
        return "disclosed must be a list"
    for item in disclosed:
        reason = _check_disclosed(item, leaves, attr_root)
        if reason:
            return reason
    return None


def _check_disclosed(item, leaves, attr_root) -> str | None:
    reason = fields_reason(item, {"name", "value", "salt", "index", "proof"},
                           "a disclosed attribute")
    if reason:
        return reason
    name, index = item["name"], item["index"]
    try:
        proof = _hashes(item["proof"], f"proof of attribute {name!r}")
    except ValueError as e:
        return str(e)
    if not isinstance(name, str) or not is_int(index) or not 0 <= index < len(leaves):
        return f"disclosed attribute {name!r} has a bad name or index"
    if not verify_attribute(name, item["value"], item["salt"], index, len(leaves), proof,
                            attr_root):
        return f"disclosed attribute {name!r} does not match the sealed leaf"
    if leaf_hash(attribute_leaf(name, item["value"], item["salt"])) != leaves[index]:
        return f"disclosed attribute {name!r} is not attr_leaves[{index}]"
    return None
