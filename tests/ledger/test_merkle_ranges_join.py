"""Ranges hashed apart join into the one log root (RangeCompact + CompactRange.append_subtree).

The parallel audit relies on this; these tests check it in ledger/merkle.py directly, without
a store or worker processes, so the module's own mutation run covers it.
"""
import pytest

from ledger.merkle import CompactRange, RangeCompact, leaf_hash, root_from_hashes

LEAVES = [leaf_hash(i.to_bytes(2, "big")) for i in range(40)]


def joined_root(cuts, size):
    """Hash [0, size) as ranges split at `cuts`, then join the parts in order."""
    whole = CompactRange()
    bounds = [0, *cuts, size]
    for lo, hi in zip(bounds, bounds[1:]):
        part = RangeCompact(lo)
        for h in LEAVES[lo:hi]:
            part.append(h)
        assert part.end == hi
        for level, root in part.subtrees():
            whole.append_subtree(level, root)
    assert whole.size == size
    return whole.root()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 16, 21, 32, 33, 40])
def test_any_split_joins_to_the_rfc_root(size):
    expected = root_from_hashes(LEAVES[:size])
    for cut in range(1, size):
        assert joined_root([cut], size) == expected, cut
    assert joined_root([c for c in (3, 7, 12, 30) if c < size], size) == expected


def test_a_range_is_covered_by_aligned_perfect_subtrees():
    part = RangeCompact(5)
    for h in LEAVES[5:16]:
        part.append(h)
    assert [level for level, _ in part.subtrees()] == [0, 1, 3]  # [5,6) [6,8) [8,16)
    assert part.subtrees()[2][1] == root_from_hashes(LEAVES[8:16])
    assert part.subtrees() is not part.nodes


def test_a_subtree_must_start_where_the_range_is_aligned():
    compact = CompactRange()
    compact.append(LEAVES[0])
    with pytest.raises(ValueError, match=r"^a subtree of 2\*\*1 leaves cannot start at 1$"):
        compact.append_subtree(1, root_from_hashes(LEAVES[1:3]))
    compact.append_subtree(0, LEAVES[1])
    compact.append_subtree(1, root_from_hashes(LEAVES[2:4]))
    assert compact.size == 4 and compact.root() == root_from_hashes(LEAVES[:4])
    assert compact.peaks == [root_from_hashes(LEAVES[:4])]
