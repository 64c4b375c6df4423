"""`changegate findings` and `change new --fixes` against a server print what they print
locally, with the same exit codes, and a remote findings command loads no database library."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from changegate.db import utcnow
from tests.api.remote_parity import HEAVY, paired, remote_process, same
from tests.findings.support import TRIVY

TEAM = {
    "alice": ["engineer"],
    "sam": ["security"],
    "artur": ["cto"],
    "carol": ["deployer"],
}
Pair = tuple[str, str, dict[str, str]]


@pytest.fixture(params=["sqlite", "postgres"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    with paired(request, tmp_path_factory.mktemp("findings-remote"), TEAM) as found:
        yield found


def test_findings_commands_remote_as_local(pair: Pair, capsys: pytest.CaptureFixture[str]) -> None:
    local_url, base, tokens = pair

    def run(who: str, *args: str, code: int) -> None:
        same(local_url, base, tokens[who], list(args), capsys, code)

    imp = ["findings", "import", str(TRIVY), "--format", "trivy", "--scope", "application"]
    run("carol", *imp, "--by", "carol", code=1)  # a deployer may not import
    run("sam", *imp, "--by", "sam", "--json", code=0)
    run("sam", *imp, "--by", "sam", code=0)  # the same scan again: nothing new
    run("sam", "findings", "import", str(TRIVY), "--format", "sarif", "--by", "sam", code=2)
    run("alice", "findings", "list", "--json", code=0)
    run("alice", "findings", "list", "--severity", "critical", "--scope", "application", code=0)
    run("alice", "findings", "list", "--status", "nonsense", code=2)
    run("alice", "findings", "show", "1", "--json", code=0)
    run("alice", "findings", "show", "999", code=2)
    run("alice", "findings", "overdue", "--json", code=0)
    expires = str(utcnow().date() + dt.timedelta(days=10))
    accept = ["findings", "accept", "1", "--justification", "WAF rule", "--expires"]
    run("sam", *accept, expires, "--by", "sam", code=1)  # sam imported it: the owner
    run("alice", *accept, expires, "--by", "alice", code=1)  # no findings.accept role
    run("artur", *accept, "31/12/2026", "--by", "artur", code=2)
    run("artur", *accept, expires, "--by", "artur", "--json", code=0)
    new = ["change", "new", "--title", "Bump jinja2", "--class", "normal", "--author", "alice"]
    run("alice", *new, "--fixes", "3", "--json", code=0)
    run("alice", *new, "--fixes", "999", code=2)
    run("alice", "findings", "show", "3", "--json", code=0)


def test_remote_findings_commands_import_no_database_or_web_framework(pair: Pair) -> None:
    _, base, tokens = pair
    run, loaded = remote_process(base, tokens["alice"], "findings", "list", "--json")
    assert run.returncode == 0, run.stderr
    assert not loaded & HEAVY, sorted(loaded & HEAVY)
