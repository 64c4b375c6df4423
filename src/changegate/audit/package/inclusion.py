"""RFC 9162 inclusion proofs for a changegate auditor evidence package's ``verify.py``: one
proof checked step by step (§2.1.3.2), and many at once. Standard library only; copied into
every package verbatim beside verify.py."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2, step by step."""
    if not 0 <= index < size or any(len(h) != 32 for h in (leaf, root, *proof)):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def path_length(index: int, size: int) -> int:
    """How many hashes the inclusion proof of leaf ``index`` in a tree of ``size`` has."""
    inner = (index ^ (size - 1)).bit_length()
    return inner + bin(index >> inner).count("1")


def verify_many(
    items: Iterable[tuple[int, bytes, Sequence[bytes] | bytes]], size: int, root: bytes
) -> list[int]:
    """The indexes among ``(index, leaf, proof)`` whose proof fails (a proof is its hashes, or
    their concatenation). Each walk is :func:`verify_inclusion`'s loop; the node at level ``k``
    and position ``fn`` covers leaves ``[fn << k, min((fn + 1) << k, size))``. Every node on a
    walk that reached ``root`` is remembered with its hash and the proof hashes above it; a
    later walk that reaches that node stops there only if its hash and the rest of its own
    proof are those same bytes (one comparison): about two hashes per event, and every hash of
    every proof still checked (under SHA-256's collision resistance, the same result as walking
    each proof to the root)."""
    known: dict[int, tuple[bytes, bytes, int]] = {}
    failed: list[int] = []
    node = _node
    for index, leaf, proof in items:
        flat = proof if isinstance(proof, bytes) else b"".join(proof)
        n = len(flat) >> 5
        ok = 0 <= index < size and len(leaf) == 32 and len(flat) == n << 5
        whole = isinstance(proof, bytes) or all(len(h) == 32 for h in proof)
        ok = ok and whole and n == path_length(index, size)
        fn, sn, k, r, i, trail = index, size - 1, 0, leaf, 0, []
        while ok:
            seen = known.get(fn << 6 | k)
            if seen is not None:
                ok = seen[0] == r and seen[1][seen[2] :] == flat[i << 5 :]
                break
            if sn == 0:
                ok = i == n and r == root
                break
            trail.append((fn << 6 | k, r, i << 5))
            p = flat[i << 5 : (i + 1) << 5]
            i += 1
            if fn & 1 or fn == sn:
                r = node(p, r)
                while not fn & 1 and fn != 0:
                    fn, sn, k = fn >> 1, sn >> 1, k + 1
            else:
                r = node(r, p)
            fn, sn, k = fn >> 1, sn >> 1, k + 1
        if not ok:
            failed.append(index)
            continue
        for key, h, at in trail:
            known[key] = (h, flat, at)
    return failed
