"""ledger.merkle against the RFC 6962 vectors of transparency-dev/merkle and exhaustive forgeries.

The vectors are copied from transparency-dev/merkle proof/verify_test.go (the same data as
certificate-transparency-go's merkle tests), not computed with this code.
"""
import hashlib
import random

import pytest

from ledger.merkle import (EMPTY_ROOT, CompactRange, consistency_proof,
                           consistency_proof_from_hashes, consistency_ranges, inclusion_proof,
                           inclusion_proof_from_hashes, inclusion_ranges, leaf_hash, merkle_root,
                           node_hash, root_from_hashes, root_from_inclusion, root_from_joined,
                           verify_consistency, verify_inclusion, verify_inclusion_hash)

LEAVES = [bytes.fromhex(h) for h in [
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f"]]

# ROOTS[n] = MTH(LEAVES[:n])
ROOTS = [bytes.fromhex(h) for h in [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]]


def _hexes(*values):
    return [bytes.fromhex(v) for v in values]


# (0-based leaf index, tree size, audit path); the Go file numbers leaves from 1.
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 8, _hexes("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (5, 8, _hexes("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 3, _hexes("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (1, 5, _hexes("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
]

# (old size, new size, consistency proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, _hexes("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                  "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")),
    (6, 8, _hexes("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                  "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
    (2, 5, _hexes("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")),
    (6, 7, _hexes("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                  "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")),
]

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def reference_mth(leaf_hashes):
    """RFC 6962 §2.1 MTH written as the RFC's recursion, to cross-check the iterative code."""
    n = len(leaf_hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + reference_mth(leaf_hashes[:k])
                          + reference_mth(leaf_hashes[k:])).digest()


def _split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def reference_path(m, leaf_hashes):
    """RFC 9162 §2.1.3.1 PATH(m, D[n]) written as the RFC's recursion, hashes and all."""
    n = len(leaf_hashes)
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return reference_path(m, leaf_hashes[:k]) + [reference_mth(leaf_hashes[k:])]
    return reference_path(m - k, leaf_hashes[k:]) + [reference_mth(leaf_hashes[:k])]


def reference_subproof(m, leaf_hashes, b):
    """RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b) written as the RFC's recursion."""
    n = len(leaf_hashes)
    if m == n:
        return [] if b else [reference_mth(leaf_hashes)]
    k = _split(n)
    if m <= k:
        return reference_subproof(m, leaf_hashes[:k], b) + [reference_mth(leaf_hashes[k:])]
    return reference_subproof(m - k, leaf_hashes[k:], False) + [reference_mth(leaf_hashes[:k])]


def reference_consistency(m, leaf_hashes):
    """RFC 9162 §2.1.4.1 PROOF(m, D[n]); empty for the trivial sizes, as the ledger does."""
    return [] if m in (0, len(leaf_hashes)) else reference_subproof(m, leaf_hashes, True)


def _flip(proof, i, mask):
    forged = list(proof)
    forged[i] = bytes([forged[i][0] ^ mask]) + forged[i][1:]
    return forged


def test_hash_primitives():
    assert EMPTY_ROOT == ROOTS[0]
    assert leaf_hash(b"") == ROOTS[1]
    assert node_hash(leaf_hash(b""), leaf_hash(b"\x00")) == ROOTS[2]


@pytest.mark.parametrize("n", range(9))
def test_rfc6962_roots(n):
    assert merkle_root(LEAVES[:n]) == ROOTS[n]
    assert root_from_hashes([leaf_hash(x) for x in LEAVES[:n]]) == ROOTS[n]


@pytest.mark.parametrize("index, size, path", INCLUSION_VECTORS)
def test_rfc6962_inclusion_paths(index, size, path):
    assert inclusion_proof(LEAVES[:size], index) == path
    assert verify_inclusion(LEAVES[index], index, size, path, ROOTS[size])
    assert root_from_inclusion(leaf_hash(LEAVES[index]), index, size, path) == ROOTS[size]


@pytest.mark.parametrize("old, new, proof", CONSISTENCY_VECTORS)
def test_rfc6962_consistency_proofs(old, new, proof):
    assert consistency_proof(LEAVES[:new], old) == proof
    assert verify_consistency(old, new, ROOTS[old], ROOTS[new], proof)


def test_single_entry_inclusion():
    h = leaf_hash(b"data")
    assert verify_inclusion_hash(h, 0, 1, [], h)
    assert not verify_inclusion_hash(h, 0, 1, [], b"")
    assert not verify_inclusion_hash(b"", 0, 1, [], h)


def test_short_path_to_a_subtree_root_is_not_a_bigger_tree():
    """A path that runs out before reaching the top must fail even if it hits `root`."""
    hashes = _leaf_hashes(4)
    subtree = node_hash(hashes[0], hashes[1])
    assert verify_inclusion_hash(hashes[0], 0, 2, [hashes[1]], subtree)
    assert not verify_inclusion_hash(hashes[0], 0, 4, [hashes[1]], subtree)
    assert root_from_inclusion(hashes[0], 0, 4, [hashes[1]]) is None


@pytest.mark.parametrize("index, size", [(0, 0), (0, 1), (1, 0), (2, 1)])
def test_inclusion_rejects_impossible_positions(index, size):
    assert not verify_inclusion_hash(SOME_HASH, index, size, [], b"")
    assert not verify_inclusion_hash(b"", index, size, [], EMPTY_ROOT)
    assert not verify_inclusion_hash(SOME_HASH, index, size, [], EMPTY_ROOT)


ROOT_A = hashlib.sha256(b"don't care 1").digest()
ROOT_B = hashlib.sha256(b"don't care 2").digest()


@pytest.mark.parametrize("old, new, old_root, new_root, proof, ok", [
    (0, 0, ROOT_A, ROOT_B, [], False),
    (1, 1, ROOT_A, ROOT_B, [], False),
    (1, 1, ROOT_B, ROOT_B, [], True),
    (0, 0, EMPTY_ROOT, EMPTY_ROOT, [], True),
    (0, 1, EMPTY_ROOT, ROOT_B, [], True),
    # An empty old tree has only one possible root (transparency-dev ignores old_root here).
    (0, 1, ROOT_A, ROOT_B, [], False),
    (0, 0, ROOT_A, ROOT_A, [], False),
    (1, 0, ROOT_A, ROOT_B, [], False),  # time travel to the past
    (2, 1, ROOT_A, ROOT_B, [], False),
    (1, 2, ROOT_A, ROOT_B, [], False),  # empty proof
    (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),  # trivial cases need an empty proof
    (0, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
    (1, 1, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT], False),
])
def test_consistency_edge_cases(old, new, old_root, new_root, proof, ok):
    assert verify_consistency(old, new, old_root, new_root, proof) is ok


@pytest.mark.parametrize("args", [
    (None, 1, 1, [], SOME_HASH), (b"x", "0", 1, [], SOME_HASH), (b"x", 0, 1.0, [], SOME_HASH),
    (b"x", True, 2, [SOME_HASH], SOME_HASH), (b"x", 0, 2, None, SOME_HASH),
    (b"x", 0, 2, [SOME_HASH.hex()], SOME_HASH), (b"x", 0, 2, [SOME_HASH], None),
    (b"x", -1, 2, [SOME_HASH], SOME_HASH), (b"x", 0, 2, [SOME_HASH[:31]], SOME_HASH),
])
def test_inclusion_never_raises_on_garbage(args):
    assert verify_inclusion(*args) is False


@pytest.mark.parametrize("args", [
    (1, 2, SOME_HASH, SOME_HASH, None), (1, 2, SOME_HASH, SOME_HASH, "ab"),
    ("1", 2, SOME_HASH, SOME_HASH, [SOME_HASH]), (1, 2, None, SOME_HASH, [SOME_HASH]),
    (1, 2, SOME_HASH, SOME_HASH, [b""]), (-1, 2, SOME_HASH, SOME_HASH, [SOME_HASH]),
    (1, 2**70, SOME_HASH, SOME_HASH, [SOME_HASH]),
])
def test_consistency_never_raises_on_garbage(args):
    assert verify_consistency(*args) is False


def _inclusion_forgeries(leaf, index, size, proof, root):
    """transparency-dev/merkle's corruptInclusionProof, plus a wrong 32-byte leaf.

    Each probe is an argument tuple for verify_inclusion_hash.
    """
    probes = [
        (leaf, index - 1, size, proof, root), (leaf, index + 1, size, proof, root),
        (leaf, index ^ 2, size, proof, root),
        (leaf, index, size * 2, proof, root), (leaf, index, size // 2, proof, root),
        (b"WrongLeaf", index, size, proof, root), (SOME_HASH, index, size, proof, root),
        (leaf, index, size, proof, EMPTY_ROOT), (leaf, index, size, proof, SOME_HASH),
        (leaf, index, size, proof + [b""], root), (leaf, index, size, proof + [root], root),
        (leaf, index, size, [b""] + proof, root), (leaf, index, size, [root] + proof, root),
    ]
    probes += [(leaf, index, size, _flip(proof, i, 8), root) for i in range(len(proof))]
    if proof:
        probes.append((leaf, index, size, proof[:-1], root))
    if len(proof) > 1:
        probes.append((leaf, index, size, [proof[0], SOME_HASH] + proof[1:], root))
    return probes


def _consistency_forgeries(old, new, old_root, new_root, proof):
    """transparency-dev/merkle's corruptConsistencyProof, as verify_consistency arguments."""
    probes = [
        (old - 1, new, old_root, new_root, proof), (old + 1, new, old_root, new_root, proof),
        (old ^ 2, new, old_root, new_root, proof),
        (old, new * 2, old_root, new_root, proof), (old, new // 2, old_root, new_root, proof),
        (old, new, b"WrongRoot", new_root, proof), (old, new, old_root, b"WrongRoot", proof),
        (old, new, SOME_HASH, new_root, proof), (old, new, old_root, SOME_HASH, proof),
        (old, new, new_root, old_root, proof), (old, new, old_root, new_root, []),
        (old, new, old_root, new_root, proof + [b""]),
        (old, new, old_root, new_root, proof + [old_root]),
        (old, new, old_root, new_root, proof + [new_root]),
        (old, new, old_root, new_root, [b""] + proof),
        (old, new, old_root, new_root, [old_root] + proof),
        (old, new, old_root, new_root, [new_root] + proof),
        (old, new, old_root, new_root, [proof[0]] + proof),
        (old, new, old_root, new_root, proof[:-1]),
    ]
    probes += [(old, new, old_root, new_root, _flip(proof, i, 16)) for i in range(len(proof))]
    return probes


def _leaf_hashes(n):
    return [leaf_hash(f"leaf {i}".encode()) for i in range(n)]


@pytest.mark.parametrize("size", range(1, 65))
def test_every_inclusion_proof_verifies_and_no_forgery_does(size):
    hashes = _leaf_hashes(size)
    root = root_from_hashes(hashes)
    assert root == reference_mth(hashes)
    for index in range(size):
        proof = inclusion_proof_from_hashes(hashes, index)
        assert verify_inclusion_hash(hashes[index], index, size, proof, root)
        assert verify_inclusion(f"leaf {index}".encode(), index, size, proof, root)
        assert root_from_inclusion(hashes[index], index, size, proof) == root
        assert root_from_inclusion(hashes[index], index, size, proof + [root]) is None
        for probe in _inclusion_forgeries(hashes[index], index, size, proof, root):
            assert not verify_inclusion_hash(*probe), probe


@pytest.mark.parametrize("new", range(1, 65))
def test_every_consistency_proof_verifies_and_no_forgery_does(new):
    hashes = _leaf_hashes(new)
    roots = [root_from_hashes(hashes[:m]) for m in range(new + 1)]
    for old in range(new + 1):
        proof = consistency_proof_from_hashes(hashes, old)
        assert verify_consistency(old, new, roots[old], roots[new], proof)
        if old in (0, new):
            assert proof == []
            continue
        for probe in _consistency_forgeries(old, new, roots[old], roots[new], proof):
            assert not verify_consistency(*probe), probe


@pytest.mark.parametrize("size", range(1, 65))
def test_proof_ranges_are_the_rfc_proofs_for_every_index_and_old_size(size):
    """The range functions are the one definition of the proof shape: the roots of their
    ranges are the RFC's recursive PATH and PROOF, and the hash-list proofs are exactly that."""
    hashes = _leaf_hashes(size)
    for index in range(size):
        from_ranges = [root_from_hashes(hashes[lo:hi]) for lo, hi in inclusion_ranges(index, size)]
        assert from_ranges == reference_path(index, hashes), index
        assert inclusion_proof_from_hashes(hashes, index) == from_ranges, index
    for old in range(size + 1):
        from_ranges = [root_from_hashes(hashes[lo:hi])
                       for lo, hi in consistency_ranges(old, size)]
        assert from_ranges == reference_consistency(old, hashes), old
        assert consistency_proof_from_hashes(hashes, old) == from_ranges, old


def test_proof_ranges_are_disjoint_subtrees():
    rng = random.Random(3)
    for _ in range(300):
        size = rng.randint(1, 5000)
        for ranges in (inclusion_ranges(rng.randrange(size), size),
                       consistency_ranges(rng.randint(0, size), size)):
            ordered = sorted(ranges)
            assert all(a[1] <= b[0] for a, b in zip(ordered, ordered[1:]))
            assert len(ranges) <= 2 * size.bit_length()


@pytest.mark.parametrize("ranges, bad", [
    (inclusion_ranges, (-1, 3)), (inclusion_ranges, (3, 3)), (inclusion_ranges, (0, 0)),
    (consistency_ranges, (-1, 3)), (consistency_ranges, (4, 3)),
])
def test_proof_ranges_reject_impossible_positions(ranges, bad):
    with pytest.raises(ValueError):
        ranges(*bad)


@pytest.mark.parametrize("make_proof, bad", [
    (inclusion_proof_from_hashes, -1), (inclusion_proof_from_hashes, 3),
    (consistency_proof_from_hashes, -1), (consistency_proof_from_hashes, 4),
])
def test_proof_generation_rejects_out_of_range(make_proof, bad):
    with pytest.raises(ValueError):
        make_proof(_leaf_hashes(3), bad)


def test_compact_range_matches_every_size_up_to_300():
    hashes = _leaf_hashes(300)
    compact = CompactRange()
    assert compact.size == 0 and compact.root() == EMPTY_ROOT
    for n, h in enumerate(hashes, start=1):
        compact.append(h)
        assert compact.size == n
        assert compact.root() == root_from_hashes(hashes[:n]) == reference_mth(hashes[:n])


def test_compact_range_matches_random_larger_sizes():
    rng = random.Random(6962)
    sizes = sorted({1023, 1024, 1025, 4097, 65_536, 65_537} | {rng.randrange(300, 70_000)
                                                                for _ in range(4)})
    hashes = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(sizes[-1])]
    compact = CompactRange()
    for n in sizes:
        while compact.size < n:
            compact.append(hashes[compact.size])
        assert compact.root() == root_from_hashes(hashes[:n]), n


def test_compact_range_resumes_from_saved_peaks():
    hashes = _leaf_hashes(200)
    for saved_at in (0, 1, 7, 64, 129):
        first = CompactRange()
        for h in hashes[:saved_at]:
            first.append(h)
        resumed = CompactRange.from_peaks(first.size, first.peaks)
        for h in hashes[saved_at:]:
            resumed.append(h)
        assert resumed.root() == root_from_hashes(hashes)


def test_root_from_hashes_planned_and_level_by_level_match_the_definition():
    """Small trees (attribute trees) fold unrolled (<= 32) or with a cached plan (<= 64),
    larger ones level by level;
    both are the RFC 9162 MTH, take any iterable and leave the caller's list alone."""
    hashes = _leaf_hashes(140)
    for n in range(141):
        leaves = hashes[:n]
        before = list(leaves)
        assert root_from_hashes(leaves) == reference_mth(leaves), n
        assert leaves == before
        assert root_from_hashes(tuple(leaves)) == root_from_hashes(iter(leaves)) == \
            reference_mth(leaves)


@pytest.mark.parametrize("size, peaks", [(3, [SOME_HASH]), (1, []), (-1, []), (1, [b"x"])])
def test_compact_range_rejects_peaks_that_do_not_fit(size, peaks):
    with pytest.raises(ValueError):
        CompactRange.from_peaks(size, peaks)


def test_large_tree_proofs_round_trip():
    hashes = _leaf_hashes(100_003)
    root = root_from_hashes(hashes)
    for index in (0, 65_535, 65_536, 100_002):
        proof = inclusion_proof_from_hashes(hashes, index)
        assert verify_inclusion_hash(hashes[index], index, len(hashes), proof, root)
    old_root = root_from_hashes(hashes[:70_001])
    proof = consistency_proof_from_hashes(hashes, 70_001)
    assert verify_consistency(70_001, len(hashes), old_root, root, proof)


def test_root_from_joined_folds_leaves_stored_back_to_back():
    """The audit folds a block's leaves straight from their decoded buffer, at any offset."""
    for n in list(range(0, 35)) + [64, 65]:
        leaves = [leaf_hash(bytes([n, i])) for i in range(n)]
        data = b"\xaa" * 7 + b"".join(leaves) + b"\xbb" * 5
        assert root_from_joined(data, 7, n) == root_from_hashes(leaves), n
