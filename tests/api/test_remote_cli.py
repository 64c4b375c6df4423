"""Remote mode of the CLI: with CHANGEGATE_URL and CHANGEGATE_TOKEN every command runs against
the server with the same output and exit codes as local mode, and imports neither SQLAlchemy
nor FastAPI (nor Pydantic or Typer)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner as ClickRunner

from changegate.cli import legacy_remote as remote
from changegate.cli.main import COMMANDS
from changegate.cli.main import cli as root
from tests.api.support import database, running_org, serving
from tests.cli_runner import Run, cli

DATA = Path(__file__).parents[1] / "data"
POLICY = Path(__file__).parents[2] / "src" / "changegate" / "policy" / "default.yaml"
TEAM = {
    "alice": ["engineer"],
    "bob": ["engineer"],
    "carol": ["deployer"],
    "ada": ["admin"],
    "ci-bot": ["ci"],
}
TS = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|\+00:00)?( UTC)?")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A local database, and a server on another database with the same users; their tokens."""
    tmp = tmp_path_factory.mktemp("remote")
    backend = str(request.param)
    with database(backend, request, tmp) as local_url, database(backend, request, tmp) as url:
        team = TEAM | {"ada2": ["admin"]}  # a second administrator, to confirm grants
        with running_org(local_url) as local:
            for name, roles in team.items():
                local.user(*roles, name=name)
        with running_org(url) as org, serving(org.app) as base:
            for name, roles in team.items():
                org.user(*roles, name=name)
            yield local_url, base, {name: org.token(name) for name in team}


def run_remote(base: str, token: str, args: list[str], capsys: pytest.CaptureFixture[str]) -> Run:
    """``changegate ARGS`` with CHANGEGATE_URL and the token, and a local database that does not
    exist: a command that used a local database instead of the server would fail."""
    first = next((a for a in args if not a.startswith("-")), None)
    if first in COMMANDS:
        env = {
            "CHANGEGATE_URL": base,
            "CHANGEGATE_TOKEN": token,
            "CHANGEGATE_DB": "sqlite:////nonexistent/no-local-database.db",
            "COLUMNS": "200",
        }
        result = ClickRunner(env=env).invoke(
            root, args, catch_exceptions=False, prog_name="changegate"
        )
        return Run(result.exit_code, result.stdout, result.stderr)
    return _run_legacy_remote(base, token, args, capsys)


def _run_legacy_remote(
    base: str, token: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> Run:
    env = {"CHANGEGATE_URL": base, "CHANGEGATE_TOKEN": token, "COLUMNS": "200"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        capsys.readouterr()
        code = remote.main(args)
        out = capsys.readouterr()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert code is not None, f"{args} fell back to local mode"
    return Run(code, out.out, out.err)


def normal(text: str) -> str:
    return TS.sub("<time>", text)


def comparable(run: Run) -> Any:
    try:
        data = json.loads(run.stdout)
    except ValueError:
        return normal(run.stdout)
    return json.loads(normal(json.dumps(data)))


STEPS: list[tuple[str, list[str]]] = [
    (
        "alice",
        [
            "change",
            "new",
            "--title",
            "Round tax",
            "--class",
            "normal",
            "--risk",
            "availability=low",
            "--risk",
            "security=low",
            "--risk",
            "data=low",
            "--risk-note",
            "data=no PII",
            "--rollback",
            "redeploy",
            "--description",
            "per line",
            "--link",
            "https://example.com/pr/7",
            "--commit",
            "3f2a9c1d5e7b4a6c8d0e2f4a6b8c0d2e4f6a8b0c",
            "--author",
            "alice",
            "--json",
        ],
    ),
    (
        "alice",
        ["change", "edit", "CHG-1", "--risk", "availability=medium", "--by", "alice", "--json"],
    ),
    ("alice", ["change", "submit", "CHG-1", "--by", "alice"]),
    ("bob", ["status", "CHG-1"]),
    ("bob", ["status", "CHG-1", "--json"]),
    ("alice", ["approve", "CHG-1", "--by", "alice"]),
    ("alice", ["approve", "CHG-1", "--by", "alice", "--json"]),
    ("bob", ["approve", "CHG-1", "--by", "bob", "--comment", "LGTM", "--json"]),
    (
        "ci-bot",
        [
            "evidence",
            "add",
            "CHG-1",
            "--junit",
            str(DATA / "junit_pass.xml"),
            "--by",
            "ci-bot",
            "--json",
        ],
    ),
    (
        "ci-bot",
        [
            "evidence",
            "add",
            "CHG-1",
            "--validation",
            "staging",
            "--result",
            "pass",
            "--by",
            "ci-bot",
        ],
    ),
    ("bob", ["evidence", "add", "CHG-1", "--by", "bob"]),
    ("carol", ["gate", "CHG-1", "--env", "production", "--deployer", "carol"]),
    ("carol", ["gate", "CHG-1", "--env", "mars", "--deployer", "carol"]),
    (
        "carol",
        [
            "deploy",
            "CHG-1",
            "--env",
            "production",
            "--version",
            "v1.4.2",
            "--by",
            "carol",
            "--json",
        ],
    ),
    ("carol", ["deploy", "CHG-1", "--env", "production", "--version", "v1.4.2", "--by", "carol"]),
    (
        "carol",
        [
            "rollback",
            "CHG-1",
            "--env",
            "production",
            "--to",
            "v1.4.1",
            "--reason",
            "errors",
            "--by",
            "carol",
            "--json",
        ],
    ),
    ("bob", ["history", "--env", "production", "--json"]),
    ("bob", ["change", "show", "CHG-1", "--json"]),
    ("bob", ["change", "list", "--state", "rolled_back", "--json"]),
    ("bob", ["change", "list", "--state", "nonsense"]),
    ("bob", ["overdue", "--json"]),
    ("bob", ["policy", "check", str(POLICY), "--json"]),
    ("carol", ["gate", "CHG-999", "--env", "production", "--deployer", "carol"]),
    (
        "alice",
        [
            "change",
            "new",
            "--title",
            "x",
            "--class",
            "weekly",
            "--risk",
            "availability=low",
            "--author",
            "alice",
            "--json",
        ],
    ),
    ("ada", ["user", "list", "--json"]),
    ("ada", ["audit", "verify", "--anchor", "12"]),
]


def test_remote_mode_prints_what_local_mode_prints(
    pair: tuple[str, str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    local_url, base, tokens = pair
    for who, args in STEPS:
        here = cli(local_url, *args)
        there = run_remote(base, tokens[who], args, capsys)
        label = f"{who}: changegate {' '.join(args)}"
        assert there.code == here.code, f"{label}\nlocal: {here.stderr}\nremote: {there.stderr}"
        assert normal(there.stderr) == normal(here.stderr), label
        if args[0] == "user":  # remote users carry their token's audit trail; compare names
            assert [u["name"] for u in there.json()] == [u["name"] for u in here.json()]
            continue
        assert comparable(there) == comparable(here), label


SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # listed on the change
REFUSED_SHA = "9c1185a5c5e9fc54612808977ee8f548b2258d31"  # listed on a draft
UNKNOWN_SHA = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # on no change


def same(
    local_url: str,
    base: str,
    token: str,
    args: list[str],
    capsys: pytest.CaptureFixture[str],
    code: int | None = None,
) -> Run:
    """Run ``args`` locally and remotely; the same exit code, stderr and output."""
    here = cli(local_url, *args)
    there = run_remote(base, token, args, capsys)
    label = f"changegate {' '.join(args)}"
    assert there.code == here.code, f"{label}\nlocal: {here.stderr}\nremote: {there.stderr}"
    assert normal(there.stderr) == normal(here.stderr), label
    assert comparable(there) == comparable(here), label
    if code is not None:
        assert here.code == code, f"{label}: {here.stderr}"
    return there


def test_remote_gate_and_deploy_by_commit(
    pair: tuple[str, str, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What the GitHub Action and the GitLab snippet run: `gate --git-sha` and
    `deploy --git-sha`, the deployer named by GitHub login or taken from $GITHUB_ACTOR."""
    local_url, base, tokens = pair
    monkeypatch.delenv("GITHUB_ACTOR", raising=False)

    def run(who: str, *args: str, code: int | None = None) -> Run:
        return same(local_url, base, tokens[who], list(args), capsys, code)

    new = ["change", "new", "--class", "normal", "--author", "alice", "--json"]
    new += ["--risk", "availability=medium", "--risk", "security=low", "--risk", "data=low"]
    new += ["--rollback", "redeploy", "--description", "by commit"]
    key = run("alice", *new, "--title", "Gate by commit", "--commit", SHA).json()["id"]
    run("alice", *new, "--title", "Never reviewed", "--commit", REFUSED_SHA)
    run("alice", "change", "submit", key, "--by", "alice", code=0)
    gate = ["gate", "--git-sha", SHA, "--env", "production"]
    run("carol", *gate, "--deployer", "carol", code=1)  # not yet approved: closed
    run("bob", "approve", key, "--by", "bob", code=0)
    junit = str(DATA / "junit_pass.xml")
    run("ci-bot", "evidence", "add", key, "--junit", junit, "--by", "ci-bot")
    staging = ("--validation", "staging", "--result", "pass")
    run("ci-bot", "evidence", "add", key, *staging, "--by", "ci-bot")
    sent: list[tuple[str, str]] = []
    real_request = remote.Client.request

    def counted(self: remote.Client, method: str, path: str, body: Any = None) -> remote.Answer:
        sent.append((method, path))
        return real_request(self, method, path, body)

    with monkeypatch.context() as m:
        m.setattr(remote.Client, "request", counted)
        out = run("carol", *gate, "--deployer", "carol", "--json", code=0).json()
    assert out["change"] == key and out["commit"] == {"sha": SHA, "linked_as": "commit"}
    # one request: the server finds, locks and gates the change in one transaction
    assert sent == [("POST", f"/api/changes/by-commit/{SHA}/gate")]
    run("carol", *gate, "--deployer", "carol", code=0)
    run(
        "carol", "gate", "--git-sha", SHA[:12].upper(), "--env", "production", "--deployer", "carol"
    )

    # the deployer by GitHub login, or from $GITHUB_ACTOR, as the Action passes it
    # an administrator's grant of a gate role waits for a second administrator (locally the
    # same administrator is named with --by; remotely the token says who acts)
    add = ["user", "add", "dora", "--role", "deployer", "--github", "dora-gh", "--by", "ada"]
    assert run("ada", *add, "--json").json()["pending_roles"] == ["deployer"]
    grant = run("ada2", "user", "grants", "--pending", "--json").json()[0]["id"]
    run("ada", "user", "confirm-grant", str(grant), "--by", "ada", code=1)  # not their own
    run("ada2", "user", "confirm-grant", str(grant), "--by", "ada2", "--json", code=0)
    dora = run_remote(base, tokens["ada"], ["token", "create", "--user", "dora", "--json"], capsys)
    tokens["dora"] = dora.json()["token"]
    run("dora", *gate, "--deployer", "dora-gh", "--json", code=0)
    run("carol", *gate, code=2)  # no --deployer and no $GITHUB_ACTOR
    monkeypatch.setenv("GITHUB_ACTOR", "dora-gh")
    run("dora", *gate, code=0)
    deploy = ["deploy", "--git-sha", SHA, "--env", "production", "--version", "v2.0.0"]
    out = run("dora", *deploy, "--json", code=0).json()
    assert out["deployed"] and out["gate"]["deployer"] == "dora" and out["commit"]["sha"] == SHA
    monkeypatch.delenv("GITHUB_ACTOR")
    run("carol", *deploy, "--by", "carol", code=1)  # already deployed: a conflict
    staging = ["--env", "staging", "--version", "v2", "--by", "carol"]
    run("carol", "deploy", "--git-sha", SHA, *staging, code=0)

    # refused by the gate (recorded), an unknown commit, and bad invocations
    refused = ["deploy", "--git-sha", REFUSED_SHA, "--env", "production", "--version", "v3"]
    assert run("carol", *refused, "--by", "carol", "--json", code=1).json()["commit"]
    run("carol", *refused, "--by", "carol", code=1)
    run("carol", "gate", "--git-sha", REFUSED_SHA, "--env", "production", "--deployer", "carol")
    for args in (
        ["gate", "--git-sha", UNKNOWN_SHA, "--env", "production", "--deployer", "carol"],
        [
            "deploy",
            "--git-sha",
            UNKNOWN_SHA,
            "--env",
            "production",
            "--version",
            "v4",
            "--by",
            "carol",
        ],
    ):
        r = run("carol", *args, code=1)  # no change behind the commit: the gate is closed
        assert "no change record is linked to commit" in r.stderr
        assert run("carol", *args, "--json", code=1).json()["error"] == "NoLinkedChange"
    run("carol", "gate", "--git-sha", "not-a-sha", "--env", "production", code=2)
    run("carol", "gate", key, "--git-sha", SHA, "--env", "production", code=2)
    run("carol", "gate", "--env", "production", "--deployer", "carol", code=2)
    run("carol", "gate", "--git-sha", SHA, code=2)  # no --env: a usage error
    run("carol", "deploy", "--env", "production", "--version", "v5", "--by", "carol", code=2)


def test_remote_audit_verify_checks_anchors(
    pair: tuple[str, str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, base, tokens = pair
    head = run_remote(base, tokens["ada"], ["audit", "verify", "--json"], capsys).json()
    anchor = f"{head['head_seq']}:{head['head_hash']}"
    ok = run_remote(base, tokens["ada"], ["audit", "verify", "--anchor", anchor], capsys)
    assert ok.code == 0 and f"anchor #{head['head_seq']}: matches" in ok.stdout
    far = f"{head['head_seq'] + 1000}:{head['head_hash']}"
    args = ["audit", "verify", "--anchor", anchor, "--anchor", far, "--json"]
    broken = run_remote(base, tokens["ada"], args, capsys)
    assert broken.code == 1
    assert [a["ok"] for a in broken.json()["anchors"]] == [True, False]
    assert "anchored but the log ends at" in broken.json()["problems"][0]


def test_identity_comes_from_the_token(
    pair: tuple[str, str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    _, base, tokens = pair
    r = run_remote(base, tokens["bob"], ["approve", "CHG-1", "--by", "alice", "--json"], capsys)
    assert r.code == 1 and r.json()["error"] == "PolicyDenied"
    assert "authenticated as bob" in r.stderr
    r = run_remote(base, "cg_nonsense", ["status", "CHG-1"], capsys)
    assert r.code == 2 and "CHANGEGATE_TOKEN" in r.stderr
    r = run_remote("http://127.0.0.1:9", tokens["bob"], ["status", "CHG-1"], capsys)
    assert r.code == 2 and "cannot reach the changegate server" in r.stderr


def test_local_only_commands_and_explicit_databases_fall_back() -> None:
    assert remote.main(["demo"]) is None
    assert remote.main(["serve"]) is None
    assert remote.main(["gate", "--help"]) is None
    assert remote.main(["status", "CHG-1", "--db", "sqlite:///x.db"]) is None


def test_remote_gate_imports_no_database_or_web_framework(
    pair: tuple[str, str, dict[str, str]],
) -> None:
    _, base, tokens = pair
    env = dict(os.environ, CHANGEGATE_URL=base, CHANGEGATE_TOKEN=tokens["carol"])
    args = ["gate", "CHG-1", "--env", "staging", "--deployer", "carol", "--json"]
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "changegate", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode in (0, 1), r.stderr[-2000:]
    assert json.loads(r.stdout)["change"] == "CHG-1"
    modules = {
        line.split("|")[-1].strip().split(".")[0] for line in r.stderr.splitlines() if "|" in line
    }
    assert not modules & {"sqlalchemy", "fastapi", "starlette", "pydantic", "typer", "alembic"}, (
        modules
    )
