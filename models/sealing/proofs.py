"""Inclusion proofs for pages and receipts without reading the whole chain on every request.

An RFC 6962 proof is made of subtree roots, and every subtree of the log tree splits into
perfect, aligned subtrees [lo, lo + 2^k). Small ones are hashed from the block hashes (one
bounded range on the `height` index); large ones are cached in `ledger_nodes` once computed.
A cache entry is only an accelerator, never trusted: every proof is checked against the signed
checkpoint root before it is shown or handed out, and a forged node cannot make a wrong leaf
verify (that would need a SHA-256 second preimage).
"""
from ledger.merkle import inclusion_ranges, node_hash, root_from_hashes

from models.sealing.seam import store_for

LEAF_CHUNK = 1024
"""Perfect subtrees up to this many leaves are hashed directly from one range query."""

class MissingBlock(LookupError):
    pass


def _leaf_hashes(db, lo, hi):
    docs = store_for(db).blocks.find({"height": {"$gte": lo, "$lt": hi}},
                                     {"height": 1, "hash": 1}, batch_size=hi - lo)
    by_height = {doc.get("height"): doc.get("hash") for doc in docs}
    hashes = []
    for height in range(lo, hi):
        value = by_height.get(height)
        if not isinstance(value, str):
            raise MissingBlock(f"block {height} is missing")
        try:
            hashes.append(bytes.fromhex(value))
        except ValueError:
            raise MissingBlock(f"block {height} has no readable hash") from None
    return hashes


def perfect_root(db, lo, width):
    """Root of the perfect subtree [lo, lo + width), width a power of two."""
    if width <= LEAF_CHUNK:
        return root_from_hashes(_leaf_hashes(db, lo, lo + width))
    key = f"{lo}:{width}"
    cached = db.ledger_nodes.find_one({"_id": key})
    if cached is not None:
        return bytes.fromhex(cached["root"])
    half = width // 2
    root = node_hash(perfect_root(db, lo, half), perfect_root(db, lo + half, half))
    db.ledger_nodes.update_one({"_id": key}, {"$set": {"root": root.hex()}}, upsert=True)
    return root


def range_root(db, lo, hi):
    """MTH of the leaves [lo, hi) of the log tree (RFC 9162 §2.1.1), from perfect subtrees."""
    width = hi - lo
    if width & (width - 1) == 0 and lo % width == 0:
        return perfect_root(db, lo, width)
    split = 1 << ((width - 1).bit_length() - 1)
    return node_hash(perfect_root(db, lo, split), range_root(db, lo + split, hi))


def inclusion_proof(db, height, size):
    """PATH(height, D[size]) (RFC 9162 §2.1.3.1) as a list of 32-byte hashes."""
    return [range_root(db, lo, hi) for lo, hi in inclusion_ranges(height, size)]
