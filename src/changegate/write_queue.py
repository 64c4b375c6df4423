"""SQLite writers of a server queue in its event loop, and those waiting together write together.

A request that writes runs its transaction in one thread-pool call (``api/one_call.py``), and
on SQLite the writers of a process take turns on :func:`changegate.db.writer_lock`. Under
16 connections, 15 of those calls sat in worker threads blocked on that lock, and every
statement of the one running released the GIL to threads that had nothing to do: each
approval cost 2.5-2.65 ms of server CPU against 2.1 ms with one client (bench/
api_throughput.py, issue 12). Here a SQLite writer waits in a line in the event loop, which
costs no thread. A task takes turns for the line: each turn is one thread-pool call that runs
the writers waiting when it begins, first come first, in one transaction with a savepoint
each (:mod:`changegate.write_batch`), and hands each writer its outcome after the COMMIT.
A writer alone in the line has a transaction of its own, as before. Under 16 connections an
approval then cost 1.4 ms of server CPU against 1.8 ms with a turn each (issue 12).

It only schedules: ``writer_lock`` (in the thread) and the file beside the database (other
processes) still decide who writes, so a writer that skips this line (a CI job's ID token,
whose verification may fetch the issuer's keys and must not hold up the others; a CLI
command) is as safe as before. The wait here and the wait in ``writer_lock`` share one
budget, ``WRITER_WAIT_SECONDS`` (``db.WRITE_QUEUED_AT``): a writer whose turn has not begun
by then is refused with nothing written; one whose turn has begun gets its outcome.
PostgreSQL writers lock only the rows they change: they do not queue.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from changegate import db, write_batch


def queues(engine: Engine) -> bool:
    """Whether writers to ``engine`` take turns in the event loop (SQLite: one writer at a
    time) rather than in their threads."""
    return engine.dialect.name == "sqlite"


#: the most writers one turn takes (their responses wait for the turn's COMMIT)
MAX_TURN = 32


@dataclass(slots=True, eq=False)
class _Writer:
    call: Callable[[], Any]
    context: contextvars.Context
    queued: float
    done: asyncio.Future[Any]
    started: bool = False
    abandoned: bool = False


@dataclass(slots=True, eq=False)
class _Line:
    """The writers of one engine waiting in one event loop, and the task taking their turns."""

    waiting: list[_Writer] = field(default_factory=list)
    turns: asyncio.Task[None] | None = None


#: engine -> event loop -> its writers' line
_LINES: weakref.WeakKeyDictionary[
    Engine, weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Line]
] = weakref.WeakKeyDictionary()


async def write(engine: Engine, call: Callable[[], Any]) -> Any:
    """``call`` (a request's whole transaction, opened inside it) in a worker thread, in its
    turn among this event loop's writers of ``engine``: on SQLite, together with the writers
    waiting when its turn comes (:mod:`changegate.write_batch`). DatabaseBusy, with nothing
    written, when the turn does not begin within ``WRITER_WAIT_SECONDS``."""
    if not queues(engine):
        return await run_in_threadpool(call)
    loop = asyncio.get_running_loop()
    line = _line(engine, loop)
    me = _Writer(call, contextvars.copy_context(), time.monotonic(), loop.create_future())
    line.waiting.append(me)
    if line.turns is None:
        line.turns = loop.create_task(_take_turns(engine, line))
    budget = db.WRITER_WAIT_SECONDS
    try:
        async with asyncio.timeout(budget):
            return await asyncio.shield(me.done)
    except TimeoutError:
        if me.started:  # it is writing: its outcome, however long the turn takes
            return await me.done
        me.abandoned = True
        raise db.writers_busy(budget) from None
    except asyncio.CancelledError:
        me.abandoned = True  # not begun: never begins; begun: its outcome is dropped
        raise


def _line(engine: Engine, loop: asyncio.AbstractEventLoop) -> _Line:
    lines = _LINES.get(engine)
    if lines is None:
        lines = _LINES.setdefault(engine, weakref.WeakKeyDictionary())
    line = lines.get(loop)
    if line is None:
        line = lines.setdefault(loop, _Line())
    return line


async def _take_turns(engine: Engine, line: _Line) -> None:
    """Turns until no writer waits: each takes the writers waiting when it begins (up to
    :data:`MAX_TURN`, first come first), runs them in one thread-pool call, and hands each
    its outcome once the turn has committed. Writers a turn left out when its time was up
    (:data:`changegate.write_batch.TURN_SECONDS`) begin the next one."""
    turn: list[_Writer] = []
    try:
        while line.waiting:
            turn = [w for w in line.waiting[:MAX_TURN] if not w.abandoned]
            del line.waiting[:MAX_TURN]
            if not turn:
                continue
            for w in turn:
                w.started = True
            try:
                outcomes = await run_in_threadpool(
                    write_batch.run_turn,
                    engine,
                    [w.call for w in turn],
                    [w.context for w in turn],
                    [w.queued for w in turn],
                )
            except Exception as exc:  # the thread pool failed: no outcome for anyone
                outcomes = [(False, exc)] * len(turn)
            for w, (ok, value) in zip(turn, outcomes, strict=False):
                if w.abandoned:  # its request is gone: nobody to hand an error to
                    w.done.cancel()
                elif not w.done.done():
                    if ok:
                        w.done.set_result(value)
                    else:
                        w.done.set_exception(value)
            left = turn[len(outcomes) :]  # not run: first in the next turn
            for w in left:
                w.started = False
            line.waiting[:0] = left
            turn = []
    finally:
        line.turns = None
        for w in turn + line.waiting:  # the loop is closing: nobody will take their turns
            if not w.done.done():
                w.done.cancel()
