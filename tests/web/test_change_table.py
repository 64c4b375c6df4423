"""The change table (``macros.html`` ``change_table``, on the list and the dashboard) writes
its rows with autoescaping off, each value escaped by the ``text`` filter: markup in any
field, as someone with write access to the database could leave it, is shown as text."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from markupsafe import escape

from changegate.web.render import jinja_env, text, when

MARKUP = """<script>alert("x")</script>' onmouseover='y' &amp;"""
FIELDS = ("title", "change_class", "category", "state", "author")


def _table(**row: Any) -> str:
    env = jinja_env(SimpleNamespace(extra={}))  # type: ignore[arg-type]
    base = {f: "plain" for f in FIELDS} | {
        "key": "CHG-7",
        "updated_at": dt.datetime(2026, 11, 30, 9, 5, tzinfo=dt.UTC),
    }
    macro = env.from_string(
        '{% from "macros.html" import change_table %}{{ change_table(rows, category=true) }}'
    )
    return str(macro.render(rows=[SimpleNamespace(**(base | row))]))


@pytest.mark.parametrize("field", FIELDS)
def test_markup_in_any_field_is_shown_as_text(field: str) -> None:
    page = _table(**{field: MARKUP})
    assert "<script>" not in page and "onmouseover='" not in page
    assert str(escape(MARKUP)) in page  # as autoescaping writes it
    assert page.count("<tr>") == 2 and "<td>" in page  # the rows are markup, not text


def test_a_plain_row_reads_as_before() -> None:
    page = _table()
    assert '<a href="/changes/CHG-7">CHG-7</a>' in page
    assert '<span class="badge class-plain">plain</span>' in page
    assert '<td class="nowrap">2026-11-30 09:05 UTC</td>' in page
    assert "&lt;" not in page


def test_text_escapes_quotes_and_when_writes_minutes_in_utc() -> None:
    assert text("""<a href="x">'&""") == "&lt;a href=&#34;x&#34;&gt;&#39;&amp;"
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert when(dt.datetime(2026, 1, 1, 1, 30, 59, tzinfo=plus_two)) == "2025-12-31 23:30 UTC"
    assert when("2026-11-30T09:05:07Z") == "2026-11-30 09:05 UTC"
    assert when(dt.datetime(999, 1, 2, 3, 4, tzinfo=dt.UTC)) == "999-01-02 03:04 UTC"
    assert when(None) == when("") == ""
