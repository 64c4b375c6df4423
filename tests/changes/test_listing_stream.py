"""`change list --all` streams (issue 12): every matching change read by one statement a batch
at a time, through a server-side cursor on PostgreSQL; the session keeps none of what it
yielded. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
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


def test_a_page_read_as_rows_is_the_orms_page_with_the_same_cursors(
    engine: Engine,
) -> None:
    """Pages are read as rows of the table's columns, not ORM instances: field for field what
    the ORM's ``Change`` and its ``audit_state()`` give, with the same cursors, both ways
    through the pages."""
    from changegate.changes import service as changes
    from changegate.changes.listing import encode_cursor, list_states
    from tests.factories import DEFAULT, tx

    make_team(engine)
    plain = make_change(engine, title="Paged plain")
    full = make_change(
        engine,
        title="Paged full",
        ai_component="rag-pipeline",
        security_flag=True,
        providers=["openai"],
        links=["https://example.com/x"],
        commits=["a" * 40],
        justification="because",
    )
    tx(
        engine,
        lambda s: changes.submit_change(
            s, DEFAULT.policy, changes.get_change(s, full), actor="alice"
        ),
    )
    keys = [make_change(engine, title=f"Paged {i}") for i in range(3)]
    with session_scope(engine, write=False) as s:
        orm = list(iter_changes(s, ChangeFilter(q="paged")))[:2]  # the ORM's first page
        states = list_states(s, ChangeFilter(q="paged"), limit=2)
        assert states.rows == [c.audit_state() for c in orm]
        # made straight from the rows, the states are change_state's, key order included
        assert [list(r.items()) for r in states.rows] == [
            list(c.audit_state().items()) for c in orm
        ]
        # one statement serves every value of a filter: each value gets its own rows
        for title in ("Paged plain", "Paged full"):
            (only,) = list_states(s, ChangeFilter(q=title)).rows
            assert only["title"] == title
        shown = ("key", "title", "change_class", "category", "state", "author", "updated_at")
        rows = list_page(s, ChangeFilter(q="paged"), limit=2)  # what the web list renders
        assert [[getattr(r, f) for f in shown] for r in rows.rows] == [
            [getattr(c, f) for f in shown] for c in orm
        ]
        assert (states.next, states.prev) == (rows.next, rows.prev)
        from changegate.web.change_pages import LIST_COLUMNS

        narrow = list_page(s, ChangeFilter(q="paged"), limit=2, columns=LIST_COLUMNS)
        assert [r._asdict() for r in narrow.rows] == [
            {f: getattr(r, f) for f in ("key", "id", "created_at", "updated_at", *LIST_COLUMNS)}
            for r in rows.rows
        ]  # only what the web list shows (and the cursors' keys), as the full read has it
        assert (narrow.next, narrow.prev) == (rows.next, rows.prev)
        with pytest.raises(ValueError, match="not columns of changes: nope"):
            list_page(s, ChangeFilter(), columns=("title", "nope"))
        assert states.next == encode_cursor("-created", orm[-1]) and states.prev is None
        pages = [[r["id"] for r in states.rows]]
        cursor: str | None = states.next
        while cursor:
            more = list_states(s, ChangeFilter(q="paged"), limit=2, cursor=cursor)
            back = list_states(s, ChangeFilter(q="paged"), limit=2, cursor=more.prev)
            assert [r["id"] for r in back.rows] == pages[-1]
            pages.append([r["id"] for r in more.rows])
            cursor = more.next
        everything = [c.audit_state() for c in iter_changes(s, ChangeFilter(q="paged"))]
    assert (
        [k for page in pages for k in page]
        == [st["id"] for st in everything]
        == [*keys[::-1], full, plain]
    )
    submitted = next(st for st in everything if st["id"] == full)
    assert submitted["submitted_at"] and submitted["providers"] == ["openai"]
