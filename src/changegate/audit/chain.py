"""Hashing and verification of audit event bytes. Pure: bytes in, verdicts out.

Leaf hashes follow RFC 9162 §2.1.1: ``SHA-256(0x00 || event bytes)``, so Merkle inclusion and
consistency proofs can be built over the same table. The chain hash links events in order:
``chain[n] = SHA-256(chain[n-1] || leaf[n])`` with ``chain[0]`` = 32 zero bytes.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

GENESIS = b"\x00" * 32
_sha256 = hashlib.sha256


_INT_LIMIT = 2**53 - 1  # RFC 8785 §3.2.2.3: integers beyond an IEEE double's precision
_SCALARS = frozenset({str, bool, type(None)})
_encode = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
).encode


class _Decline(Exception):
    """The value holds something whose json.dumps bytes could differ from RFC 8785's."""


def _jcs_ready(value: Any) -> Any:
    """``value`` with every float written the way RFC 8785 writes it under json.dumps (an
    integral float in int's form; others only where ``repr`` is ECMAScript's form, i.e.
    1e-4 <= |f| < 1e16), or :class:`_Decline` when json.dumps could write other bytes:
    a key outside the Basic Multilingual Plane (JCS sorts UTF-16 code units, Python code
    points), a key that is not a str, an integer out of JCS's domain, a type JCS refuses."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is int:
        if -_INT_LIMIT <= value <= _INT_LIMIT:
            return value
        raise _Decline
    if kind is float:
        if value.is_integer() and -1e16 < value < 1e16:
            return int(value)  # also -0.0 -> 0; NaN and infinities are not integers
        if 1e-4 <= abs(value) < 1e16:
            return value
        raise _Decline
    if kind is dict:
        out: dict[str, Any] | None = None  # a copy only once an item changes
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) <= "\uffff"):
                raise _Decline
            if type(item) in _SCALARS:
                if out is not None:
                    out[key] = item
                continue
            ready = _jcs_ready(item)
            if out is None and ready is not item:
                out = {}
                for k, v in value.items():
                    if k == key:
                        break
                    out[k] = v
            if out is not None:
                out[key] = ready
        return value if out is None else out
    if kind is list or kind is tuple:
        items = [item if type(item) in _SCALARS else _jcs_ready(item) for item in value]
        return value if kind is list and all(map(operator.is_, items, value)) else items
    raise _Decline


def canonical_json(value: Any) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON-compatible value.

    Fast path: json.dumps (C) of the value once :func:`_jcs_ready` has checked it, whose bytes
    are RFC 8785's (same string escapes: the short ones for \\b \\t \\n \\f \\r \\" \\\\,
    ``\\u00xx`` in lowercase hex for other control characters, nothing else escaped; keys in
    the same order within the BMP); tests/audit/test_canonical_fast.py compares the two on
    generated values. Anything else (and lone surrogates, which UTF-8 cannot encode) goes to
    the rfc8785 package, which also raises the errors."""
    try:
        return _encode(_jcs_ready(value)).encode()
    except (_Decline, UnicodeEncodeError):
        pass
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
    entity (a string); ``change_key`` is the change it is about: the change's own key for an
    event about a change (entity ``change:KEY``), else the ``change`` member of the state it
    describes when that is a string, None without one. The state is ``after`` when it is a
    non-empty object, else ``before`` when it is one; without a state, None.

    The database computes the columns with this rule from the bytes (generated columns, see
    :mod:`changegate.audit.columns`; tests/audit/test_columns.py compares them), and
    ``audit verify`` checks stored values against it where a stored value could differ."""
    entity = event["entity"]
    if not isinstance(entity, str):
        raise TypeError(f"an event's entity is a string, not {type(entity).__name__}")
    state = next(
        (s for s in (event.get("after"), event.get("before")) if isinstance(s, dict) and s),
        None,
    )
    if state is None:
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


#: the content of a JSON string written without an escape: its bytes are its value
_PLAIN = rb'[^"\\\x00-\x1f]*'
#: any JSON string (escapes included)
_STRING = rb'"[^"\\\x00-\x1f]*(?:\\.[^"\\\x00-\x1f]*)*"'
#: an ``extra`` object without brackets in it (only strings and bare scalars as values)
_FLAT_EXTRA = (
    rb',"extra":\{(?:' + _STRING + rb":(?:" + _STRING + rb'|[^"{}\[\],\\\x00-\x1f]+)'
    rb'(?:,(?=")|(?=\})))*\}'
)
#: the end of an event: its top-level ``entity`` (group 1) and, for an event about a change
#: (``change:KEY``, or ``change``), the change's key (group 2)
_TAIL = re.compile(
    rb',"entity":"(change(?::|(?="))(' + _PLAIN + rb')|(?!change[:"])' + _PLAIN + rb')"'
    rb',"entity_version":[0-9]+(?:' + _FLAT_EXTRA + rb')?,"seq":[0-9]+,"ts":"' + _PLAIN + rb'"\}\Z'
)
_HEAD = rb'\{"action":"' + _PLAIN + rb'","actor":"' + _PLAIN + rb'","after":'
#: a state: ``after`` is a non-empty object, or ``after`` is null and ``before`` is one
_STATE = re.compile(_HEAD + rb'(?:null,"before":)?\{"')
_NO_STATE = re.compile(_HEAD + rb'null,"before":null,')
#: the state's own ``change`` member (group 1): its first ``"change":"``, with no bracket or
#: backslash between the state's brace and it
_BARE = rb'[^{}\[\]\\\x00-\x1f"]*'
_STATE_CHANGE = re.compile(
    _HEAD
    + rb'(?:null,"before":)?\{'
    + _BARE
    + rb'(?:"(?!change":")'
    + _BARE
    + rb')*"change":"('
    + _PLAIN
    + rb')"'
)
_ENT = b',"entity":"'
_CHANGE_STR = b'"change":"'


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return bytes(value).decode("utf-8", "replace")


def index_proved(data: bytes, entity_key: bytes, change_key: bytes | None) -> bool:
    """Whether an event's indexed columns (as UTF-8 bytes) are proven from its bytes without
    parsing them; False means "not proven" (the caller applies :func:`index_problem`).

    The proof holds for every event whose bytes are canonical JSON (RFC 8785, what
    ``record`` writes): a quote inside a string is escaped, so every raw quote delimits a
    string; keys are unique and written without escapes; no whitespace. It reads only members
    it can place at the top level or at the state's top level, whatever the states hold:

    - entity: the event ends with ``,"entity":"E","entity_version":N,"seq":N,"ts":"T"}``
      (an ``extra`` object without brackets may stand before ``seq``), with no escape in E
      or T: no bracket outside a string follows E, so these are the top-level object's last
      members;
    - the state (``after``, or ``before`` when ``after`` is null): the event starts with
      ``{"action":"A","actor":"B","after":`` (its first three members), then the state's
      opening ``{"`` (non-empty) or ``null,"before":null`` (no state);
    - change_key of an event about a change: the change's own key, with a state; None
      without one;
    - otherwise: the state's ``change`` member, found before any bracket inside the state
      (so at its top level), or None when no ``"change":"`` occurs in the event at all.
    """
    m = _TAIL.match(data, data.rfind(_ENT))
    if m is None:
        return False
    entity, key = m.groups()
    if entity != entity_key:
        return False
    if key is not None:  # about a change
        if change_key is None:
            return _NO_STATE.match(data) is not None
        return key == change_key and _STATE.match(data) is not None
    if change_key is None:
        return _CHANGE_STR not in data
    c = _STATE_CHANGE.match(data)
    return c is not None and c[1] == change_key


def index_ok(
    data: bytes, entity_key: bytes, change_key: bytes | None, scoped: frozenset[bytes] = frozenset()
) -> bool:
    """Whether an event's indexed columns (as UTF-8 bytes) agree with its bytes: proven by
    :func:`index_proved`, else decided by the exact rule (:func:`index_problem`).
    ``scoped`` is accepted for compatibility and not needed by the proof."""
    if index_proved(data, entity_key, change_key):
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
        if (
            data.__class__ is not bytes
            or leaf.__class__ is not bytes
            or chain.__class__ is not bytes
        ):
            kinds = ", ".join(type(v).__name__ for v in (data, leaf, chain))
            odd = f"event stored as {kinds} where its bytes and hashes belong (altered)"
            return count, prev, ChainBreak(seq, odd)
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
    try:
        for rows in batches:
            for data, leaf, chain in rows:
                computed_leaf = sha(zero + data).digest()
                prev = sha(prev + computed_leaf).digest()
                if prev != chain or computed_leaf != leaf:
                    return count, prev, False
            count += len(rows)
    except TypeError:  # a value stored as text or a number: verify_rows names the event
        return count, prev, False
    return count, prev, True


def chain_and_index_ok(
    batches: Iterable[Sequence[tuple[bytes, bytes, bytes, bytes, bytes | None]]],
    prev: bytes = GENESIS,
    scoped: frozenset[bytes] = frozenset(),
) -> tuple[int, bytes, bool]:
    """:func:`chain_ok` over ``(data, leaf, chain, entity_key, change_key)`` rows (keys as
    UTF-8 bytes), also checking each event's indexed columns against its bytes.

    The loop makes the proofs of :func:`index_proved` inline (no call per event: this is the
    hot path of ``audit verify``) and calls :func:`index_ok` for any event they do not prove.
    ``scoped`` is accepted for compatibility and not needed by the proofs.
    """
    sha = _sha256
    zero = b"\x00"
    count = 0
    full = index_ok
    tail, ent, state, no_state = _TAIL.match, _ENT, _STATE.match, _NO_STATE.match
    state_change, change_str = _STATE_CHANGE.match, _CHANGE_STR
    try:
        for rows in batches:
            for data, leaf, chain, entity_key, change_key in rows:
                computed_leaf = sha(zero + data).digest()
                prev = sha(prev + computed_leaf).digest()
                if prev != chain or computed_leaf != leaf:
                    return count, prev, False
                m = tail(data, data.rfind(ent))
                entity, key = (None, None) if m is None else m.groups()
                if entity == entity_key:
                    if key is not None:  # about a change: its own key, with a state
                        if change_key is None:
                            if no_state(data) is not None:
                                continue
                        elif key == change_key and state(data) is not None:
                            continue
                    elif change_key is None:
                        if change_str not in data:
                            continue
                    else:
                        m = state_change(data)
                        if m is not None and m[1] == change_key:
                            continue
                if not full(data, entity_key, change_key, scoped):
                    return count, prev, False
            count += len(rows)
    except (TypeError, AttributeError):  # a value stored as text or a number: named slowly
        return count, prev, False
    return count, prev, True
