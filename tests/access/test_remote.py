"""`changegate access` against a server prints what it prints on a local database (SQLite and
PostgreSQL), takes the actor from the token, and loads no database or web framework."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.access.helpers import AWS
from tests.api.remote_parity import HEAVY, paired, remote_process, run_remote, same
from tests.cli_runner import cli

TEAM = {"ada": ["admin"], "sam": ["security"], "artur": ["cto"], "bob": ["engineer"]}
Pair = tuple[str, str, dict[str, str]]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    with paired(request, tmp_path_factory.mktemp("access"), TEAM) as (local_url, base, tokens):
        for name in TEAM:  # the server's users hold a token each (ids 1..4): so do the local ones
            assert cli(local_url, "token", "create", "--user", name).code == 0
        yield local_url, base, tokens


def test_remote_access_commands_match_local_ones(
    pair: Pair, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    local_url, base, tokens = pair
    opened = ["access", "open", "--name", "Q4", "--csv", str(AWS), "--by", "ada"]
    review = same(local_url, base, tokens["ada"], opened, capsys, code=0).stdout.strip()
    shown = same(local_url, base, tokens["sam"], ["access", "show", review, "--json"], capsys)
    items = {(i["subject"], i["entitlement"]): str(i["id"]) for i in shown.json()["items"]}
    bob, sams = items[("bob", "role:engineer")], items[("sam", "role:security")]
    decide = ["access", "decide", review, bob, "--decision", "revoke", "--by", "sam", "--json"]
    same(local_url, base, tokens["sam"], decide, capsys, code=0)
    own = ["access", "decide", review, sams, "--decision", "keep", "--justification", "x"]
    same(local_url, base, tokens["sam"], [*own, "--by", "sam"], capsys, code=1)
    same(local_url, base, tokens["artur"], ["access", "close", review, "--by", "artur"], capsys, 1)
    same(local_url, base, tokens["ada"], ["access", "overdue", "--json"], capsys, code=0)
    same(local_url, base, tokens["ada"], ["access", "list", "--json"], capsys, code=0)
    for where, run in (("local", cli), ("remote", None)):
        args = ["access", "export", review, "--out", str(tmp_path / where)]
        out = cli(local_url, *args) if run else run_remote(base, tokens["ada"], args, capsys)
        assert out.code == 0, out.stderr
    for name in ("before.csv", "decisions.csv", "after.csv"):
        here, there = (
            (tmp_path / "local" / name).read_text(),
            (tmp_path / "remote" / name).read_text(),
        )
        strip = lambda t: [line.split(",")[:10] for line in t.splitlines()]  # noqa: E731
        assert strip(there) == strip(here) if name == "decisions.csv" else there == here


def test_the_token_is_the_actor(pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    _, base, tokens = pair
    args = ["access", "open", "--name", "Q1", "--by", "ada"]
    out = run_remote(base, tokens["sam"], args, capsys)
    assert out.code == 1 and "authenticated as sam" in out.stderr


def test_remote_access_loads_no_database_or_web_framework(pair: Pair) -> None:
    _, base, tokens = pair
    run, loaded = remote_process(base, tokens["ada"], "access", "overdue", "--json")
    assert run.returncode == 0, run.stderr
    assert not loaded & HEAVY
