"""`change list --all` streams (issue 12): every matching change read by one statement a batch
at a time, through a server-side cursor on PostgreSQL; the session keeps none of what it
yielded. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event, text

from changegate.changes.listing import ChangeFilter, iter_changes, list_page
from changegate.db import session_scope
from tests.factories import make_change, make_team


def test_all_is_one_statement_read_a_batch_at_a_time(engine: Engine) -> None:
    make_team(engine)
    keys = [make_change(engine, title=f"Streamed {i}") for i in range(9)]
    make_change(engine, title="Not this one")
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "FROM changes" in statement:
            statements.append(statement)

    with session_scope(engine, write=False) as s:
        expected = [c.key for c in list_page(s, ChangeFilter(q="streamed"), limit=50).rows]
        s.expunge_all()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            got, cursors, held = [], set(), 0
            for c in iter_changes(s, ChangeFilter(q="streamed"), page_size=4):
                got.append(c.key)
                held = max(held, len(s.identity_map))
                if engine.dialect.name == "postgresql":
                    cursors |= set(
                        s.execute(text("SELECT name FROM pg_cursors WHERE name <> ''")).scalars()
                    )
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        left = len(s.identity_map)
    assert got == expected == keys[::-1]
    assert len(statements) == 1, statements  # one statement, not a query per page
    assert held <= 4 and left == 0  # one batch held at a time, none kept
    if engine.dialect.name == "postgresql":
        assert len(cursors) == 1, cursors  # psycopg's named (server-side) cursor
