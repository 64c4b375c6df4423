"""SQLite writers of a server wait for their turn in the event loop before they take a worker
thread (changegate/write_queue.py): in the order they asked, those waiting together in one
transaction (changegate/write_batch.py, tested in tests/test_write_batch.py), within the one
wait budget they share with ``writer_lock``; PostgreSQL writers and CI ID tokens do not queue."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from starlette.requests import Request

import changegate.db as db
from changegate.api.deps import queued_writer
from changegate.db import WRITE_QUEUED_AT, make_engine, session_scope, writer_lock
from changegate.errors import DatabaseBusy
from changegate.reviews.models import Review
from changegate.write_queue import queues, write
from tests.api.support import database, post_approval, running_org, serving
from tests.writes_support import inserting


def test_writers_write_one_at_a_time_in_the_order_they_asked(written_db: Engine) -> None:
    log: list[tuple[str, int]] = []

    async def main() -> list[list[int]]:
        tasks = []
        for i in range(8):
            call = inserting(written_db, i, log, pause=0.01)
            tasks.append(asyncio.create_task(write(written_db, call)))
            await asyncio.sleep(0)  # each asks in turn
        return await asyncio.gather(*tasks)

    seen = asyncio.run(main())
    assert log == [(step, i) for i in range(8) for step in ("in", "out")]  # never two at once
    assert seen == [list(range(i + 1)) for i in range(8)]  # each saw those before it


def test_postgresql_writers_do_not_queue() -> None:
    """PostgreSQL locks the rows a writer changes: writers run side by side (the engine is
    never connected to)."""
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    assert not queues(engine)
    together: list[int] = []
    peak = 0
    guard = threading.Lock()

    def writer(i: int) -> None:
        nonlocal peak
        with guard:
            together.append(i)
            peak = max(peak, len(together))
        time.sleep(0.2)
        with guard:
            together.remove(i)

    async def main() -> None:
        await asyncio.gather(*(write(engine, lambda i=i: writer(i)) for i in range(4)))

    asyncio.run(main())
    assert peak == 4
    engine.dispose()


def test_a_writer_that_waits_past_the_budget_is_refused_and_the_queue_moves_on(
    written_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", 0.2)
    log: list[tuple[str, int]] = []
    outcomes: dict[str, object] = {}

    async def late(name: str, i: int) -> None:
        try:
            outcomes[name] = await write(written_db, inserting(written_db, i, log))
        except DatabaseBusy as exc:
            outcomes[name] = str(exc)

    async def main() -> None:
        slow = inserting(written_db, 1, log, pause=0.6)  # past the budget: still its outcome
        held = asyncio.create_task(write(written_db, slow))
        await asyncio.sleep(0.05)
        await late("refused", 2)  # gives up while the slow one still writes
        outcomes["slow"] = await held
        await late("after", 3)  # the turn was released: the next writer gets it

    asyncio.run(main())
    assert outcomes["slow"] == [1]
    assert "the database stayed busy" in str(outcomes["refused"])
    assert "try again" in str(outcomes["refused"])
    assert outcomes["after"] == [1, 3]  # the refused writer never wrote
    assert ("in", 2) not in log


def test_a_writer_cancelled_while_it_waits_never_writes(written_db: Engine) -> None:
    """A request given up (the client went away) before its turn: its call never runs."""
    log: list[tuple[str, int]] = []

    async def main() -> list[int]:
        first = asyncio.create_task(write(written_db, inserting(written_db, 1, log, 0.2)))
        await asyncio.sleep(0.05)
        gone = asyncio.create_task(write(written_db, inserting(written_db, 2, log)))
        await asyncio.sleep(0.01)
        gone.cancel()
        await first
        return await write(written_db, inserting(written_db, 3, log))

    assert asyncio.run(main()) == [1, 3]
    assert ("in", 2) not in log


def test_the_wait_in_the_loop_counts_against_the_writer_lock_budget(
    written_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that already waited its whole budget in the event loop is refused at once by
    a busy ``writer_lock`` instead of waiting a second budget; a writer that had no wait left
    but finds the lock free still writes."""
    monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", 30.0)
    held = writer_lock(written_db)
    held.__enter__()
    token = WRITE_QUEUED_AT.set(time.monotonic() - 30.0)
    try:
        began = time.monotonic()
        with pytest.raises(DatabaseBusy, match="try again"), session_scope(written_db):
            pytest.fail("the writer must not begin")
        assert time.monotonic() - began < 15.0  # not a fresh 30 s wait
    finally:
        WRITE_QUEUED_AT.reset(token)
        held.__exit__(None, None, None)
    token = WRITE_QUEUED_AT.set(time.monotonic() - 30.0)
    try:
        with session_scope(written_db) as s:
            assert s.scalar(select(func.count()).select_from(Review)) == 0
            # used by the first transaction: a second one in the request gets a fresh budget
            assert WRITE_QUEUED_AT.get() is None
    finally:
        WRITE_QUEUED_AT.reset(token)


@contextmanager
def counting_writer_lock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """``db.writer_lock`` (the real one), counting the request threads waiting in it:
    [now, peak] (the server's background workers, which may write, are not counted)."""
    real = db.writer_lock
    counts = [0, 0]
    guard = threading.Lock()

    @contextmanager
    def spy(engine: Engine) -> Iterator[None]:
        if not threading.current_thread().name.startswith("AnyIO worker"):
            with real(engine):
                yield
            return
        with guard:
            counts[0] += 1
            counts[1] = max(counts[1], counts[0])
        entered = False
        try:
            with real(engine):
                with guard:
                    counts[0] -= 1
                entered = True
                yield
        finally:
            if not entered:
                with guard:
                    counts[0] -= 1

    monkeypatch.setattr(db, "writer_lock", spy)
    yield counts


def test_concurrent_approvals_wait_in_the_event_loop_not_in_threads(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six approvals sent while another writer holds the database: at most one server thread
    waits in ``writer_lock`` (the others wait for their turn in the event loop), and all six
    land once it lets go."""
    n = 6
    with database("sqlite", request, tmp_path) as url, running_org(url) as org:
        org.user("engineer", name="alice")
        reviewers = [org.user("engineer", name=f"rev{i}") for i in range(n)]
        keys = [org.change("alice", "submitted") for _ in range(n)]
        tokens = [org.token(r) for r in reviewers]
        statuses: list[int] = []
        with counting_writer_lock(monkeypatch) as counts, serving(org.app) as base:
            held = writer_lock(org.engine)  # the real one, not counted
            held.__enter__()  # another writer of this process holds the database
            threads = []
            try:
                for i in range(n):

                    def approve(i: int = i) -> None:
                        statuses.append(post_approval(base, keys[i], tokens[i]))

                    threads.append(threading.Thread(target=approve))
                    threads[-1].start()
                deadline = time.monotonic() + 10
                while counts[1] < 1 and time.monotonic() < deadline:
                    time.sleep(0.01)  # the first request reached writer_lock
                time.sleep(0.3)  # time for the others to have reached it, were they threads
            finally:
                held.__exit__(None, None, None)
            for t in threads:
                t.join()
        assert counts[1] == 1  # one request; without the queue, all six
        assert statuses == [201] * n
        with session_scope(org.engine, write=False) as s:
            assert s.scalar(select(func.count()).select_from(Review)) == n


def test_which_requests_queue(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Writes with an API token queue; reads do not, nor a CI job's ID token (its check before
    the transaction may fetch the issuer's keys: it must not hold up the writers behind it)."""
    with database("sqlite", request, tmp_path) as url, running_org(url) as org:
        req = Request({"type": "http", "app": org.app, "headers": []})
        token = "cg_abc_def"
        jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
        assert queued_writer(req, token, write=True) is org.engine
        assert queued_writer(req, token, write=False) is None
        assert queued_writer(req, jwt, write=True) is None
