"""SQLite writers waiting together write in one transaction, each in a savepoint of it
(changegate/write_batch.py): a call that fails leaves nothing and does not touch the others,
a turn that cannot commit leaves nothing for anyone, and no call is told it wrote before the
turn's COMMIT. Real SQLite files; the HTTP test drives a real server."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from changegate.audit.models import AuditEvent
from changegate.audit.verify import verify
from changegate.db import SHARED_WRITE, session_scope
from changegate.errors import DatabaseBusy
from changegate.reviews.models import Review
from changegate.write_batch import run_turn
from changegate.write_queue import write
from tests.api.support import database, post_approval, running_org, serving
from tests.writes_support import inserting
from tests.writes_support import seen as rows_seen

REQUEST: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="none")


def rows(engine: Engine) -> list[int]:
    with session_scope(engine, write=False) as s:
        return rows_seen(s)


def commits(engine: Engine) -> list[int]:
    counted: list[int] = []
    event.listen(engine, "commit", lambda conn: counted.append(1))
    return counted


def turn(engine: Engine, calls: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
    contexts = [contextvars.copy_context() for _ in calls]
    return run_turn(engine, calls, contexts, [0.0] * len(calls))


def test_writers_waiting_together_commit_once_and_each_sees_those_before_it(
    written_db: Engine,
) -> None:
    counted = commits(written_db)
    outcomes = turn(written_db, [inserting(written_db, i) for i in range(5)])
    assert outcomes == [(True, list(range(i + 1))) for i in range(5)]
    assert counted == [1]  # one COMMIT for the five
    assert rows(written_db) == [0, 1, 2, 3, 4]


def test_a_call_that_fails_leaves_nothing_and_the_others_land(written_db: Engine) -> None:
    def boom(_s: Any) -> None:
        raise ValueError("refused by the service")

    outcomes = turn(
        written_db,
        [inserting(written_db, 1), inserting(written_db, 2, then=boom), inserting(written_db, 3)],
    )
    assert outcomes[0] == (True, [1])
    assert outcomes[1][0] is False and isinstance(outcomes[1][1], ValueError)
    assert outcomes[2] == (True, [1, 3])  # never saw the failed call's row
    assert rows(written_db) == [1, 3]


def test_a_call_that_ends_the_shared_transaction_fails_the_whole_turn(written_db: Engine) -> None:
    """A statement that ends the transaction under the savepoints (what SQLite does itself on
    a full disk) loses the calls before it too: each is told, none wrote."""

    def rollback_everything(s: Any) -> None:
        s.connection().connection.dbapi_connection.execute("ROLLBACK")

    calls = [
        inserting(written_db, 1),
        inserting(written_db, 2, then=rollback_everything),
        inserting(written_db, 3),
    ]
    outcomes = turn(written_db, calls)
    assert [ok for ok, _ in outcomes] == [False, False, False]
    assert isinstance(outcomes[0][1], DatabaseBusy)
    assert "nothing was written" in str(outcomes[0][1])
    assert isinstance(outcomes[2][1], DatabaseBusy)
    assert rows(written_db) == []


def test_a_commit_that_fails_fails_every_call_that_had_succeeded(written_db: Engine) -> None:
    """A deferred foreign key is checked at COMMIT, after every savepoint was released: the
    turn's COMMIT fails, and no call is told it wrote."""

    def dangling(s: Any) -> None:
        s.execute(text("PRAGMA defer_foreign_keys=ON"))
        s.execute(text("INSERT INTO child (parent_id) VALUES (999)"))

    outcomes = turn(
        written_db,
        [
            inserting(written_db, 1),
            inserting(written_db, 2, then=dangling),
            inserting(written_db, 3),
        ],
    )
    assert [ok for ok, _ in outcomes] == [False, False, False]
    assert all("FOREIGN KEY" in str(value) for _, value in outcomes)
    assert rows(written_db) == []
    with session_scope(written_db, write=False) as s:
        assert s.scalar(text("SELECT count(*) FROM child")) == 0


def test_a_writer_alone_has_its_own_transaction(written_db: Engine) -> None:
    seen: list[object] = []

    def call() -> None:
        seen.append(SHARED_WRITE.get())
        inserting(written_db, 7)()

    assert turn(written_db, [call]) == [(True, None)]
    assert seen == [None]
    assert rows(written_db) == [7]


def test_each_call_runs_in_its_own_requests_context(written_db: Engine) -> None:
    """Context variables a request set (as middleware may) are its own in a shared turn."""
    seen: list[str] = []

    async def request(name: str) -> None:
        REQUEST.set(name)
        await write(written_db, lambda: seen.append(REQUEST.get()))

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
    written_db: Engine, tmp_path: Path
) -> None:
    """BEGIN IMMEDIATE, as a transaction of its own: another writer (a second process) cannot
    slip in between two calls of a turn."""
    import sqlite3

    tried: list[str] = []

    def other_writer(_s: Any) -> None:
        other = sqlite3.connect(tmp_path / "written.db", timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            tried.append("got the lock")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            tried.append(str(exc))
        finally:
            other.close()

    outcomes = turn(
        written_db,
        [inserting(written_db, 1, then=other_writer), inserting(written_db, 2, then=other_writer)],
    )
    assert [ok for ok, _ in outcomes] == [True, True]
    assert tried == ["database is locked", "database is locked"]


def test_a_turn_takes_no_new_call_once_its_time_is_up(
    written_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow call (a large upload) does not hold back calls behind it past the turn's time:
    the turn commits what it ran, and the line runs the rest in the next turn."""
    import time

    import changegate.write_batch as write_batch

    monkeypatch.setattr(write_batch, "TURN_SECONDS", 0.05)

    def slow(_s: Any) -> None:
        time.sleep(0.08)

    outcomes = turn(
        written_db,
        [inserting(written_db, 1, then=slow), inserting(written_db, 2), inserting(written_db, 3)],
    )
    assert outcomes == [(True, [1])]  # the rest were not begun: the caller runs them next
    assert rows(written_db) == [1]

    counted = commits(written_db)

    async def main() -> list[Any]:
        first = asyncio.create_task(write(written_db, inserting(written_db, 4, then=slow)))
        await asyncio.sleep(0.01)  # the slow one's turn has begun: the others wait together
        others = [
            asyncio.create_task(write(written_db, inserting(written_db, i, then=slow)))
            for i in (5, 6)
        ]
        return [await first] + [await t for t in others]

    seen = asyncio.run(main())
    assert seen == [[1, 4], [1, 4, 5], [1, 4, 5, 6]]
    assert len(counted) == 3  # 4 alone; 5, whose turn's time was then up; 6
