"""SQLite writers that queued together write in one transaction, each in a savepoint of it.

The writers of a server take turns (:mod:`changegate.write_queue`); on SQLite each turn was one
request's transaction: ``BEGIN IMMEDIATE``, its statements, ``COMMIT``, the lock file taken and
left, a connection checked out and reset. Under 16 connections most of those turns came with
others already waiting. Here the writers waiting when a turn begins run in it one after the
other, in the order they asked, on one connection in one transaction: each call's write
``session_scope`` opens a ``SAVEPOINT`` (:data:`changegate.db.SHARED_WRITE`), released when
the call succeeds and rolled back to when it raises, so a call that fails leaves nothing, as
before, and the calls around it are not affected. One ``COMMIT`` ends the turn; no call's
response is sent before it (the event loop hands the outcomes back only after it), and if it
fails, every call that had succeeded gets its error: nothing was written.

A call sees the writes of the calls before it in the turn, as it would have seen them
committed had it run after them: the same order, the same decisions on the state it reads
under the lock. A single waiting writer runs alone, in its own transaction, exactly as before.
A turn takes no new call once :data:`TURN_SECONDS` have passed (a large upload does not hold
back the responses of the calls before it for long): the calls left begin the next turn.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from changegate import db
from changegate.errors import DatabaseBusy

#: a call's result (True, value) or the exception it raised (False, exc)
Outcome = tuple[bool, Any]
#: a turn begins no call after it has run this long; it commits what it has run
TURN_SECONDS = 0.05


def run_turn(
    engine: Engine,
    calls: Sequence[Callable[[], Any]],
    contexts: Sequence[contextvars.Context],
    queued: Sequence[float],
) -> list[Outcome]:
    """Run ``calls`` (each in its request's ``contexts`` copy, having waited since
    ``queued``) in one write turn on ``engine``: alone in its own transaction when it is
    the only one, else together in one transaction. The outcomes of the calls run, in
    order: the first of them at least; fewer than ``calls`` when the turn's time ran out."""
    if len(calls) == 1:
        return [contexts[0].run(_alone, calls[0], queued[0])]
    token = db.WRITE_QUEUED_AT.set(min(queued))
    try:
        return _together(engine, calls, contexts)
    finally:
        db.WRITE_QUEUED_AT.reset(token)


def _alone(call: Callable[[], Any], queued: float) -> Outcome:
    db.WRITE_QUEUED_AT.set(queued)  # writer_lock's budget counts from the wait in the loop
    return _outcome(call)


def _outcome(call: Callable[[], Any]) -> Outcome:
    try:
        return True, call()
    except Exception as exc:  # the request's own failure: its response, not the turn's
        return False, exc


def _together(
    engine: Engine, calls: Sequence[Callable[[], Any]], contexts: Sequence[contextvars.Context]
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    try:
        with db.writer_lock(engine), engine.connect() as conn:
            conn.execution_options(changegate_write=True)  # BEGIN IMMEDIATE (db.py)
            with conn.begin():  # committed at the end of the block, rolled back on an error
                began = time.monotonic()
                for call, context in zip(calls, contexts, strict=True):
                    if outcomes and time.monotonic() - began > TURN_SECONDS:
                        break  # the rest begin the next turn
                    outcomes.append(context.run(_joined, engine, conn, call))
                    if not _still_open(conn):  # SQLite ended the transaction (disk full...)
                        raise DatabaseBusy(
                            "the database gave up a write transaction it shared with other "
                            "requests; nothing was written: try again",
                            field="db",
                        )
    except Exception as exc:  # BEGIN, a lost transaction or COMMIT: nothing was written
        done = [(False, exc) if ok else (ok, value) for ok, value in outcomes]
        return done + [(False, exc)] * (len(calls) - len(done))  # none left for another turn
    return outcomes


def _joined(engine: Engine, conn: Connection, call: Callable[[], Any]) -> Outcome:
    token = db.SHARED_WRITE.set((engine, conn))
    try:
        return _outcome(call)
    finally:
        db.SHARED_WRITE.reset(token)


def _still_open(conn: Connection) -> bool:
    dbapi = conn.connection.dbapi_connection
    return bool(getattr(dbapi, "in_transaction", True))
