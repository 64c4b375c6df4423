"""Hashing and verification of audit event bytes. Pure: bytes in, verdicts out.

Leaf hashes follow RFC 9162 §2.1.1: ``SHA-256(0x00 || event bytes)``, so Merkle inclusion and
consistency proofs can be built over the same table. The chain hash links events in order:
``chain[n] = SHA-256(chain[n-1] || leaf[n])`` with ``chain[0]`` = 32 zero bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = b"\x00" * 32
_sha256 = hashlib.sha256


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON-compatible value."""
    import rfc8785

    return rfc8785.dumps(value)


def leaf_hash(data: bytes) -> bytes:
    h = _sha256(b"\x00")
    h.update(data)
    return h.digest()


def chain_hash(prev: bytes, leaf: bytes) -> bytes:
    return _sha256(prev + leaf).digest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"event #{self.seq}: {self.problem}"


def verify_rows(
    rows: Iterable[tuple[int, bytes, bytes, bytes]], *, start_seq: int = 1, prev: bytes = GENESIS
) -> tuple[int, bytes, ChainBreak | None]:
    """Check ``(seq, data, leaf, chain)`` rows in order.

    Returns the number of events checked, the last chain hash, and the first break (or None).
    Kept as one tight loop: this is the hot path of ``audit verify``.
    """
    expected = start_seq
    sha = _sha256
    zero = b"\x00"
    count = 0
    for seq, data, leaf, chain in rows:
        if seq != expected:
            problem = (
                f"sequence gap: expected #{expected}, found #{seq} (an event was deleted)"
                if seq > expected
                else f"sequence out of order: #{seq} after #{expected - 1}"
            )
            return count, prev, ChainBreak(expected if seq > expected else seq, problem)
        computed_leaf = sha(zero + data).digest()
        prev_next = sha(prev + computed_leaf).digest()
        if prev_next != chain or computed_leaf != leaf:
            if computed_leaf != bytes(leaf):
                return (
                    count,
                    prev,
                    ChainBreak(seq, "event bytes do not match their leaf hash (edited)"),
                )
            if prev_next != bytes(chain):
                return (
                    count,
                    prev,
                    ChainBreak(
                        seq,
                        "chain hash does not follow from the previous event (reordered or forged)",
                    ),
                )
        prev = prev_next
        expected += 1
        count += 1
    return count, prev, None


def chain_ok(
    batches: Iterable[Sequence[tuple[bytes, bytes, bytes]]], prev: bytes = GENESIS
) -> tuple[int, bytes, bool]:
    """The fast path of verification: batches of ``(data, leaf, chain)`` rows in sequence order.

    Returns how many rows matched, the last chain hash, and whether every row matched. It does
    not explain a failure: on ``False`` the caller re-runs :func:`verify_rows` to name the break.
    Batches (lists straight from ``fetchmany``) keep a generator step out of the per-row loop.
    """
    sha = _sha256
    zero = b"\x00"
    count = 0
    for rows in batches:
        for data, leaf, chain in rows:
            computed_leaf = sha(zero + data).digest()
            prev = sha(prev + computed_leaf).digest()
            if prev != chain or computed_leaf != leaf:
                return count, prev, False
        count += len(rows)
    return count, prev, True
