"""RFC 6962 / RFC 9162 §2.1 Merkle trees: roots, inclusion and consistency proofs.

One tree shape serves both uses in the ledger: the per-event attribute tree and the log tree
whose leaves are the block hashes. The `*_from_hashes` functions take leaf hashes (what the
ledger stores); the raw-leaf functions hash the data first. The `*_ranges` functions give only
the shape of a proof (the leaf ranges whose roots it lists), so a log streamed from storage
builds the same proofs without this module doing any I/O. Verifiers return False (or None)
on any malformed or forged input and never raise, since proofs come from untrusted receipts.
"""
from hashlib import sha256

__all__ = ["EMPTY_ROOT", "leaf_hash", "node_hash", "merkle_root", "inclusion_proof",
           "verify_inclusion", "consistency_proof", "verify_consistency", "root_from_hashes",
           "inclusion_proof_from_hashes", "consistency_proof_from_hashes",
           "verify_inclusion_hash", "root_from_inclusion", "inclusion_ranges",
           "consistency_ranges", "CompactRange", "root_from_joined"]

EMPTY_ROOT = sha256(b"").digest()
"""MTH({}) = SHA-256() (RFC 9162 §2.1.1)."""

_HASH_SIZE = 32
# The RFC 6962 domain prefixes, hashed once: copying a started hash is cheaper than creating
# one (OpenSSL 3 sets up every new context), and the audit computes ~11 hashes per block.
_LEAF_STATE = sha256(b"\x00")
_NODE_STATE = sha256(b"\x01")
_new_leaf = _LEAF_STATE.copy
_new_node = _NODE_STATE.copy


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d) (RFC 9162 §2.1.1)."""
    h = _new_leaf()
    h.update(data)
    return h.digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right) (RFC 9162 §2.1.1)."""
    h = _new_node()
    h.update(left)
    h.update(right)
    return h.digest()


def _split(n: int) -> int:
    """k, the largest power of two smaller than n, for n > 1 (RFC 9162 §2.1.1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _fold_plan(n: int) -> tuple:
    """The (left, right) node pairs that fold n leaves, level by level, as indices into a
    list that starts with the leaves and gets each new node appended (the last is the root).

    Pairing neighbours and promoting an odd last node unchanged builds exactly the tree that
    splits at the largest power of two, so no node is ever duplicated.
    """
    level, plan = list(range(n)), []
    while len(level) > 1:
        parents = []
        for i in range(0, len(level) - 1, 2):
            parents.append(n + len(plan))
            plan.append((level[i], level[i + 1]))
        if len(level) & 1:
            parents.append(level[-1])
        level = parents
    return tuple(plan)


_PLANNED = 64
_PLANS = tuple(_fold_plan(n) for n in range(_PLANNED + 1))
"""Fold plans for the small trees (attribute trees): one flat loop instead of one per level."""


def _straight_fold(n: int):
    """The fold plan of n leaves as straight-line code: no loop, index or list per node.

    The audit folds one attribute tree per block; for 10 leaves the unrolled fold costs
    ~2.7 us against the loop's ~3.1 us (the 9 SHA-256 calls themselves ~2.5 us), so Python
    overhead drops to a few percent. The source is built only from the plan's integers.
    """
    names = [f"n{i}" for i in range(n)]
    lines = [f"def fold(leaves, new=_new_node):", f"    {', '.join(names)}, = leaves"]
    for node, (left, right) in enumerate(_PLANS[n], start=n):
        lines.append(f"    h = new(); h.update(n{left}); h.update(n{right}); n{node} = h.digest()")
    lines.append(f"    return n{n + len(_PLANS[n]) - 1}")
    namespace = {"_new_node": _new_node}
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from integers only
    return namespace["fold"]


_UNROLLED = 32
_FOLDS = (None,) + tuple(_straight_fold(n) for n in range(1, _UNROLLED + 1))


def _joined_fold(n: int):
    """_straight_fold for n leaf hashes stored back to back in one buffer from offset s.

    The audit decodes a block's stored leaves with one bytes.fromhex, so no list of leaves
    is built per block; two neighbouring leaves are one 64-byte slice and one update.
    """
    def ref(i):
        return f"n{i}" if i >= n else f"data[s + {32 * i}:s + {32 * i + 32}]"

    lines = ["def fold(data, s, new=_new_node):"]
    for node, (left, right) in enumerate(_PLANS[n], start=n):
        if right == left + 1 < n:
            update = f"h.update(data[s + {32 * left}:s + {32 * left + 64}])"
        else:
            update = f"h.update({ref(left)}); h.update({ref(right)})"
        lines.append(f"    h = new(); {update}; n{node} = h.digest()")
    lines.append(f"    return {ref(n + len(_PLANS[n]) - 1) if n > 1 else ref(0)}")
    namespace = {"_new_node": _new_node}
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from integers only
    return namespace["fold"]


_JOINED_FOLDS = ((lambda data, s: EMPTY_ROOT),) + tuple(
    _joined_fold(n) for n in range(1, _UNROLLED + 1))


def root_from_joined(data: bytes, start: int, count: int) -> bytes:
    """MTH (RFC 9162 §2.1.1) over `count` 32-byte leaf hashes stored back to back in `data`
    from `start` (the caller checks the buffer is long enough)."""
    if count <= _UNROLLED:
        return _JOINED_FOLDS[count](data, start)
    return root_from_hashes([data[i:i + 32] for i in range(start, start + 32 * count, 32)])


def root_from_hashes(leaf_hashes: list[bytes]) -> bytes:
    """MTH (RFC 9162 §2.1.1) over leaf hashes, without recursion."""
    nodes = leaf_hashes if type(leaf_hashes) in (list, tuple) else list(leaf_hashes)
    n = len(nodes)
    if 0 < n <= _UNROLLED:
        return _FOLDS[n](nodes)
    nodes = list(nodes)  # the caller's list is left alone
    if n <= _PLANNED:
        if not n:
            return EMPTY_ROOT
        append, new = nodes.append, _new_node
        for left, right in _PLANS[n]:
            h = new()
            h.update(nodes[left])
            h.update(nodes[right])
            append(h.digest())
        return nodes[-1]
    while len(nodes) > 1:
        parents = [node_hash(left, right) for left, right in zip(nodes[0::2], nodes[1::2])]
        if len(nodes) & 1:
            parents.append(nodes[-1])
        nodes = parents
    return nodes[0]


def merkle_root(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) over raw leaf data (RFC 9162 §2.1.1)."""
    return root_from_hashes([leaf_hash(leaf) for leaf in leaves])


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges [lo, hi) whose roots are PATH(index, D[size]) (RFC 9162 §2.1.3.1),
    deepest first: the proof's shape without hashes, so a streamed log and a list in memory
    build the same proof (as transparency-dev/merkle's proof.Inclusion)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of {size} leaves")
    out, lo, hi, m = [], 0, size, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m = lo + k, m - k
    out.reverse()
    return out


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The leaf ranges [lo, hi) whose roots are PROOF(old_size, D[new_size]) (RFC 9162
    §2.1.4.1), none for the trivial sizes; shape only, as inclusion_ranges.

    SUBPROOF unrolled: `complete` is the RFC's b, whether the old tree is still a whole left
    subtree (the verifier has its root, so it is left out).
    """
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} is outside 0..{new_size}")
    if old_size in (0, new_size):
        return []
    out, lo, hi, m, complete = [], 0, new_size, old_size, True
    while hi - lo != m:
        k = _split(hi - lo)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        out.append((lo, hi))
    out.reverse()
    return out


def inclusion_proof_from_hashes(leaf_hashes: list[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1): the roots of inclusion_ranges, the one shape."""
    return [root_from_hashes(leaf_hashes[lo:hi])
            for lo, hi in inclusion_ranges(index, len(leaf_hashes))]


def inclusion_proof(leaves: list[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) over raw leaf data (RFC 9162 §2.1.3.1)."""
    return inclusion_proof_from_hashes([leaf_hash(leaf) for leaf in leaves], index)


def consistency_proof_from_hashes(leaf_hashes: list[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1): the roots of consistency_ranges, the one shape."""
    return [root_from_hashes(leaf_hashes[lo:hi])
            for lo, hi in consistency_ranges(old_size, len(leaf_hashes))]


def consistency_proof(leaves: list[bytes], old_size: int) -> list[bytes]:
    """PROOF(m, D[n]) over raw leaf data (RFC 9162 §2.1.4.1)."""
    return consistency_proof_from_hashes([leaf_hash(leaf) for leaf in leaves], old_size)


def _is_hash(value) -> bool:
    return isinstance(value, (bytes, bytearray)) and len(value) == _HASH_SIZE


def _is_size(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_path(proof) -> bool:
    return isinstance(proof, (list, tuple)) and all(_is_hash(p) for p in proof)


def root_from_inclusion(leaf_hash: bytes, index: int, size: int,
                        proof: list[bytes]) -> bytes | None:
    """The root that `proof` leads to (RFC 9162 §2.1.3.2 steps 1-5), or None if it is malformed.

    A None here means the proof does not fit a tree of `size` leaves at all.
    """
    if not (_is_hash(leaf_hash) and _is_size(index) and _is_size(size) and index < size
            and _is_path(proof)):
        return None
    fn, sn, r = index, size - 1, bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_inclusion_hash(leaf_hash: bytes, index: int, size: int, proof: list[bytes],
                          root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 for a leaf given by its hash."""
    computed = root_from_inclusion(leaf_hash, index, size, proof)
    return computed is not None and computed == root


def verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes],
                     root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 for raw leaf data."""
    if not isinstance(leaf, (bytes, bytearray)):
        return False
    return verify_inclusion_hash(leaf_hash(leaf), index, size, proof, root)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: whether the tree with `new_root` extends the one with `old_root`.

    The RFC covers 0 < old_size < new_size. The two trivial cases need an empty proof:
    equal sizes with equal roots, and old_size 0, which is consistent with any tree but only
    if old_root is the empty-tree root (as Sigsum does; stricter than transparency-dev/merkle,
    which ignores old_root there).
    """
    if not (_is_size(old_size) and _is_size(new_size) and old_size <= new_size
            and _is_hash(old_root) and _is_hash(new_root) and _is_path(proof)):
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT and (new_size > 0 or new_root == EMPTY_ROOT)
    if old_size == new_size:
        return not proof and old_root == new_root
    return _verify_consistency_path(old_size, new_size, old_root, new_root, list(proof))


def _verify_consistency_path(first, second, first_hash, second_hash, path) -> bool:
    """RFC 9162 §2.1.4.2 steps 1-7, with the RFC's names."""
    if not path:
        return False
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == first_hash and sr == second_hash


class CompactRange:
    """The log root at every size while reading the leaves once, in O(log n) memory.

    Keeps the roots of the perfect subtrees that make up the tree so far (one per set bit of
    `size`, largest first); appending merges equal-sized neighbours like a binary counter, and
    the root folds them right to left, which is the RFC 9162 §2.1.1 split at the largest power
    of two (the compact ranges of transparency-dev/merkle).
    """

    __slots__ = ("size", "_peaks")

    def __init__(self):
        self.size = 0
        self._peaks = []

    @classmethod
    def from_peaks(cls, size: int, peaks: list[bytes]) -> "CompactRange":
        """Resume from a saved state: `size` and its `peaks` (one per set bit of size)."""
        if not (_is_size(size) and len(peaks) == bin(size).count("1")
                and all(_is_hash(p) for p in peaks)):
            raise ValueError(f"{len(peaks)} peaks do not fit a tree of {size} leaves")
        compact = cls()
        compact.size, compact._peaks = size, [bytes(p) for p in peaks]
        return compact

    @property
    def peaks(self) -> list[bytes]:
        """The state to save: roots of the perfect subtrees, largest first."""
        return list(self._peaks)

    def append(self, leaf_hash: bytes) -> None:
        """Add the next leaf, given by its hash."""
        peaks, carry, h = self._peaks, self.size, leaf_hash
        while carry & 1:
            node = _new_node()
            node.update(peaks.pop())
            node.update(h)
            h = node.digest()
            carry >>= 1
        peaks.append(h)
        self.size += 1

    def root(self) -> bytes:
        """MTH of the leaves appended so far (EMPTY_ROOT when there are none)."""
        if not self._peaks:
            return EMPTY_ROOT
        peaks = self._peaks
        r = peaks[-1]
        for peak in reversed(peaks[:-1]):
            r = node_hash(peak, r)
        return r

    def append_subtree(self, level: int, subtree_root: bytes) -> None:
        """Add a perfect subtree of 2**level leaves that starts at the current size.

        RFC 9162's tree is the same whether its leaves come one by one or as aligned perfect
        subtrees (a carry in the binary counter), so ranges hashed apart join exactly.
        """
        if self.size % (1 << level):
            raise ValueError(f"a subtree of 2**{level} leaves cannot start at {self.size}")
        count = self.size >> level
        h = subtree_root
        for _ in range((count ^ (count + 1)).bit_length() - 1):  # the trailing set bits: merges
            h = node_hash(self._peaks.pop(), h)
        self._peaks.append(h)
        self.size += 1 << level


class RangeCompact:
    """The compact range of leaves [begin, end): the aligned perfect subtrees that cover it,
    as (level, root) left to right (transparency-dev/merkle's compact.Range).

    A worker hashes its height range into one; CompactRange.append_subtree joins them in order.
    """

    __slots__ = ("end", "nodes")

    def __init__(self, begin: int):
        self.end = begin
        self.nodes = []  # [level, root]

    def append(self, leaf_hash: bytes) -> None:
        nodes, index, level, h = self.nodes, self.end, 0, leaf_hash
        while index & 1 and nodes and nodes[-1][0] == level:
            node = _new_node()
            node.update(nodes.pop()[1])
            node.update(h)
            h = node.digest()
            index >>= 1
            level += 1
        nodes.append((level, h))
        self.end += 1

    def subtrees(self) -> list[tuple[int, bytes]]:
        return list(self.nodes)
