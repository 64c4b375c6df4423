"""Verifying the whole record: the hash chain, the indexed columns' definitions, anchors kept
outside the database, and every business and derived row against the events describing it."""

from __future__ import annotations

import itertools
import json
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from changegate.audit import raw_rows, tree
from changegate.audit.chain import (
    GENESIS,
    ChainBreak,
    chain_and_index_ok,
    chain_ok,
    verify_rows,
)
from changegate.audit.columns import definition_problems
from changegate.audit.models import AuditEvent, AuditHead
from changegate.audit.service import Audited, entity_id
from changegate.errors import InvalidInput


@dataclass(frozen=True)
class Anchor:
    """A chain hash taken earlier and kept outside the database (``SEQ:HEX``, as `audit verify`
    prints its head). The chain proves the log is intact from its start to its head; an anchor
    also proves that the log up to ``seq`` is the one seen when the anchor was taken, so a
    rewrite of the whole log (every hash recomputed) is caught."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, value: str) -> Anchor:
        seq, sep, digest = value.strip().partition(":")
        digest = digest.strip().lower()
        if (
            not sep
            or not seq.isdigit()
            or int(seq) < 1
            or len(digest) != 64
            or not set(digest) <= set("0123456789abcdef")
        ):
            raise InvalidInput(
                f"--anchor {value!r}: give SEQ:HASH as `audit verify` prints its head, e.g. "
                "1042:3f6c…(64 hex digits)",
                field="anchor",
            )
        return cls(int(seq), digest)


@dataclass
class VerifyReport:
    events: int = 0
    rows_checked: int = 0
    head_seq: int = 0
    head_hash: str = ""
    problems: list[str] = field(default_factory=list)
    first_broken_seq: int | None = None
    anchors: list[dict[str, Any]] = field(default_factory=list)
    #: evidence files whose bytes were purged past retention, each with its purge event
    purged: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "rows_checked": self.rows_checked,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "first_broken_event": self.first_broken_seq,
            "problems": self.problems,
            "anchors": self.anchors,
            "purged": self.purged,
        }


_SELECT_EVENTS = "SELECT seq, data, leaf_hash, chain_hash, entity_key, change_key FROM audit_events"
_SELECT_FAST = "SELECT data, leaf_hash, chain_hash FROM audit_events"
#: the fast path with the indexed columns, as UTF-8 bytes to compare with the event's bytes
_SELECT_FAST_INDEX = {
    "sqlite": "SELECT data, leaf_hash, chain_hash, CAST(entity_key AS BLOB), "
    "CAST(change_key AS BLOB) FROM audit_events",
    "postgresql": "SELECT data, leaf_hash, chain_hash, convert_to(entity_key, 'UTF8'), "
    "convert_to(change_key, 'UTF8') FROM audit_events",
}
#: below this many events one process verifies; above it, one process per core takes a segment
PARALLEL_MIN_EVENTS = 200_000


@dataclass(frozen=True)
class SegmentsChecked:
    """The Merkle tree already checked by the verify workers and the parent: its problems."""

    problems: list[str]


#: events lo..hi checked: how many, the last chain hash, the first break, and their verified
#: leaf hashes in order (None when the fast path did not finish: the caller reads them), or
#: the Merkle tree's problems when the segments checked it already
Checked = tuple[int, bytes, ChainBreak | None, list[bytes] | SegmentsChecked | None]


def _leaves_of(
    batches: Generator[list[Any], None, None], leaves: list[bytes]
) -> Generator[list[Any], None, None]:
    """The batches, unchanged, keeping each row's stored leaf hash (column 1) on the way:
    the chain loop checks it against the bytes, and the Merkle check reuses it. Closing it
    closes ``batches``."""
    try:
        for rows in batches:
            leaves.extend([r[1] for r in rows])
            yield rows
    finally:
        batches.close()


def _verify_range(
    dbapi_conn: Any, lo: int, hi: int, prev: bytes, index: frozenset[bytes] | None
) -> Checked:
    """Verify events lo..hi; ``index``: the change-scoped entity types when the indexed
    columns are checked too (:func:`changegate.audit.chain.index_ok`), None when not."""
    where = f" WHERE seq >= {int(lo)} AND seq <= {int(hi)} ORDER BY seq"
    sqlite = raw_rows.is_sqlite(dbapi_conn)
    cur = raw_rows.cursor(dbapi_conn)  # psycopg: binary rows, bytea as its bytes
    try:
        if sqlite:
            cur.execute("PRAGMA mmap_size=268435456")  # sequential scan of a large table
        leaves: list[bytes] = []
        if index is not None:
            sql = _SELECT_FAST_INDEX["sqlite" if sqlite else "postgresql"] + where
            read = _leaves_of(raw_rows.batches(cur, sql, sqlite=sqlite), leaves)
            count, last, ok = chain_and_index_ok(read, prev, index)
        else:
            read = _leaves_of(raw_rows.batches(cur, _SELECT_FAST + where, sqlite=sqlite), leaves)
            count, last, ok = chain_ok(read, prev)
        read.close()  # a stream left at a break: the connection runs the next statement
        if ok and count == hi - lo + 1:
            return count, last, None, leaves
        events = raw_rows.rows(cur, _SELECT_EVENTS + where, sqlite=sqlite)  # name the break
        try:
            rows = events if index is not None else (r[:4] for r in events)
            return (*verify_rows(rows, start_seq=lo, prev=prev, scoped=index or frozenset()), None)
        finally:
            events.close()
    finally:
        cur.close()


def _verify_segment(
    url: str, lo: int, hi: int, prev: bytes, index: frozenset[bytes] | None
) -> tuple[int, bytes, ChainBreak | None, list[str] | None]:
    """Runs in a worker process with its own connection: the segment's chain, then the Merkle
    subtrees within it from the leaves just verified (:func:`tree.segment_problems`)."""
    from changegate.db import make_engine

    engine = make_engine(url, poolclass=NullPool)
    try:
        conn = engine.raw_connection()
        try:
            dbapi = conn.dbapi_connection
            count, last, broken, leaves = _verify_range(dbapi, lo, hi, prev, index)
            if broken is not None or leaves is None or isinstance(leaves, SegmentsChecked):
                return count, last, broken, None  # None: the parent checks the whole tree
            cur = raw_rows.cursor(dbapi)
            try:
                return count, last, None, tree.segment_problems(cur, lo - 1, leaves)
            finally:
                cur.close()
        finally:
            conn.close()
    finally:
        engine.dispose()


def _verify_chain(session: Session, head_seq: int, index: frozenset[bytes] | None) -> Checked:
    """Recompute the chain over events 1..head_seq, and check each event's indexed columns
    against its bytes, in segments on every core when it is long.

    A segment starts from the stored chain hash just before it; the previous segment checks that
    very hash as its last row, so the segments together verify the whole chain.
    """
    import os

    dbapi_conn = session.connection().connection.dbapi_connection
    workers = min(os.cpu_count() or 1, 4)
    if head_seq < PARALLEL_MIN_EVENTS or workers < 2 or not hasattr(os, "fork"):
        return _verify_range(dbapi_conn, 1, head_seq, GENESIS, index)
    # segments start on a multiple of 2**SEGMENT_LEVEL events: each worker checks the Merkle
    # subtrees that lie within its segment
    step = 1 << tree.SEGMENT_LEVEL
    bounds = [0] + [(head_seq * i // workers) // step * step for i in range(1, workers)]
    bounds.append(head_seq)
    if any(b <= a for a, b in itertools.pairwise(bounds)):
        return _verify_range(dbapi_conn, 1, head_seq, GENESIS, index)
    starts: list[bytes] = [GENESIS]
    for b in bounds[1:-1]:
        stored = session.scalar(select(AuditEvent.chain_hash).where(AuditEvent.seq == b))
        if stored is None:  # a hole at a boundary: let one process find and name it
            return _verify_range(dbapi_conn, 1, head_seq, GENESIS, index)
        starts.append(bytes(stored))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    url = session.connection().engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [
            pool.submit(_verify_segment, url, bounds[i] + 1, bounds[i + 1], starts[i], index)
            for i in range(workers)
        ]
        results = [f.result() for f in futures]
    total = 0
    last = GENESIS
    problems: list[str] = []
    for count, last_hash, broken, found in results:
        total += count
        if broken is not None:
            return total, last_hash, broken, None
        last = last_hash
        if found is None:  # a segment could not check its subtrees: check the whole tree
            return total, last, None, None
        problems += found
    upper = tree.upper_problems(session, head_seq)
    if upper is None:  # rows missing or extra at some level: the full check names them
        return total, last, None, None
    return total, last, None, SegmentsChecked(problems + upper)


def verify(
    session: Session,
    *,
    check_rows: bool = True,
    check_index: bool = True,
    anchors: Sequence[Anchor] = (),
    deep: bool = False,
) -> VerifyReport:
    """Recompute the chain, check that the indexed columns (``entity_key``, ``change_key``)
    are derived from the hashed bytes, check the chain against each anchor kept outside the
    database, then check every business row against the last event describing it and every
    derived table against the rows it is derived from.

    The indexed columns are generated by the database from each event's bytes
    (:mod:`changegate.audit.columns`): their definitions are read back once. On SQLite, whose
    columns are VIRTUAL (no stored value), that is the proof; on PostgreSQL (STORED values a
    replaced function could have computed), and wherever a definition differs, every event's
    columns are also checked against its bytes.
    ``check_index=False`` skips the indexed columns (the benchmark's hash-only figure).
    ``deep=True`` also has SQLite recompute every index entry of the audit table
    (:func:`_check_indexes`; several times slower than the rest of verify)."""
    from changegate.models import AUDITED

    report = VerifyReport()
    conn = session.connection()  # Core: record() writes the head row with Core statements
    head = conn.execute(
        select(AuditHead.seq, AuditHead.chain_hash).where(AuditHead.id == 1)
    ).first()
    if head is None:
        report.problems.append("audit head row is missing")
        return report
    report.head_seq, report.head_hash = int(head.seq), bytes(head.chain_hash).hex()
    definitions = definition_problems(conn) if check_index else []
    for problem in definitions:
        _problem(report, None, problem)
    each_event = check_index and (bool(definitions) or conn.dialect.name != "sqlite")
    count, last, broken, leaves = _verify_chain(
        session, head.seq, change_scoped(AUDITED) if each_event else None
    )
    report.events = count
    if broken is not None:
        report.problems.append(str(broken))
        report.first_broken_seq = broken.seq
        return report
    if count != head.seq or last != head.chain_hash:
        report.problems.append(
            f"event #{count + 1}: the log ends at #{count} but its head says #{head.seq} "
            "(events deleted from the end, or a forged head)"
        )
        report.first_broken_seq = count + 1
        return report
    _check_anchors(session, report, anchors)
    if isinstance(leaves, SegmentsChecked):
        tree_problems = leaves.problems
    else:
        tree_problems = tree.problems(session, head.seq, leaves=leaves)
    for problem in tree_problems:
        _problem(report, None, problem)
    if deep:
        _check_indexes(session, report)
    if check_rows:
        _check_rows(session, report, AUDITED)
        _check_derived(session, report)
    return report


def _check_indexes(session: Session, report: VerifyReport) -> None:
    """SQLite: whether the indexes of audit_events hold what their definitions give for every
    event. An index on a VIRTUAL column stores values: one rebuilt while the definition was
    forged (``PRAGMA writable_schema``, REINDEX, definition put back) keeps them, and only a
    recomputation of every entry (``PRAGMA integrity_check`` of the table) sees it.
    PostgreSQL's per-event check already reads the stored values."""
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return
    found = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check(audit_events)")]
    if found != ["ok"]:
        _problem(
            report,
            None,
            "the indexes of audit_events differ from what their definitions give for the event "
            f"bytes (rebuilt under another definition?): {'; '.join(found[:3])}",
        )


def change_scoped(audited: dict[str, type]) -> frozenset[bytes]:
    """Entity types whose rows belong to a change (a ``change_id`` column): their audited state
    carries the change as its ``change`` field (tests/audit/test_coverage.py checks it)."""
    return frozenset(
        name.encode()
        for name, model in audited.items()
        if name != "change" and "change_id" in model.__table__.columns  # type: ignore[attr-defined]
    )


def _check_anchors(session: Session, report: VerifyReport, anchors: Sequence[Anchor]) -> None:
    """The chain verified, so each stored chain hash is the recomputed one: compare it."""
    for anchor in anchors:
        stored = session.scalar(select(AuditEvent.chain_hash).where(AuditEvent.seq == anchor.seq))
        found = None if stored is None else bytes(stored).hex()
        ok = found == anchor.hash
        report.anchors.append({"seq": anchor.seq, "hash": anchor.hash, "ok": ok})
        if found is None:
            _problem(
                report,
                anchor.seq,
                f"anchored but the log ends at #{report.head_seq} (events deleted, or the whole "
                "log replaced)",
            )
        elif not ok:
            _problem(
                report,
                anchor.seq,
                f"chain hash {found[:16]}… differs from the anchor {anchor.hash[:16]}… taken "
                "earlier: the log up to here was rewritten",
            )


def _check_rows(session: Session, report: VerifyReport, audited: dict[str, type]) -> None:
    counts = (
        select(
            AuditEvent.entity_key,
            func.count().label("n"),
            func.max(AuditEvent.seq).label("last"),
        )
        .group_by(AuditEvent.entity_key)
        .subquery()
    )
    rows = session.execute(
        select(counts.c.entity_key, counts.c.n, AuditEvent.seq, AuditEvent.data).join(
            AuditEvent, AuditEvent.seq == counts.c.last
        )
    )
    expected: dict[str, tuple[int, dict[str, Any] | None]] = {}
    purges: set[int] = set()  # the last event of an entity is a purge of its bytes
    for row in rows:
        key, n, seq, data = str(row[0]), int(row[1]), int(row[2]), bytes(row[3])
        event = json.loads(data)
        if event.get("entity") != key:
            _problem(
                report, seq, f"index says it describes {key}, its bytes say {event.get('entity')}"
            )
            continue
        if event.get("entity_version") != n:
            _problem(
                report,
                seq,
                f"{key} has {n} events but its last is version {event.get('entity_version')} "
                "(events re-attributed)",
            )
            continue
        expected[key] = (seq, event.get("after"))
        if event.get("action") == "retention.blob_purged":
            purges.add(seq)
    for entity_type, model in audited.items():
        obj: Any
        for obj in session.execute(select(model)).scalars():
            state = obj.audit_state()
            key = f"{entity_type}:{entity_id(entity_type, state)}"
            report.rows_checked += 1
            seen = expected.pop(key, None)
            if seen is None:
                _problem(
                    report,
                    None,
                    f"{key} exists but no audit event describes it (written behind the log's back)",
                )
                continue
            seq, after = seen
            if after != state:
                diff = sorted(
                    k for k in set(state) | set(after or {}) if (after or {}).get(k) != state.get(k)
                )
                _problem(
                    report,
                    seq,
                    f"{key} differs from the state this event recorded: {', '.join(diff)}",
                )
            _extra_row_checks(report, entity_type, obj, seq, seq in purges)
    for key, (seq, after) in sorted(expected.items(), key=lambda kv: kv[1][0]):
        if after is not None and key.split(":", 1)[0] in audited:
            _problem(
                report,
                seq,
                f"{key} was recorded but its row is gone (deleted behind the log's back)",
            )


def undescribed(session: Session, entity_type: str, obj: Audited) -> str | None:
    """Why one audited row differs from the last event describing it, or None when it agrees:
    what ``audit verify`` checks for every row, for one row a decision is about to rely on
    (one indexed lookup and one parse), so that a row written behind the log's back cannot
    open a gate before the next verify names it."""
    state = obj.audit_state()
    key = f"{entity_type}:{entity_id(entity_type, state)}"
    data = session.scalar(
        select(AuditEvent.data)
        .where(AuditEvent.entity_key == key)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    if data is None:
        return f"{key} exists but no audit event describes it (written behind the log's back)"
    event = json.loads(bytes(data))
    if event.get("entity") != key or event.get("after") != state:
        return f"{key} differs from the last event describing it (edited behind the log's back)"
    return None


def _check_derived(session: Session, report: VerifyReport) -> None:
    from changegate.audit.derived import check_derived

    for problem in check_derived(session):
        _problem(report, None, problem)


def _extra_row_checks(
    report: VerifyReport, entity_type: str, obj: Any, seq: int, purged: bool
) -> None:
    """A blob's bytes must hash to its SHA-256, unless its last event purged them (and the
    database lets a purge only erase them): purged per retention, not tampering."""
    import hashlib

    if entity_type == "blob" and purged and not obj.content:
        report.purged.append(f"blob:{obj.sha256} purged per retention (event #{seq})")
    elif entity_type == "blob" and hashlib.sha256(obj.content).hexdigest() != obj.sha256:
        _problem(report, seq, f"blob:{obj.sha256} content does not match its SHA-256")
    if entity_type == "policy":
        if hashlib.sha256(obj.text.encode()).hexdigest() != obj.digest:
            _problem(report, seq, f"policy:{obj.id} text does not match its digest")
        elif obj.snapshot is not None and not _snapshot_matches(obj.text, obj.snapshot):
            _problem(
                report,
                seq,
                f"policy:{obj.id} stored snapshot differs from its validated text (commands "
                "read the snapshot; rewrite it with `changegate init`)",
            )


def _snapshot_matches(text: str, snapshot: str) -> bool:
    """Whether a stored policy snapshot is what validating its text gives."""
    from changegate.policy.loader import check_policy_text
    from changegate.policy.snapshot import freeze, from_json

    policy, _ = check_policy_text(text)
    try:
        return policy is not None and from_json(snapshot) == freeze(policy)
    except ValueError:
        return False


def _problem(report: VerifyReport, seq: int | None, message: str) -> None:
    report.problems.append(f"event #{seq}: {message}" if seq is not None else message)
    if seq is not None and (report.first_broken_seq is None or seq < report.first_broken_seq):
        report.first_broken_seq = seq
