"""SQLite writers of a server queue in its event loop before they take a worker thread.

A request that writes runs its transaction in one thread-pool call (``api/one_call.py``), and
on SQLite the writers of a process take turns on :func:`changegate.db.writer_lock`. Under
16 connections, 15 of those calls sat in worker threads blocked on that lock, and every
statement of the one running released the GIL to threads that had nothing to do: each
approval cost 2.5-2.65 ms of server CPU against 2.1 ms with one client (bench/
api_throughput.py, issue 12). Here a SQLite writer first waits for its turn on an
``asyncio.Lock`` in the event loop, which costs no thread, and takes a worker thread only
when the writer before it has finished: 16 connections then cost 2.2-2.4 ms an approval.

It only schedules: ``writer_lock`` (in the thread) and the file beside the database (other
processes) still decide who writes, so a writer that skips this queue (a CI job's ID token,
whose verification may fetch the issuer's keys and must not hold up the others; a CLI
command) is as safe as before. The wait here and the wait in ``writer_lock`` share one
budget, ``WRITER_WAIT_SECONDS`` (``db.WRITE_QUEUED_AT``). PostgreSQL writers lock only the
rows they change: they do not queue.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import Engine

from changegate import db

#: engine -> event loop -> the lock its writers take turns on in that loop
_TURNS: weakref.WeakKeyDictionary[
    Engine, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]
] = weakref.WeakKeyDictionary()


def queues(engine: Engine) -> bool:
    """Whether writers to ``engine`` take turns in the event loop (SQLite: one writer at a
    time) rather than in their threads."""
    return engine.dialect.name == "sqlite"


@asynccontextmanager
async def writer_turn(engine: Engine) -> AsyncIterator[None]:
    """This request's turn to write to ``engine`` among the requests of this event loop, in
    the order they asked; DatabaseBusy, with nothing written, after ``WRITER_WAIT_SECONDS``."""
    if not queues(engine):
        yield
        return
    loop = asyncio.get_running_loop()
    locks = _TURNS.get(engine)
    if locks is None:
        locks = _TURNS.setdefault(engine, weakref.WeakKeyDictionary())
    lock = locks.get(loop)
    if lock is None:
        lock = locks.setdefault(loop, asyncio.Lock())
    queued = time.monotonic()
    budget = db.WRITER_WAIT_SECONDS
    try:
        async with asyncio.timeout(budget):
            await lock.acquire()
    except TimeoutError:
        raise db.writers_busy(budget) from None
    token = db.WRITE_QUEUED_AT.set(queued)
    try:
        yield
    finally:
        db.WRITE_QUEUED_AT.reset(token)
        lock.release()
