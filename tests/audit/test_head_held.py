"""record() keeps the head it wrote for the rest of its transaction (``audit.service.HEAD_KEY``)
and reads it again whenever that could be stale: a new transaction, a savepoint that ended
(released or rolled back), a batch written by record_many. On SQLite and PostgreSQL, the log
stays dense, chained and its Merkle tree equal to a naive one over the leaves."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session

from changegate.audit import tree
from changegate.audit.driver_sql import AppendSql, driver_cursor
from changegate.audit.events import UserUpdated
from changegate.audit.service import HEAD_KEY, record, record_many
from changegate.audit.verify import verify
from changegate.db import session_scope
from changegate.users.models import User
from tests.audit.test_merkle import naive_mth
from tests.factories import make_team, tx


def _probe(s: Session, name: str) -> int:
    return record(s, UserUpdated, actor="probe", entity=f"probe:{name}", extra={"n": name}).seq


def _log(engine: Engine) -> tuple[list[int], list[bytes]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT seq, leaf_hash FROM audit_events ORDER BY seq")).all()
    return [int(r[0]) for r in rows], [bytes(r[1]) for r in rows]


def _intact(engine: Engine) -> None:
    seqs, leaves = _log(engine)
    assert seqs == list(range(1, len(seqs) + 1))
    with session_scope(engine) as s:
        assert tree.root(s) == naive_mth(leaves)
    assert tx(engine, verify).ok


class _Recording:
    """A driver cursor that notes each statement it runs."""

    def __init__(self, cursor: Any, seen: list[str]) -> None:
        self._cursor, self._seen = cursor, seen

    def execute(self, statement: str, *args: Any) -> Any:
        self._seen.append(statement)
        return self._cursor.execute(statement, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


@contextmanager
def _head_reads(engine: Engine) -> Iterator[list[str]]:
    """The statements that read the audit head, as they run: through SQLAlchemy (head_size)
    and on the driver's cursor (record)."""
    seen: list[str] = []

    def on_execute(*args: object) -> None:
        seen.append(str(args[2]))

    def recording(session: Session) -> tuple[Any, AppendSql]:
        cursor, sql = driver_cursor(session)
        return _Recording(cursor, seen), sql

    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr("changegate.audit.service.driver_cursor", recording)
            yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)


def _of_head(statements: list[str]) -> list[str]:
    return [s for s in statements if "FROM audit_head" in s]


@pytest.fixture
def team(engine: Engine) -> Engine:
    make_team(engine)
    return engine


def test_one_transaction_reads_the_head_once_and_the_next_reads_it_again(team: Engine) -> None:
    with _head_reads(team) as statements:
        with session_scope(team) as s:
            for i in range(5):
                _probe(s, f"a{i}")
            assert s.info[HEAD_KEY][0] == tree.head_size(s)
        assert len(_of_head(statements)) == 2  # the lock, and head_size's own read above
        with session_scope(team) as s:
            assert HEAD_KEY not in s.info
            _probe(s, "b")
        assert len(_of_head(statements)) == 3
    _intact(team)


def test_a_writer_between_two_transactions_of_one_session_is_counted(team: Engine) -> None:
    first = Session(team)
    with first.begin():
        a = _probe(first, "first-1")
    with session_scope(team) as other:
        b = _probe(other, "other")
    with first.begin():
        c = _probe(first, "first-2")
    first.close()
    assert (b, c) == (a + 1, a + 2)
    _intact(team)


@pytest.mark.parametrize("end", ["rollback", "commit"])
def test_a_savepoint_that_ends_drops_the_head(team: Engine, end: str) -> None:
    with session_scope(team) as s:
        a = _probe(s, "before")
        savepoint = s.begin_nested()
        _probe(s, "inside")
        _probe(s, "inside-2")
        getattr(savepoint, end)()
        assert HEAD_KEY not in s.info
        after = _probe(s, "after")
    assert after == (a + 1 if end == "rollback" else a + 3)
    _intact(team)


def test_record_many_between_records_in_one_transaction(team: Engine) -> None:
    with session_scope(team) as s:
        users = list(s.query(User).order_by(User.name))
        first = _probe(s, "one")
        record_many(s, UserUpdated, [(u, None, {"i": i}) for i, u in enumerate(users)], actor="x")
        last = _probe(s, "two")
    assert last == first + len(users) + 1
    _intact(team)


def test_a_failed_record_leaves_no_head_behind(team: Engine) -> None:
    with session_scope(team) as s:
        _probe(s, "ok")
        savepoint = s.begin_nested()
        with pytest.raises(ValueError, match="needs an entity"):
            record(s, UserUpdated, actor="probe")
        savepoint.rollback()
        _probe(s, "after")
    _intact(team)
