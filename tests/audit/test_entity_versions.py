"""Entity versions under concurrent writers, on SQLite and PostgreSQL: a writer that waited
for the audit head's lock counts the entity's events after the lock is held, so it sees
the events of the transaction it waited for and the two events get consecutive versions.

On PostgreSQL a statement that waits for a row lock still reads other tables as of its own
start: counting the entity's events in the statement that takes the lock would give both
writers the same version (this test fails on that variant of ``audit.service.record``)."""

from __future__ import annotations

import json
import threading
import time

from sqlalchemy import Engine, text

from changegate.audit.events import UserUpdated
from changegate.audit.service import record
from changegate.db import session_scope

ENTITY = "probe:shared"


def _versions(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT data FROM audit_events WHERE entity_key = :e ORDER BY seq"),
            {"e": ENTITY},
        )
        return [json.loads(bytes(r[0]))["entity_version"] for r in rows]


def _waiting_for_lock(engine: Engine) -> bool:
    """Whether another session of this PostgreSQL database waits for a lock (SQLite: the
    second writer queues on the process's writer lock, which takes no probe)."""
    if engine.dialect.name != "postgresql":
        return True
    with engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        ).scalar()
    return bool(waiting)


def test_a_writer_that_waited_for_the_head_counts_the_events_it_waited_for(
    engine: Engine,
) -> None:
    with session_scope(engine) as s:
        record(s, UserUpdated, actor="probe", entity=ENTITY, extra={"n": 0})
    first_holds = threading.Event()
    release = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with session_scope(engine) as s:
                record(s, UserUpdated, actor="probe", entity=ENTITY, extra={"n": 1})
                first_holds.set()
                assert release.wait(30)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
            first_holds.set()

    def second() -> None:
        try:
            with session_scope(engine) as s:
                record(s, UserUpdated, actor="probe", entity=ENTITY, extra={"n": 2})
        except BaseException as exc:
            errors.append(exc)

    one = threading.Thread(target=first)
    one.start()
    assert first_holds.wait(30)
    two = threading.Thread(target=second)
    two.start()
    deadline = time.monotonic() + 30
    while not _waiting_for_lock(engine) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # SQLite: let the second writer reach the queue
    release.set()
    one.join(30)
    two.join(30)
    assert not errors, errors
    assert _versions(engine) == [1, 2, 3]
