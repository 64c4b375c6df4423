"""`change hold` / `change release`, `audit retention` and `audit purge`: the same output and
exit codes locally and against the server, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.api.remote_parity import HEAVY, pair, remote_process, run_remote, same
from tests.cli_runner import Run, cli

__all__ = ["pair"]


def test_retention_commands_locally_and_remotely(
    pair: tuple[str, str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    local_url, base, tokens = pair

    def run(who: str, *args: str, code: int | None = None) -> Run:
        return same(local_url, base, tokens[who], list(args), capsys, code)

    def remote(args: list[str]) -> Run:
        return run_remote(base, tokens["ada"], args, capsys)

    new = ["change", "new", "--title", "Hold me", "--class", "normal", "--author", "alice"]
    new += ["--risk", "availability=low", "--risk", "security=low", "--risk", "data=low"]
    key = run("alice", *new, "--rollback", "revert", "--json", code=0).json()["id"]

    hold = ["change", "hold", key, "--reason", "litigation 2027-14"]
    run("alice", *hold, "--by", "alice", code=1)  # the policy's retention.hold: not engineers
    out = run("ada", *hold, "--by", "ada", "--json", code=0).json()
    assert out["change"] == key and out["held_by"] == "ada" and out["released_at"] is None
    run("ada", *hold, "--by", "ada", code=1)  # already held
    run("ada", "change", "hold", key, "--reason", " ", "--by", "ada", code=2)
    run("ada", "change", "release", key, "--reason", "settled", "--by", "ada", code=0)
    run("ada", "change", "release", key, "--by", "ada", code=1)  # not held any more

    report = run("ada", "audit", "retention", "--json", code=0).json()
    assert report["retention_years"] == 7 and report["blobs"] == [] and report["changes"] == []
    run("ada", "audit", "retention", code=0)
    run("ada", "audit", "purge", "--by", "ada", "--json", code=0)
    run("ada", "audit", "purge", "--by", "ada", "--before", "yesterday", code=2)
    run("alice", "audit", "purge", "--by", "alice", code=1)
    # sequence numbers differ between the two databases: the timelines' actions agree
    for log in (
        cli(local_url, "audit", "log", key, "--json"),
        remote(["audit", "log", key, "--json"]),
    ):
        actions = [row["action"] for row in log.json()]
        assert actions[-2:] == ["retention.hold_placed", "retention.hold_released"]


def test_remote_retention_commands_import_no_database_or_web_framework(
    pair: tuple[str, str, dict[str, str]],
) -> None:
    """`audit retention` and `change hold` against a server as fresh processes: none imports
    SQLAlchemy, FastAPI, Pydantic or Rich; `backup` refuses to run against a server."""
    _, base, tokens = pair
    for args in (
        ("audit", "retention", "--json"),
        ("change", "hold", "CHG-999", "--reason", "x", "--by", "ada"),
    ):
        r, loaded = remote_process(base, tokens["ada"], *args)
        assert r.returncode in (0, 1, 2) and "Traceback" not in r.stderr, r.stderr[-2000:]
        assert not loaded & HEAVY, (args, loaded & HEAVY)
    r, _ = remote_process(base, tokens["ada"], "backup", "--out", "/nonexistent/x.db")
    assert r.returncode == 2 and "CHANGEGATE_URL" in r.stderr
