"""RFC 9162 Merkle trees over the audit log's leaf hashes. Pure: hashes in, hashes out.

The tree of ``n`` leaves is the Merkle Tree Hash of RFC 9162 §2.1.1 (leaf index = ``seq - 1``;
the leaf hashes are ``SHA-256(0x00 || event bytes)``, stored with each event). Every node of
that tree is either a *complete* subtree (``2**level`` leaves starting at ``index * 2**level``)
or lies on the tree's right edge, and a right-edge node is the right fold of the complete
subtrees its leaves decompose into. So a root, an inclusion proof (§2.1.3) and a consistency
proof (§2.1.4) need only O(log n) complete-subtree hashes: :func:`subtrees_of` names them,
the caller fetches them (:mod:`changegate.audit.tree` from the database; :func:`complete_hashes`
from a list in tests), and :func:`range_hash` folds them. The verifiers follow the RFC's
algorithms step by step and refuse anything malformed (wrong sizes, hashes not 32 bytes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: a node of the tree as the half-open range of leaf indexes it covers
Range = tuple[int, int]
#: a complete subtree: ``(level, index)`` covers leaves ``[index << level, (index + 1) << level)``
Subtree = tuple[int, int]


def leaf(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: the hash of a leaf's bytes."""
    return hashlib.sha256(b"\x00" + data).digest()


def node(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: the hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (size > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def subtrees_of(lo: int, hi: int) -> list[Subtree]:
    """The complete subtrees, left to right, whose right fold is the hash of the tree node
    covering leaves ``[lo, hi)`` (a node of some tree: complete, or on that tree's right edge).
    One subtree per set bit of ``hi - lo``."""
    out: list[Subtree] = []
    while lo < hi:
        level = (hi - lo).bit_length() - 1
        if lo % (1 << level):
            raise ValueError(f"[{lo}, {hi}) is not a node of a Merkle tree")
        out.append((level, lo >> level))
        lo += 1 << level
    return out


def range_hash(lo: int, hi: int, hashes: Mapping[Subtree, bytes]) -> bytes:
    """The hash of the node covering ``[lo, hi)`` from the hashes of :func:`subtrees_of`."""
    if lo == hi:
        return EMPTY_ROOT
    parts = [hashes[s] for s in subtrees_of(lo, hi)]
    acc = parts[-1]
    for part in reversed(parts[:-1]):
        acc = node(part, acc)
    return acc


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The nodes of RFC 9162 §2.1.3.1 PATH(index, D[size]), in proof order (leaf to root)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The nodes of RFC 9162 §2.1.4.1 PROOF(old, D[new]), in proof order."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    proof: list[Range] = []
    lo, hi, start = 0, new, True
    while old - lo != hi - lo:  # SUBPROOF(m, D[lo:hi], start) with m = old - lo < hi - lo
        k = _split(hi - lo)
        if old - lo <= k:
            proof.append((lo + k, hi))
            hi = lo + k
        else:
            proof.append((lo, lo + k))
            lo, start = lo + k, False
    if not start:
        proof.append((lo, hi))
    proof.reverse()
    return proof


def needed(ranges: Iterable[Range]) -> set[Subtree]:
    """Every complete subtree the hashes of ``ranges`` are folded from."""
    return {s for lo, hi in ranges for s in subtrees_of(lo, hi)}


def complete_hashes(leaves: Sequence[bytes], wanted: Iterable[Subtree]) -> dict[Subtree, bytes]:
    """The hashes of complete subtrees computed from the leaf hashes (tests, small trees)."""
    out: dict[Subtree, bytes] = {}
    for level, index in wanted:
        layer = list(leaves[index << level : (index + 1) << level])
        while len(layer) > 1:
            layer = [node(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
        out[(level, index)] = layer[0]
    return out


def levels(leaves: Sequence[bytes]) -> Iterator[list[bytes]]:
    """The hashes of every complete subtree, level 1 and up, level by level in index order
    (what ``audit_subtrees`` holds for a log whose leaf hashes are ``leaves``)."""
    layer = list(leaves)
    sha, one = hashlib.sha256, b"\x01"
    while len(layer) > 1:
        pairs = iter(layer)  # zip(pairs, pairs): consecutive pairs, an odd last one left out
        layer = [
            sha(one + left + right).digest() for left, right in zip(pairs, pairs, strict=False)
        ]
        yield layer


Fetch = Callable[[set[Subtree]], Mapping[Subtree, bytes]]


def root(size: int, fetch: Fetch) -> bytes:
    return range_hash(0, size, fetch(needed([(0, size)])))


def inclusion_proof(index: int, size: int, fetch: Fetch) -> list[bytes]:
    ranges = inclusion_ranges(index, size)
    hashes = fetch(needed(ranges))
    return [range_hash(lo, hi, hashes) for lo, hi in ranges]


def consistency_proof(old: int, new: int, fetch: Fetch) -> list[bytes]:
    ranges = consistency_ranges(old, new)
    hashes = fetch(needed(ranges))
    return [range_hash(lo, hi, hashes) for lo, hi in ranges]


def _well_formed(*hashes: bytes) -> bool:
    return all(isinstance(h, bytes) and len(h) == HASH_SIZE for h in hashes)


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: whether ``proof`` shows leaf ``index`` of a tree of ``size`` whose
    root is ``root_hash`` hashes to ``leaf_hash``."""
    if not 0 <= index < size or not _well_formed(leaf_hash, root_hash, *proof):
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: whether ``proof`` shows the tree of ``new`` leaves with root
    ``new_root`` extends the tree of ``old`` leaves with root ``old_root``. Equal sizes need an
    empty proof and equal roots. An empty old tree proves nothing and is refused, as
    transparency-dev's vectors require."""
    if not 1 <= old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if not proof or not _well_formed(old_root, new_root, *proof):
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # an exact power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0
