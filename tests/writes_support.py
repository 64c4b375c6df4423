"""A SQLite file and writers' calls for the tests of the write line and its shared turns
(tests/test_write_queue.py, tests/test_write_batch.py): each call writes one row in a write
transaction and returns the rows it saw there."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from changegate.db import make_engine, session_scope
from changegate.migrate import upgrade


def written_engine(path: Path) -> Engine:
    """A migrated SQLite file with a table the calls write to (``written``), and a parent and
    child table whose foreign key a call can leave dangling."""
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session_scope(engine) as s:
        s.execute(text("CREATE TABLE written (i INTEGER NOT NULL)"))
        s.execute(text("CREATE TABLE parent (id INTEGER PRIMARY KEY)"))
        s.execute(text("CREATE TABLE child (parent_id INTEGER NOT NULL REFERENCES parent(id))"))
    return engine


def seen(session: Session) -> list[int]:
    return [int(r[0]) for r in session.execute(text("SELECT i FROM written ORDER BY rowid"))]


def inserting(
    engine: Engine,
    i: int,
    log: list[tuple[str, int]] | None = None,
    pause: float = 0.0,
    then: Callable[[Session], Any] | None = None,
) -> Callable[[], list[int]]:
    """A writer's call: row ``i`` written, then ``pause`` seconds and ``then`` in the same
    transaction; it returns the rows it saw. ``log`` gets ("in", i) and ("out", i)."""

    def call() -> list[int]:
        if log is not None:
            log.append(("in", i))
        with session_scope(engine) as s:
            s.execute(text("INSERT INTO written (i) VALUES (:i)"), {"i": i})
            time.sleep(pause)
            if then is not None:
                then(s)
            rows = seen(s)
        if log is not None:
            log.append(("out", i))
        return rows

    return call
