"""Hashing and verification of audit event bytes. Pure: bytes in, verdicts out.

Leaf hashes follow RFC 9162 §2.1.1: ``SHA-256(0x00 || event bytes)``, so Merkle inclusion and
consistency proofs can be built over the same table. The chain hash links events in order:
``chain[n] = SHA-256(chain[n-1] || leaf[n])`` with ``chain[0]`` = 32 zero bytes.
"""

from __future__ import annotations

import hashlib
import json
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


# -- the indexed columns -------------------------------------------------------------------


def index_keys(event: dict[str, Any]) -> tuple[str, str | None]:
    """The indexed columns of an event, derived from the event itself: ``entity_key`` is its
    entity; ``change_key`` is the change it is about: the change's own key for an event about a
    change, else the ``change`` field of the state it describes (``after``, or ``before`` when
    there is no ``after``), None without one. ``record`` fills the columns with this, and
    ``audit verify`` checks every event's columns against it."""
    entity = str(event["entity"])
    after, before = event.get("after"), event.get("before")
    state = after or before
    if not isinstance(state, dict) or not state:
        return entity, None
    kind, _, key = entity.partition(":")
    if kind == "change":  # record() names a change's events after its state's id
        return entity, key
    value = state.get("change")
    return entity, value if isinstance(value, str) else None


def index_problem(data: bytes, entity_key: str | None, change_key: str | None) -> str | None:
    """Why an event's indexed columns differ from what its bytes say, or None when they agree."""
    try:
        event = json.loads(data)
        entity, change = index_keys(event)
    except (ValueError, KeyError, TypeError, AttributeError):
        return "its bytes are not an event (no entity)"
    if entity_key != entity:
        return (
            f"indexed entity_key is {entity_key!r} but its bytes say {entity!r} "
            "(index column edited behind the log's back)"
        )
    if change_key != change:
        return (
            f"indexed change_key is {change_key!r} but its bytes say {change!r} "
            "(index column edited behind the log's back: `audit log` would miss or misfile it)"
        )
    return None


_EVN = b'","entity_version":'
_ENT = b',"entity":"'
_AFTER = b',"after":'
_CHANGE = b'"change":'
_CHANGE_STR = b'"change":"'


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return bytes(value).decode("utf-8", "replace")


def index_ok(
    data: bytes, entity_key: bytes, change_key: bytes | None, scoped: frozenset[bytes] = frozenset()
) -> bool:
    """Whether an event's indexed columns (as UTF-8 bytes) agree with its bytes.

    Proves the common shapes from the canonical bytes without parsing them, and parses the
    event (:func:`index_problem`) for anything it cannot prove. The proof rests on what
    canonical JSON guarantees (a quote inside a string is always escaped, keys are sorted and
    unique) and on the shape ``record`` gives every event: top-level ``action``, ``actor``,
    ``after``, ``before``, ``entity``, ``entity_version``, ...; the state of an entity type in
    ``scoped`` (``b"review"``, ...) always has its own ``change`` field at its top level.

    - entity: the event has one ``"entity_version"`` key (so it is the top-level one) and the
      member just before it is ``"entity":"<entity_key>"``;
    - change_key of an event about a change: the change's own key, with a state (``after`` is
      an object: the first ``,"after":`` is the top-level one, only strings precede it);
    - no change_key: no ``"change":"…"`` anywhere;
    - otherwise, for a ``scoped`` entity type whose ``after`` is an object: one ``"change":``
      key in the whole event (so the one ``after`` has) whose value is it.
    """
    if b"\\" not in entity_key and data.count(_EVN) == 1 and (_ENT + entity_key + _EVN) in data:
        if entity_key.startswith(b"change:"):
            if change_key == entity_key[7:] and data.startswith(b'{"', data.find(_AFTER) + 9):
                return True
        elif change_key is None:
            if _CHANGE_STR not in data:
                return True
        elif (
            entity_key.partition(b":")[0] in scoped
            and b"\\" not in change_key
            and data.count(_CHANGE) == 1
            and (_CHANGE_STR + change_key + b'"') in data
            and data.startswith(b'{"', data.find(_AFTER) + 9)
        ):
            return True
    return index_problem(data, _text(entity_key), _text(change_key)) is None


def verify_rows(
    rows: Iterable[tuple[Any, ...]],
    *,
    start_seq: int = 1,
    prev: bytes = GENESIS,
    scoped: frozenset[bytes] = frozenset(),
) -> tuple[int, bytes, ChainBreak | None]:
    """Check ``(seq, data, leaf, chain[, entity_key, change_key])`` rows in order: the chain,
    and the indexed columns when given.

    Returns the number of events checked, the last chain hash, and the first break (or None).
    Kept as one tight loop: this is the hot path of ``audit verify``.
    """
    expected = start_seq
    sha = _sha256
    zero = b"\x00"
    count = 0
    for seq, data, leaf, chain, *index in rows:
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
        if index:
            entity_key, change_key = _text(index[0]), _text(index[1])
            if not index_ok(
                data,
                (entity_key or "").encode(),
                None if change_key is None else change_key.encode(),
                scoped,
            ):
                why = index_problem(data, entity_key, change_key)
                return count, prev, ChainBreak(seq, why or "indexed columns differ")
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


def chain_and_index_ok(
    batches: Iterable[Sequence[tuple[bytes, bytes, bytes, bytes, bytes | None]]],
    prev: bytes = GENESIS,
    scoped: frozenset[bytes] = frozenset(),
) -> tuple[int, bytes, bool]:
    """:func:`chain_ok` over ``(data, leaf, chain, entity_key, change_key)`` rows (keys as
    UTF-8 bytes), also checking each event's indexed columns against its bytes.

    The loop proves the shapes most events have inline (the proofs of :func:`index_ok`, each
    search bounded by the entity's position) and calls :func:`index_ok` for every other event,
    and for every event of a batch in which a key holds a backslash (JSON escapes it, so the
    bytes cannot be compared as they are): this is the hot path of ``audit verify``.
    """
    sha = _sha256
    zero = b"\x00"
    count = 0
    full = index_ok
    evn, ent, after, change, change_str, about_change = (
        _EVN,
        _ENT,
        b',"after":{"',
        _CHANGE,
        _CHANGE_STR,
        b"change:",
    )
    prefixes = tuple(t + b":" for t in scoped)
    backslash = b"\\"
    for rows in batches:
        careful = backslash in b"".join([r[3] for r in rows]) or backslash in b"".join(
            [r[4] for r in rows if r[4] is not None]
        )
        for data, leaf, chain, entity_key, change_key in rows:
            computed_leaf = sha(zero + data).digest()
            prev = sha(prev + computed_leaf).digest()
            if prev != chain or computed_leaf != leaf:
                return count, prev, False
            # entity: the last `","entity_version":` is the only one, preceded by the entity
            j = data.rfind(evn)
            if (
                j > 0
                and not careful
                and data.endswith(ent + entity_key, 0, j)
                and data.find(evn, 0, j) < 0
            ):
                if change_key is None:
                    if change_str not in data and not entity_key.startswith(about_change):
                        continue
                elif entity_key.startswith(prefixes):  # one "change" key: the state's own
                    fragment = change_str + change_key + b'"'
                    if data.count(change) == 1 and data.find(fragment, 0, j) >= 0:
                        continue
                elif entity_key == about_change + change_key and data.find(after, 0, j) >= 0:
                    continue  # about a change: its own key, and a state before the entity
            if not full(data, entity_key, change_key, scoped):
                return count, prev, False
        count += len(rows)
    return count, prev, True
