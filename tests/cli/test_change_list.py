"""`changegate change list` a page at a time, and `--all` streaming JSON lines (issue 12).

On SQLite and PostgreSQL. The service is read through the real CLI; the pages are keyset
pages, so changes inserted by another connection while a listing streams never appear twice.
"""

from __future__ import annotations

import json
import threading

from sqlalchemy import Engine

from changegate.changes.listing import ChangeFilter, iter_changes, list_page
from changegate.db import session_scope
from tests.cli_runner import cli
from tests.factories import make_change, make_team


def test_limit_cursor_and_all(db_url: str, engine: Engine) -> None:
    make_team(engine)
    keys = [make_change(engine, title=f"Listed {i}") for i in range(7)]
    newest = keys[::-1]
    first = cli(db_url, "change", "list", "--limit", "3", "--json")
    assert first.code == 0, first.stderr
    assert [c["id"] for c in first.json()] == newest[:3]
    cursor = first.stderr.split("--cursor ", 1)[1].split()[0]
    second = cli(db_url, "change", "list", "--limit", "3", "--cursor", cursor, "--json")
    assert [c["id"] for c in second.json()] == newest[3:6]
    streamed = cli(db_url, "change", "list", "--all", "--limit", "2", "--json")
    assert streamed.code == 0, streamed.stderr
    rows = [json.loads(line) for line in streamed.stdout.splitlines()]
    assert [r["id"] for r in rows] == newest and all(r["title"] for r in rows)
    oldest = cli(db_url, "change", "list", "--all", "--sort", "created", "--search", "listed 1")
    assert oldest.stdout.splitlines() == [f"{keys[1]}\tdraft\tnormal\t\tListed 1\talice"]
    assert cli(db_url, "change", "list", "--json").json()[0]["id"] == newest[0]


def test_bad_cursor_limit_and_filters_exit_2_naming_the_field(db_url: str) -> None:
    for args, field in (
        (["--cursor", "garbage"], "cursor"),
        (["--cursor", "eyJzIjoiLWNyZWF0ZWQifQ"], "cursor"),
        (["--limit", "0"], "limit"),
        (["--limit", "501"], "limit"),
        (["--since", "yesterday"], "since"),
        (["--class", "minor"], "class"),
    ):
        r = cli(db_url, "change", "list", *args, "--json")
        assert r.code == 2, (args, r.stdout, r.stderr)
        assert json.loads(r.stdout)["field"] == field
        assert field in cli(db_url, "change", "list", *args).stderr


def test_streaming_sees_each_change_once_while_another_connection_inserts(engine: Engine) -> None:
    make_team(engine)
    before = {make_change(engine, title=f"Old {i}") for i in range(30)}
    stop = threading.Event()

    def insert() -> None:
        while not stop.is_set():
            make_change(engine, title="Inserted meanwhile")

    writer = threading.Thread(target=insert)
    writer.start()
    try:
        with session_scope(engine) as s:
            seen = [c.key for c in iter_changes(s, ChangeFilter(), page_size=4)]
    finally:
        stop.set()
        writer.join()
    assert len(seen) == len(set(seen))
    assert before <= set(seen)
    with session_scope(engine) as s:
        page = list_page(s, ChangeFilter(q="Old"), sort="created", limit=30)
        assert {c.key for c in page.rows} == before and page.next is None
