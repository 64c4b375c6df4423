"""Into a pipe (a CI log, `| grep`) human output is plain lines, never wrapped at 80 columns and
without colour codes; JSON stays one document. Run as fresh processes: their stdout is a pipe."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from tests.cli_runner import cli_process
from tests.factories import make_change, make_team

LONG = "a description long enough to be wrapped by a terminal renderer " * 3


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_tables_and_fields_are_unwrapped_lines_in_a_pipe(engine: Engine, db_url: str) -> None:
    make_team(engine)
    key = make_change(engine, description=LONG.strip())
    shown = cli_process(db_url, "change", "show", key)
    assert shown.code == 0, shown.stderr
    assert any(LONG.strip() in line for line in shown.stdout.splitlines()), shown.stdout
    assert "\x1b[" not in shown.stdout
    log = cli_process(db_url, "audit", "log", key)
    assert log.code == 0, log.stderr
    lines = log.stdout.splitlines()
    assert lines[1].split("\t") == ["#", "time", "actor", "action", "entity", "summary"]
    assert all(len(line.split("\t")) == 6 for line in lines[2:]) and len(lines) > 2
    listed = cli_process(db_url, "change", "list")
    assert f"{key}\t" in listed.stdout and "\x1b[" not in listed.stdout
