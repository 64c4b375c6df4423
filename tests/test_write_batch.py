"""SQLite writers waiting together write in one transaction, each in a savepoint of it
(changegate/write_batch.py): a call that fails leaves nothing and does not touch the others,
a turn that cannot commit leaves nothing for anyone, and no call is told it wrote before the
turn's COMMIT. Real SQLite files; the HTTP test drives a real server."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from changegate.audit.models import AuditEvent
from changegate.audit.verify import verify
from changegate.db import SHARED_WRITE, make_engine, session_scope
from changegate.errors import DatabaseBusy
from changegate.migrate import upgrade
from changegate.reviews.models import Review
from changegate.write_batch import run_turn
from changegate.write_queue import write
from tests.api.support import database, post_approval, running_org, serving

REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="none")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'batch.db'}")
    upgrade(engine)
    with session_scope(engine) as s:
        s.execute(text("CREATE TABLE written (i INTEGER NOT NULL)"))
        s.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        s.execute(text("CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent(id))"))
    yield engine
    engine.dispose()


def rows(engine: Engine) -> list[int]:
    with session_scope(engine, write=False) as s:
        return [int(r[0]) for r in s.execute(text("SELECT i FROM written ORDER BY rowid"))]


def commits(engine: Engine) -> list[int]:
    counted: list[int] = []
    event.listen(engine, "commit", lambda conn: counted.append(1))
    return counted


def insert(engine: Engine, i: int, then: Callable[[Any], None] | None = None) -> Callable[[], Any]:
    def call() -> Any:
        with session_scope(engine) as s:
            s.execute(text("INSERT INTO written (i) VALUES (:i)"), {"i": i})
            if then is not None:
                then(s)
            return [int(r[0]) for r in s.execute(text("SELECT i FROM written ORDER BY rowid"))]

    return call


def turn(engine: Engine, calls: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
    contexts = [contextvars.copy_context() for _ in calls]
    return run_turn(engine, calls, contexts, [0.0] * len(calls))


def test_writers_waiting_together_commit_once_and_each_sees_those_before_it(
    engine: Engine,
) -> None:
    counted = commits(engine)
    outcomes = turn(engine, [insert(engine, i) for i in range(5)])
    assert outcomes == [(True, list(range(i + 1))) for i in range(5)]
    assert counted == [1]  # one COMMIT for the five
    assert rows(engine) == [0, 1, 2, 3, 4]


def test_a_call_that_fails_leaves_nothing_and_the_others_land(engine: Engine) -> None:
    def boom(_s: Any) -> None:
        raise ValueError("refused by the service")

    outcomes = turn(engine, [insert(engine, 1), insert(engine, 2, boom), insert(engine, 3)])
    assert outcomes[0] == (True, [1])
    assert outcomes[1][0] is False and isinstance(outcomes[1][1], ValueError)
    assert outcomes[2] == (True, [1, 3])  # never saw the failed call's row
    assert rows(engine) == [1, 3]


def test_a_call_that_ends_the_shared_transaction_fails_the_whole_turn(engine: Engine) -> None:
    """A statement that ends the transaction under the savepoints (what SQLite does itself on
    a full disk) loses the calls before it too: each is told, none wrote."""

    def rollback_everything(s: Any) -> None:
        s.connection().connection.dbapi_connection.execute("ROLLBACK")

    calls = [insert(engine, 1), insert(engine, 2, rollback_everything), insert(engine, 3)]
    outcomes = turn(engine, calls)
    assert [ok for ok, _ in outcomes] == [False, False, False]
    assert isinstance(outcomes[0][1], DatabaseBusy)
    assert "nothing was written" in str(outcomes[0][1])
    assert isinstance(outcomes[2][1], DatabaseBusy)
    assert rows(engine) == []


def test_a_commit_that_fails_fails_every_call_that_had_succeeded(engine: Engine) -> None:
    """A deferred foreign key is checked at COMMIT, after every savepoint was released: the
    turn's COMMIT fails, and no call is told it wrote."""

    def dangling(s: Any) -> None:
        s.execute(text("PRAGMA defer_foreign_keys=ON"))
        s.execute(text("INSERT INTO child (parent_id) VALUES (999)"))

    outcomes = turn(engine, [insert(engine, 1), insert(engine, 2, dangling), insert(engine, 3)])
    assert [ok for ok, _ in outcomes] == [False, False, False]
    assert all("FOREIGN KEY" in str(value) for _, value in outcomes)
    assert rows(engine) == []
    with session_scope(engine, write=False) as s:
        assert s.scalar(text("SELECT count(*) FROM child")) == 0


def test_a_writer_alone_has_its_own_transaction(engine: Engine) -> None:
    seen: list[object] = []

    def call() -> None:
        seen.append(SHARED_WRITE.get())
        insert(engine, 7)()

    assert turn(engine, [call]) == [(True, None)]
    assert seen == [None]
    assert rows(engine) == [7]


def test_each_call_runs_in_its_own_requests_context(engine: Engine) -> None:
    """Context variables a request set (as middleware may) are its own in a shared turn."""
    seen: list[str] = []

    async def request(name: str) -> None:
        REQUEST.set(name)
        await write(engine, lambda: seen.append(REQUEST.get()))

    async def main() -> None:
        await asyncio.gather(*(request(f"r{i}") for i in range(6)))

    asyncio.run(main())
    assert seen == [f"r{i}" for i in range(6)]


def test_concurrent_approvals_share_turns_and_a_refused_one_leaves_nothing(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Twelve approvals at once through a real server, one of them by the change's author
    (segregation of duties): eleven land, fewer COMMITs than approvals (turns were shared),
    the refused one wrote no review and its denial is audited; the sequence stays dense and
    the chain verifies."""
    n = 12
    with database("sqlite", request, tmp_path) as url, running_org(url) as org:
        org.user("engineer", name="alice")
        reviewers = [org.user("engineer", name=f"rev{i}") for i in range(n - 1)]
        keys = [org.change("alice", "submitted") for _ in range(n)]
        tokens = [org.token(r) for r in reviewers] + [org.token("alice")]
        counted = commits(org.engine)
        statuses: dict[int, int] = {}
        start = threading.Barrier(n)
        with serving(org.app) as base:

            def approve(i: int) -> None:
                start.wait()
                statuses[i] = post_approval(base, keys[i], tokens[i])

            threads = [threading.Thread(target=approve, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert [statuses[i] for i in range(n - 1)] == [201] * (n - 1)
        assert statuses[n - 1] == 403  # alice may not approve her own change
        assert len(counted) < n  # some approvals shared a COMMIT
        with session_scope(org.engine, write=False) as s:
            assert s.scalar(select(func.count()).select_from(Review)) == n - 1
            seqs = list(s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
            assert seqs == list(range(1, len(seqs) + 1))
            actions = [bytes(d) for d in s.scalars(select(AuditEvent.data))]
            assert sum(b'"action":"access.denied"' in d for d in actions) == 1
            report = verify(s)
            assert report.ok, report.problems


def test_the_shared_transaction_holds_the_write_lock_from_its_start(
    engine: Engine, tmp_path: Path
) -> None:
    """BEGIN IMMEDIATE, as a transaction of its own: another writer (a second process) cannot
    slip in between two calls of a turn."""
    import sqlite3

    tried: list[str] = []

    def other_writer(_s: Any) -> None:
        other = sqlite3.connect(tmp_path / "batch.db", timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            tried.append("got the lock")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            tried.append(str(exc))
        finally:
            other.close()

    outcomes = turn(engine, [insert(engine, 1, other_writer), insert(engine, 2, other_writer)])
    assert [ok for ok, _ in outcomes] == [True, True]
    assert tried == ["database is locked", "database is locked"]


def test_a_turn_takes_no_new_call_once_its_time_is_up(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow call (a large upload) does not hold back calls behind it past the turn's time:
    the turn commits what it ran, and the line runs the rest in the next turn."""
    import time

    import changegate.write_batch as write_batch

    monkeypatch.setattr(write_batch, "TURN_SECONDS", 0.05)

    def slow(_s: Any) -> None:
        time.sleep(0.08)

    outcomes = turn(engine, [insert(engine, 1, slow), insert(engine, 2), insert(engine, 3)])
    assert outcomes == [(True, [1])]  # the rest were not begun: the caller runs them next
    assert rows(engine) == [1]

    counted = commits(engine)

    async def main() -> list[Any]:
        first = asyncio.create_task(write(engine, insert(engine, 4, slow)))
        await asyncio.sleep(0.01)  # the slow one's turn has begun: the others wait together
        others = [asyncio.create_task(write(engine, insert(engine, i, slow))) for i in (5, 6)]
        return [await first] + [await t for t in others]

    seen = asyncio.run(main())
    assert seen == [[1, 4], [1, 4, 5], [1, 4, 5, 6]]
    assert len(counted) == 3  # 4 alone; 5, whose turn's time was then up; 6
