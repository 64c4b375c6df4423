"""SQLite writers of a server wait for their turn in the event loop before they take a worker
thread (changegate/write_queue.py): one at a time, in the order they asked, within the one wait
budget they share with ``writer_lock``; PostgreSQL writers and CI ID tokens do not queue."""

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
from changegate.migrate import upgrade
from changegate.reviews.models import Review
from changegate.write_queue import queues, writer_turn
from tests.api.support import database, post_approval, running_org, serving


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'queue.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def test_writers_take_turns_one_at_a_time_in_the_order_they_asked(sqlite_engine: Engine) -> None:
    inside: list[int] = []
    entered: list[int] = []
    overlaps: list[list[int]] = []

    async def writer(i: int) -> None:
        async with writer_turn(sqlite_engine):
            inside.append(i)
            entered.append(i)
            if len(inside) > 1:
                overlaps.append(list(inside))
            await asyncio.sleep(0.01)  # another task runs meanwhile: it must wait
            inside.remove(i)

    async def main() -> None:
        tasks = []
        for i in range(8):
            tasks.append(asyncio.create_task(writer(i)))
            await asyncio.sleep(0)  # each asks in turn
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert overlaps == []
    assert entered == list(range(8))


def test_postgresql_writers_do_not_queue() -> None:
    """PostgreSQL locks the rows a writer changes: writers run side by side (the engine is
    never connected to)."""
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    assert not queues(engine)
    together: list[int] = []
    peak = 0

    async def writer(i: int) -> None:
        nonlocal peak
        async with writer_turn(engine):
            together.append(i)
            peak = max(peak, len(together))
            await asyncio.sleep(0.01)
            together.remove(i)

    async def main() -> None:
        await asyncio.gather(*(writer(i) for i in range(4)))

    asyncio.run(main())
    assert peak == 4
    engine.dispose()


def test_a_writer_that_waits_past_the_budget_is_refused_and_the_queue_moves_on(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", 0.2)
    outcomes: dict[str, str] = {}

    async def holder() -> None:
        async with writer_turn(sqlite_engine):
            outcomes["holder"] = "wrote"
            await asyncio.sleep(0.6)

    async def late(name: str) -> None:
        try:
            async with writer_turn(sqlite_engine):
                outcomes[name] = "wrote"
        except DatabaseBusy as exc:
            outcomes[name] = str(exc)

    async def main() -> None:
        held = asyncio.create_task(holder())
        await asyncio.sleep(0.05)
        await late("refused")  # gives up while the holder still writes
        await held
        await late("after")  # the turn was released: the next writer gets it

    asyncio.run(main())
    assert outcomes["holder"] == "wrote"
    assert "the database stayed busy" in outcomes["refused"]
    assert "try again" in outcomes["refused"]
    assert outcomes["after"] == "wrote"


def test_the_wait_in_the_loop_counts_against_the_writer_lock_budget(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that already waited its whole budget in the event loop is refused at once by
    a busy ``writer_lock`` instead of waiting a second budget; a writer that had no wait left
    but finds the lock free still writes."""
    monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", 30.0)
    held = writer_lock(sqlite_engine)
    held.__enter__()
    token = WRITE_QUEUED_AT.set(time.monotonic() - 30.0)
    try:
        began = time.monotonic()
        with pytest.raises(DatabaseBusy, match="try again"), session_scope(sqlite_engine):
            pytest.fail("the writer must not begin")
        assert time.monotonic() - began < 15.0  # not a fresh 30 s wait
    finally:
        WRITE_QUEUED_AT.reset(token)
        held.__exit__(None, None, None)
    token = WRITE_QUEUED_AT.set(time.monotonic() - 30.0)
    try:
        with session_scope(sqlite_engine) as s:
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
