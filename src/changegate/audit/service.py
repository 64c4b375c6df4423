"""Appending events in the caller's transaction, and reading them back (timelines, search).
Verifying the whole record is :mod:`changegate.audit.verify`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from changegate.alerts.kinds import TRIGGERS
from changegate.audit import tree
from changegate.audit.chain import canonical_json, chain_hash, index_keys, leaf_hash
from changegate.audit.driver_sql import AppendSql, driver_cursor
from changegate.audit.events import Event
from changegate.audit.models import AuditEvent
from changegate.db import iso, json_loads, utcnow
from changegate.errors import IntegrityFailure


class Audited(Protocol):
    def audit_state(self) -> dict[str, Any]: ...


def entity_id(entity_type: str, state: dict[str, Any]) -> str:
    return str(state["sha256"] if entity_type == "blob" else state["id"])


#: ``session.info`` key of the head this transaction last wrote: ``(seq, chain hash, leaf
#: hash)``. The transaction holds the head's lock from its first record to its end, so the
#: head cannot move under it and the next record in it (an approval and the state change it
#: makes) need not read the head, or the leaf before its own, again. Set only when a record
#: completes; dropped when the session's transaction or any savepoint in it ends
#: (:func:`_forget_head`), and by :func:`record_many`.
HEAD_KEY = "changegate.audit.head"


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None or transaction.nested:  # not a flush's own subtransaction
        session.info.pop(HEAD_KEY, None)


def record(
    session: Session,
    event: type[Event],
    *,
    actor: str,
    after: Audited | None = None,
    before: dict[str, Any] | None = None,
    entity: str | None = None,
    extra: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Append one event describing ``after`` (the row as it now is) and ``before``.

    Must run inside the transaction that made the change: it takes the head row's lock, so
    sequence numbers stay dense and the chain linear under concurrent writers. The event is
    written at once (statements on the driver's cursor of the session's connection, not ORM
    units of work: :mod:`changegate.audit.driver_sql`); the row returned is a detached copy of
    it (``seq``, ``data``, the hashes).
    """
    session.flush()
    after_state = after.audit_state() if after is not None else None
    state = after_state or before
    if entity is None:
        if state is None:
            raise ValueError("record() needs an entity, a before or an after state")
        entity = f"{event.entity_type}:{entity_id(event.entity_type, state)}"
    cur, sql = driver_cursor(session)
    try:
        return _append(session, cur, sql, event, actor, entity, before, after_state, extra, at)
    finally:
        cur.close()


def _append(
    session: Session,
    cur: Any,
    sql: AppendSql,
    event: type[Event],
    actor: str,
    entity: str,
    before: dict[str, Any] | None,
    after_state: dict[str, Any] | None,
    extra: dict[str, Any] | None,
    at: dt.datetime | None,
) -> AuditEvent:
    """record()'s append, on the driver's cursor (:mod:`changegate.audit.driver_sql`)."""
    held: tuple[int, bytes, bytes] | None = session.info.pop(HEAD_KEY, None)
    previous_leaf: bytes | None = None
    if held is None:
        head_seq, head_chain = _locked_head(cur, sql)
    else:
        head_seq, head_chain, previous_leaf = held
    # how many events the entity has already. Its own statement, run once the head's lock is
    # held: on PostgreSQL a statement that waited for a row lock still reads other tables as of
    # its start, so a count in the locking statement could miss the events of the transaction
    # it waited for (tests/audit/test_entity_versions.py races two writers of one entity)
    cur.execute(sql.version, (entity,))
    version = int(cur.fetchone()[0] or 0) + 1
    seq = head_seq + 1
    payload: dict[str, Any] = {
        "seq": seq,
        "ts": iso(at or utcnow()),
        "actor": actor,
        "action": event.action,
        "entity": entity,
        "entity_version": version,
        "before": before,
        "after": after_state,
    }
    if extra:
        payload["extra"] = extra
    data = canonical_json(payload)
    leaf = leaf_hash(data)
    chained = chain_hash(head_chain, leaf)
    cur.execute(sql.insert_event, (seq, data, leaf, chained))
    tree.append_on(cur, sql, seq - 1, leaf, previous_leaf=previous_leaf)
    cur.execute(sql.set_head, (seq, chained))
    session.info[HEAD_KEY] = (seq, chained, leaf)
    if event.action in TRIGGERS:  # a violation the policy may alert on (§8)
        from changegate.alerts.raising import on_recorded

        on_recorded(session, payload, record)
    return AuditEvent(seq=seq, data=data, leaf_hash=leaf, chain_hash=chained)


def _locked_head(cur: Any, sql: AppendSql) -> tuple[int, bytes]:
    """The head's sequence number and chain hash, read under its lock (``FOR UPDATE`` on
    PostgreSQL; on SQLite the write transaction's ``BEGIN IMMEDIATE`` holds it)."""
    cur.execute(sql.lock_head)
    row = cur.fetchone()
    if row is None:
        raise IntegrityFailure("the audit head row is missing: run `changegate audit verify`")
    return int(row[0]), bytes(row[1])


def record_many(
    session: Session,
    event: type[Event],
    rows: Sequence[tuple[Audited, dict[str, Any] | None, dict[str, Any] | None]],
    *,
    actor: str,
    at: dt.datetime | None = None,
) -> None:
    """:func:`record` for many rows at once, one ``(after, before, extra)`` each: the same
    events, hashes and subtrees, in order, appended under one head lock with one insert (an
    import of thousands of findings). Events that may raise an alert go through ``record``."""
    if event.action in TRIGGERS:
        for after, before, extra in rows:
            record(session, event, actor=actor, after=after, before=before, extra=extra, at=at)
        return
    if not rows:
        return
    session.flush()
    session.info.pop(HEAD_KEY, None)  # read the head under its lock, as record() first does
    states = [(after.audit_state(), before, extra) for after, before, extra in rows]
    entities = [f"{event.entity_type}:{entity_id(event.entity_type, st)}" for st, _, _ in states]
    cur, sql = driver_cursor(session)
    try:
        _append_many(session, cur, sql, event, actor, states, entities, at)
    finally:
        cur.close()


def _append_many(
    session: Session,
    cur: Any,
    sql: AppendSql,
    event: type[Event],
    actor: str,
    states: list[tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]],
    entities: list[str],
    at: dt.datetime | None,
) -> None:
    """record_many()'s append, on the driver's cursor as record()'s."""
    head_seq, head_chain = _locked_head(cur, sql)
    versions: dict[str, int] = {}
    unique = sorted(set(entities))
    for i in range(0, len(unique), 500):
        counted = session.execute(
            select(AuditEvent.entity_key, func.count())
            .where(AuditEvent.entity_key.in_(unique[i : i + 500]))
            .group_by(AuditEvent.entity_key)
        )
        versions.update((str(key), int(n)) for key, n in counted)
    ts, seq, chained = iso(at or utcnow()), head_seq, head_chain
    events: list[tuple[int, bytes, bytes, bytes]] = []
    leaves: list[bytes] = []
    for (state, before, extra), entity in zip(states, entities, strict=True):
        versions[entity] = versions.get(entity, 0) + 1
        seq += 1
        payload: dict[str, Any] = {
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "action": event.action,
            "entity": entity,
            "entity_version": versions[entity],
            "before": before,
            "after": state,
        }
        if extra:
            payload["extra"] = extra
        data = canonical_json(payload)
        leaf = leaf_hash(data)
        chained = chain_hash(chained, leaf)
        events.append((seq, data, leaf, chained))
        leaves.append(leaf)
    cur.executemany(sql.insert_event, events)
    tree.append_many(session, head_seq, leaves)
    cur.execute(sql.set_head, (seq, chained))


@dataclass(frozen=True)
class TimelineEntry:
    seq: int
    ts: str
    actor: str
    action: str
    entity: str
    summary: str
    event: dict[str, Any]


def timeline(
    session: Session, *, change_key: str | None = None, limit: int | None = None
) -> list[TimelineEntry]:
    """Events in order, optionally only those about one change (its rows and evidence)."""
    stmt = select(AuditEvent.seq, AuditEvent.data).order_by(AuditEvent.seq)
    if change_key is not None:
        stmt = stmt.where(AuditEvent.change_key == change_key)
    out: list[TimelineEntry] = []
    for seq, data in session.execute(stmt):
        ev = json_loads(bytes(data))
        if change_key is not None and not _about(ev, change_key):
            continue
        out.append(
            TimelineEntry(seq, ev["ts"], ev["actor"], ev["action"], ev["entity"], _summary(ev), ev)
        )
    return out[-limit:] if limit else out


def _about(ev: dict[str, Any], change_key: str) -> bool:
    """Whether the event's bytes file it under the change (what its change_key is made of)."""
    return index_keys(ev)[1] == change_key


def _summary(ev: dict[str, Any]) -> str:
    after = ev.get("after") or {}
    before = ev.get("before") or {}
    action = ev["action"]
    if action == "change.state_changed" or (
        action.startswith("change.") and before.get("state") != after.get("state") and before
    ):
        return f"{before.get('state')} → {after.get('state')}"
    if action == "change.created":
        return f"{after.get('change_class')} change: {after.get('title')}"
    if action.startswith("review."):
        return (
            f"{after.get('verdict')} by {after.get('reviewer')}: {after.get('comment', '')}".rstrip(
                ": "
            )
        )
    if action == "evidence.added":
        res = "" if after.get("passed") is None else (" pass" if after.get("passed") else " fail")
        return f"{after.get('kind')} {after.get('name')}{res}"
    if action == "gate.evaluated":
        verdict = "open" if after.get("passed") else "closed"
        bypass = " (emergency bypass)" if after.get("bypass") else ""
        return f"{after.get('environment')} for {after.get('deployer')}: {verdict}{bypass}"
    if action.startswith("deployment."):
        return f"{after.get('kind')} {after.get('environment')} → {after.get('version')}"
    if action == "user.added":
        return f"{after.get('name')} ({', '.join(after.get('roles', []))})"
    if action == "policy.loaded":
        return f"{after.get('name')} v{after.get('version')} ({after.get('source')})"
    if action == "emergency.reviewed":
        return f"by {after.get('reviewer')}"
    return ""


def search(
    session: Session,
    *,
    change_key: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int = 200,
    before_seq: int | None = None,
) -> list[TimelineEntry]:
    """The latest ``limit`` events matching every filter given, oldest first.

    ``action`` matches exactly, or as a prefix when it ends with ``*`` (``review.*``);
    ``since``/``until`` are ISO 8601 UTC times compared with each event's own ``ts``;
    ``before_seq`` pages back through the log. Reads newest first and stops at ``limit``, so a
    search of a long log stays cheap.
    """
    stmt = select(AuditEvent.seq, AuditEvent.data).order_by(AuditEvent.seq.desc())
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    if change_key is not None:
        stmt = stmt.where(AuditEvent.change_key == change_key)
    prefix = action[:-1] if action and action.endswith("*") else None
    out: list[TimelineEntry] = []
    for seq, data in session.execute(stmt.execution_options(yield_per=1000)):
        ev = json_loads(bytes(data))
        if change_key is not None and not _about(ev, change_key):
            continue
        if actor and ev["actor"] != actor:
            continue
        if action and (
            ev["action"] != action if prefix is None else not ev["action"].startswith(prefix)
        ):
            continue
        if until and ev["ts"] > until:
            continue
        if since and ev["ts"] < since:
            break
        out.append(
            TimelineEntry(seq, ev["ts"], ev["actor"], ev["action"], ev["entity"], _summary(ev), ev)
        )
        if len(out) >= limit:
            break
    out.reverse()
    return out
