"""Keyset pages when many changes share one timestamp: the cursor's (time, id) row value
breaks the tie, so every change comes exactly once, in order, forwards and backwards, in
both directions of both sorts. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, update

from changegate.changes.listing import ChangeFilter, list_states
from changegate.changes.models import Change
from changegate.db import session_scope
from tests.factories import make_change, make_team


@pytest.mark.parametrize("sort", ["-created", "created", "-updated", "updated"])
def test_pages_through_a_tie_once_each(engine: Engine, sort: str) -> None:
    make_team(engine)
    keys = [make_change(engine, title=f"Tied {i}") for i in range(7)]
    same = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
    with session_scope(engine) as s:  # five share one time, one before, one after
        ids = [int(k.removeprefix("CHG-")) for k in keys]
        for i, ident in enumerate(ids):
            at = same + dt.timedelta(seconds=(i == 6) - (i == 0))
            s.execute(update(Change).where(Change.id == ident).values(created_at=at, updated_at=at))
    # the order the sort gives: by time (first, the tie, last), then by id
    order = [ids[0], *sorted(ids[1:6]), ids[6]]
    expected = order[::-1] if sort.startswith("-") else order
    with session_scope(engine, write=False) as s:
        pages, cursor = [], None
        while True:
            page = list_states(s, ChangeFilter(q="tied"), sort=sort, limit=2, cursor=cursor)
            pages.append([int(r["id"].removeprefix("CHG-")) for r in page.rows])
            if page.next is None:
                break
            cursor = page.next
        assert [i for p in pages for i in p] == expected
        # and back from the last page to the first, the same pages
        back = []
        while page.prev is not None:
            page = list_states(s, ChangeFilter(q="tied"), sort=sort, limit=2, cursor=page.prev)
            back.append([int(r["id"].removeprefix("CHG-")) for r in page.rows])
        assert back == pages[-2::-1]
