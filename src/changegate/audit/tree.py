"""The audit log's Merkle tree in the database: the complete-subtree hashes appended with each
event, roots and proofs read from them in O(log n) rows, and their check against the leaves.

Leaf ``i`` is event ``seq = i + 1`` (its stored ``leaf_hash``); the hashes of complete
subtrees of level 1 and up live in ``audit_subtrees``. The proofs themselves are
:mod:`changegate.audit.merkle` (pure).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, or_, select
from sqlalchemy.orm import Session

from changegate.audit import merkle
from changegate.audit.driver_sql import AppendSql
from changegate.audit.models import AuditEvent, AuditHead, AuditSubtree
from changegate.errors import IntegrityFailure, InvalidInput


class Reader:
    """Fetches complete-subtree hashes (a :data:`merkle.Fetch`), counting the rows it reads."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows_read = 0

    def __call__(self, wanted: set[merkle.Subtree]) -> dict[merkle.Subtree, bytes]:
        out: dict[merkle.Subtree, bytes] = {}
        seqs = [index + 1 for level, index in wanted if level == 0]
        if seqs:
            rows = self.session.execute(
                select(AuditEvent.seq, AuditEvent.leaf_hash).where(AuditEvent.seq.in_(seqs))
            )
            out.update(((0, int(seq) - 1), bytes(h)) for seq, h in rows)
        by_level: dict[int, list[int]] = defaultdict(list)
        for level, index in wanted:
            if level:
                by_level[level].append(index)
        if by_level:
            inner = self.session.execute(
                select(AuditSubtree.level, AuditSubtree.idx, AuditSubtree.hash).where(
                    or_(
                        *(
                            and_(AuditSubtree.level == level, AuditSubtree.idx.in_(indexes))
                            for level, indexes in by_level.items()
                        )
                    )
                )
            )
            out.update(((int(level), int(index)), bytes(h)) for level, index, h in inner)
        self.rows_read += len(out)
        missing = sorted(wanted - out.keys())
        if missing:
            raise _lacks(*missing[0])
        return out


def _lacks(level: int, index: int) -> IntegrityFailure:
    return IntegrityFailure(
        f"the audit log's Merkle tree lacks the subtree at level {level}, index {index} "
        "(rows deleted behind the log's back?): run `changegate audit verify`"
    )


_INSERT_SUBTREES = insert(AuditSubtree)


def append_on(
    cur: Any, sql: AppendSql, index: int, leaf_hash: bytes, *, previous_leaf: bytes | None = None
) -> None:
    """Store the subtrees that leaf ``index`` completes (record() calls it under the head lock,
    with its cursor on the driver: :mod:`changegate.audit.driver_sql`): level ``l`` is complete
    when ``index + 1`` is a multiple of ``2**l``; its left half is read, its right half is the
    one just computed. ``previous_leaf``: leaf ``index - 1``'s hash when the caller wrote it in
    this transaction (it is then not read back)."""
    count = index + 1
    levels = (count & -count).bit_length() - 1
    if not levels:
        return
    lefts: dict[merkle.Subtree, bytes] = {}
    leaf = previous_leaf
    if leaf is None:  # leaf count - 2 is event count - 1
        cur.execute(sql.leaf, (count - 1,))
        row = cur.fetchone()
        leaf = None if row is None else bytes(row[0])
    if leaf is not None:
        lefts[(0, count - 2)] = leaf
    if levels > 1:
        cur.execute(sql.lefts(levels), [(count >> level) - 2 for level in range(1, levels)])
        for level, idx, h in cur.fetchall():
            lefts[(int(level), int(idx))] = bytes(h)
    acc = leaf_hash
    rows: list[tuple[int, int, bytes]] = []
    for level in range(1, levels + 1):
        left = lefts.get((level - 1, (count >> (level - 1)) - 2))
        if left is None:
            raise _lacks(level - 1, (count >> (level - 1)) - 2)
        acc = merkle.node(left, acc)
        rows.append((level, (count >> level) - 1, acc))
    cur.executemany(sql.insert_subtree, rows)


def append_many(session: Session, start: int, leaves: Sequence[bytes]) -> None:
    """What :func:`append_on` stores for leaves ``start, start + 1, ...`` (a batch of events
    appended at once, under the head lock): the subtrees they complete, computed in memory
    from the batch and the few left siblings read before it, inserted in one statement."""
    made: dict[merkle.Subtree, bytes] = {(0, start + i): leaf for i, leaf in enumerate(leaves)}
    read = Reader(session)
    rows: list[dict[str, Any]] = []
    for i, leaf in enumerate(leaves):
        count = start + i + 1
        levels = (count & -count).bit_length() - 1
        need = {k for k in ((lv, (count >> lv) - 2) for lv in range(levels)) if k not in made}
        if need:
            made.update(read(need))
        acc = leaf
        for level in range(1, levels + 1):
            acc = merkle.node(made[(level - 1, (count >> (level - 1)) - 2)], acc)
            made[(level, (count >> level) - 1)] = acc
            rows.append({"level": level, "idx": (count >> level) - 1, "hash": acc})
    if rows:
        session.connection().execute(_INSERT_SUBTREES, rows)  # Core executemany


def head_size(session: Session) -> int:
    seq = session.connection().execute(select(AuditHead.seq).where(AuditHead.id == 1)).scalar()
    return 0 if seq is None else int(seq)


def _size(session: Session, size: int | None) -> int:
    current = head_size(session)
    if size is None:
        return current
    if not 1 <= size <= current:
        raise InvalidInput(
            f"--size {size}: the log holds {current} events; give a size from 1 to {current}",
            field="size",
        )
    return size


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    size: int
    leaf_hash: bytes
    proof: list[bytes]
    root: bytes

    def to_dict(self) -> dict[str, object]:
        return {
            "seq": self.seq,
            "leaf_index": self.seq - 1,
            "tree_size": self.size,
            "leaf_hash": self.leaf_hash.hex(),
            "proof": [h.hex() for h in self.proof],
            "root": self.root.hex(),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    old_size: int
    new_size: int
    old_root: bytes
    new_root: bytes
    proof: list[bytes]

    def to_dict(self) -> dict[str, object]:
        return {
            "old_size": self.old_size,
            "new_size": self.new_size,
            "old_root": self.old_root.hex(),
            "new_root": self.new_root.hex(),
            "proof": [h.hex() for h in self.proof],
        }


def _within(
    session: Session, size: int | None, value: int, field: str, why: Callable[[int], str]
) -> int:
    """The tree's size (``size`` or the whole log), with ``value`` between 1 and it, or the
    error naming ``field``."""
    n = _size(session, size)
    if not 1 <= value <= n:
        raise InvalidInput(f"{why(n)}: give {field.upper()} from 1 to {n}", field=field)
    return n


def _proof(
    session: Session, reader: Reader | None, ranges: list[tuple[int, int]], *also: tuple[int, int]
) -> tuple[dict[merkle.Subtree, bytes], list[bytes]]:
    """The stored hashes a proof over ``ranges`` needs (and the ranges ``also`` named), and the
    proof: one hash per range, in order."""
    hashes = dict((reader or Reader(session))(merkle.needed([*ranges, *also])))
    return hashes, [merkle.range_hash(lo, hi, hashes) for lo, hi in ranges]


def root(session: Session, size: int | None = None, reader: Reader | None = None) -> bytes:
    """The RFC 9162 root of the first ``size`` events (default: the whole log)."""
    return merkle.root(_size(session, size), reader or Reader(session))


def inclusion(
    session: Session, seq: int, size: int | None = None, reader: Reader | None = None
) -> InclusionProof:
    """The inclusion proof of event ``seq`` in the tree of the first ``size`` events."""
    n = _within(session, size, seq, "seq", lambda n: f"event #{seq} is not in a log of {n} events")
    ranges = merkle.inclusion_ranges(seq - 1, n)
    hashes, proof = _proof(session, reader, ranges, (0, n), (seq - 1, seq))
    return InclusionProof(seq, n, hashes[(0, seq - 1)], proof, merkle.range_hash(0, n, hashes))


def consistency(
    session: Session, old: int, new: int | None = None, reader: Reader | None = None
) -> ConsistencyProof:
    """The consistency proof from the tree of ``old`` events to that of ``new`` (default: all)."""
    n = _within(
        session,
        new,
        old,
        "old_size",
        lambda n: f"old size {old} is not a size up to the newer tree's ({n} events)",
    )
    ranges = merkle.consistency_ranges(old, n)
    hashes, proof = _proof(session, reader, ranges, (0, old), (0, n))
    return ConsistencyProof(
        old, n, merkle.range_hash(0, old, hashes), merkle.range_hash(0, n, hashes), proof
    )


def subtree_rows(leaves: Sequence[bytes]) -> Iterator[dict[str, object]]:
    """The ``audit_subtrees`` rows of a log whose leaf hashes are ``leaves`` (bulk fills:
    migration 0010, the benchmarks)."""
    for level, layer in enumerate(merkle.levels(leaves), start=1):
        for index, h in enumerate(layer):
            yield {"level": level, "idx": index, "hash": h}


def _column(session: Session, sql: str) -> list[Any]:
    """Rows straight from the DB-API cursor (the ORM's per-row cost would dominate verify)."""
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    return list(rows)


def _hash(value: Any) -> bytes:
    """A stored hash as the checks of ``audit verify`` compare it: psycopg may hand out
    memoryviews. A value of another type (text or a number, as someone writing the database
    directly could leave) becomes ``b""``, which no hash equals: the check reports the row as
    edited instead of failing on it. Not for the proofs or the append, which refuse such a
    value (``bytes()`` raises) rather than build on it."""
    if isinstance(value, bytes | memoryview | bytearray):
        return bytes(value)
    return b""


def _as_bytes(values: list[Any]) -> list[bytes]:
    """psycopg may hand out memoryviews; sqlite3 gives bytes (left as they are)."""
    if values and values[0].__class__ is not bytes:  # a later odd value compares unequal
        return [_hash(v) for v in values]
    return values


def problems(
    session: Session, size: int, limit: int = 5, leaves: list[bytes] | None = None
) -> list[str]:
    """Every stored subtree hash recomputed from the (already verified) leaf hashes of the
    first ``size`` events (``leaves``, when the chain check read them already): an edited,
    missing or extra row is named. The subtrees are read once and compared whole (per level:
    count and index range, then every hash in order); rows are examined only on a difference."""
    if leaves is None or len(leaves) != size:  # not handed over by the chain check: read them
        leaves = _as_bytes(
            [
                r[0]
                for r in _column(
                    session,
                    f"SELECT leaf_hash FROM audit_events WHERE seq <= {int(size)} ORDER BY seq",
                )
            ]
        )
    computed = list(merkle.levels(leaves))
    hashes = _as_bytes(
        [r[0] for r in _column(session, "SELECT hash FROM audit_subtrees ORDER BY level, idx")]
    )
    if _shape_ok(session, size) and hashes == [h for layer in computed for h in layer]:
        return []
    rows = _column(session, "SELECT level, idx, hash FROM audit_subtrees ORDER BY level, idx")
    stored = [(int(lv), int(ix), _hash(h)) for lv, ix, h in rows]
    return _diagnose(computed, stored)[:limit]


def _shape_ok(session: Session, size: int) -> bool:
    """Whether each level of ``audit_subtrees`` holds exactly the rows a log of ``size`` events
    has: floor(size / 2**level) of them, indexed from 0 without a gap or an extra."""
    counts = _column(
        session,
        "SELECT level, COUNT(*), MIN(idx), MAX(idx) FROM audit_subtrees GROUP BY level "
        "ORDER BY level",
    )
    expected = []
    level, width = 1, size // 2
    while width >= 1:
        expected.append((level, width, 0, width - 1))
        level, width = level + 1, width // 2
    return [(int(lv), int(n), int(lo), int(hi)) for lv, n, lo, hi in counts] == expected


def _diagnose(computed: list[list[bytes]], stored: list[tuple[int, int, bytes]]) -> list[str]:
    found: list[str] = []
    by_level: dict[int, dict[int, bytes]] = defaultdict(dict)
    for level, index, h in stored:
        by_level[level][index] = h
    for level, layer in enumerate(computed, start=1):
        got = by_level.pop(level, {})
        for index, h in sorted(got.items()):
            if index >= len(layer):
                found.append(_where(level, index, "stored for leaves the log does not hold"))
            elif h != layer[index]:
                found.append(_where(level, index, "differs from the hash of its leaves (edited)"))
        missing = sum(1 for index in range(len(layer)) if index not in got)
        if missing:
            found.append(f"the Merkle tree lacks {missing} subtree(s) at level {level}")
    extra = sum(len(v) for v in by_level.values())
    if extra:
        found.append(
            f"{extra} Merkle subtree row(s) above level {len(computed)}: not part of this log"
        )
    return found


def _where(level: int, index: int, what: str) -> str:
    return (
        f"Merkle subtree at level {level}, index {index} (events #{(index << level) + 1}-"
        f"#{(index + 1) << level}) {what} behind the log's back"
    )


#: a segment of a parallel `audit verify` starts on a multiple of 2**SEGMENT_LEVEL leaves, so
#: every subtree up to this level lies within one segment and that segment's worker checks it
#: from the leaves it has just verified; the few subtrees above it are checked from their
#: stored children (:func:`upper_problems`)
SEGMENT_LEVEL = 14


def segment_problems(cursor: Any, start: int, leaves: list[bytes], limit: int = 5) -> list[str]:
    """In a verify worker: the stored subtrees of levels 1..SEGMENT_LEVEL over leaves
    ``start .. start + len(leaves) - 1`` (``start`` a multiple of 2**SEGMENT_LEVEL) against
    those leaves; an edited or missing row inside the segment is named."""
    found: list[str] = []
    for level, layer in enumerate(merkle.levels(leaves), start=1):
        if level > SEGMENT_LEVEL:
            break
        first = start >> level
        where = f"WHERE level = {level} AND idx >= {first} AND idx < {first + len(layer)}"
        cursor.execute(f"SELECT hash FROM audit_subtrees {where} ORDER BY idx")
        if _as_bytes([row[0] for row in cursor.fetchall()]) == layer:
            continue  # every row, in index order, none missing: compared as one list
        cursor.execute(f"SELECT idx, hash FROM audit_subtrees {where} ORDER BY idx")
        stored = {int(i): _hash(h) for i, h in cursor.fetchall()}
        for k, h in enumerate(layer):
            if first + k not in stored:
                found.append(_where(level, first + k, "is missing from the stored tree"))
            elif stored[first + k] != h:
                found.append(
                    _where(level, first + k, "differs from the hash of its leaves (edited)")
                )
            if len(found) >= limit:
                return found
    return found


def upper_problems(session: Session, size: int, limit: int = 5) -> list[str] | None:
    """In the verify parent: each level holds exactly the rows a log of ``size`` events has,
    and every subtree above SEGMENT_LEVEL is the hash of its two stored children (those at
    SEGMENT_LEVEL were checked against the leaves by the workers). None when the rows per level
    are not what they should be: the caller runs the full :func:`problems` to name them."""
    if not _shape_ok(session, size):
        return None
    rows = _column(
        session,
        f"SELECT level, idx, hash FROM audit_subtrees WHERE level >= {SEGMENT_LEVEL}",
    )
    stored = {(int(lv), int(ix)): _hash(h) for lv, ix, h in rows}
    found: list[str] = []
    for (lv, ix), h in sorted(stored.items()):
        if lv == SEGMENT_LEVEL:
            continue
        left, right = stored.get((lv - 1, 2 * ix)), stored.get((lv - 1, 2 * ix + 1))
        if left is None or right is None or merkle.node(left, right) != h:
            found.append(_where(lv, ix, "is not the hash of its two subtrees (edited)"))
            if len(found) >= limit:
                break
    return found
