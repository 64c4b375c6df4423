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
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner as ClickRunner

from changegate.cli import legacy_remote as remote
from changegate.cli.main import COMMANDS
from changegate.cli.main import cli as root
from changegate.cli.remote.client import Answer, Client
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
    team = TEAM | {"ada2": ["admin"]}  # a second administrator, to confirm grants
    with paired(request, tmp_path_factory.mktemp("remote"), team) as (local_url, base, tokens):
        yield local_url, base, tokens


@contextmanager
def paired(
    request: pytest.FixtureRequest, tmp: Path, team: dict[str, list[str]]
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """On the backend ``request.param`` names: a local database and a server on another one,
    both with ``team``; the server's URL and a token per user."""
    backend = str(request.param)
    with database(backend, request, tmp) as local_url, database(backend, request, tmp) as url:
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
    real_request = Client.request

    def counted(self: Client, method: str, path: str, body: Any = None) -> Answer:
        sent.append((method, path))
        return real_request(self, method, path, body)

    with monkeypatch.context() as m:
        m.setattr(Client, "request", counted)
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


def test_local_only_commands_and_explicit_databases_fall_back(tmp_path: Path) -> None:
    assert remote.main(["status", "CHG-1", "--db", "sqlite:///x.db"]) is None
    # an explicit --db is a local database whatever CHANGEGATE_URL says (here: no server)
    env = {"CHANGEGATE_URL": "http://127.0.0.1:9", "CHANGEGATE_TOKEN": "cg_unused"}
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    for args in (
        ["gate", "CHG-1", "--env", "production", "--deployer", "carol", "--db", db],
        ["audit", "verify", "--db", db],
    ):
        result = ClickRunner(env=env).invoke(root, args, prog_name="changegate")
        assert result.exit_code == 2 and "changegate init" in result.stderr, result.stderr
        assert "cannot reach" not in result.stderr


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


def log_rows(run: Run) -> list[tuple[str, ...]]:
    """The audit log's rows as the two databases can agree on them: sequence numbers and the ids
    of gate decisions and deployments differ (the server's database also records what other
    tests ran against it alone)."""
    return [
        (r["actor"], r["action"], r["entity"].split(":")[0], r["summary"], r["event"]["actor"])
        for r in run.json()
    ]


def test_remote_emergency_review_history_and_audit_log(
    pair: tuple[str, str, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """An emergency change deployed on its bypass, its retrospective review, and the record of
    it read back: the same output and exit codes locally and against the server."""
    local_url, base, tokens = pair

    def run(who: str, *args: str, code: int | None = None) -> Run:
        return same(local_url, base, tokens[who], list(args), capsys, code)

    new = ["change", "new", "--title", "Disable endpoint", "--class", "emergency"]
    new += ["--risk", "availability=medium", "--risk", "security=high", "--risk", "data=low"]
    new += ["--rollback", "re-enable", "--description", "exploit", "--author", "alice"]
    key = run("alice", *new, "--justification", "CVE exploited", "--json", code=0).json()["id"]
    run("alice", "change", "submit", key, "--by", "alice", code=0)
    deploy = ["deploy", key, "--env", "production", "--version", "hotfix-1", "--by", "carol"]
    assert "emergency bypass" in run("carol", *deploy, code=0).stdout
    run("bob", "overdue", code=0)
    run("bob", "history", "--env", "production", code=0)
    review = ["review-emergency", key, "--root-cause", "parser", "--actions", "disabled"]
    review += ["--preventive", "scanning"]
    run("alice", *review, "--by", "alice", code=1)  # the author reviews their own change
    run("bob", *review[:3], " ", *review[4:], "--by", "bob", code=2)  # a blank root cause
    run("bob", *review[:-2], "--by", "bob", code=2)  # no --preventive: a usage error
    run("bob", *review, "--by", "bob", "--json", code=0)
    run("bob", *review, "--by", "bob", code=1)  # reviewed already
    run("bob", "review-emergency", "CHG-1", *review[2:], "--by", "bob", code=1)  # not emergency
    run("bob", "review-emergency", "CHG-999", *review[2:], "--by", "bob", code=2)

    for args in (["audit", "log", key, "--json"], ["audit", "log", key, "--limit", "2", "--json"]):
        here = cli(local_url, *args)
        there = run_remote(base, tokens["ada"], args, capsys)
        assert (there.code, there.stderr) == (here.code, here.stderr) == (0, "")
        assert log_rows(there) == log_rows(here)
        assert len(here.json()) == 2 if "--limit" in args else len(here.json()) > 2
    run("ada", "audit", "log", "CHG-999", code=2)
    for who, out in (("local", tmp_path / "local.jsonl"), ("remote", tmp_path / "remote.jsonl")):
        args = ["audit", "export", "--out", str(out), "--json"]
        r = (
            cli(local_url, *args)
            if who == "local"
            else run_remote(base, tokens["ada"], args, capsys)
        )
        lines = out.read_text().splitlines()
        assert r.code == 0 and r.json() == {"events": len(lines), "file": str(out)}, who
        assert set(json.loads(lines[-1])) == {"seq", "event", "leaf_hash", "chain_hash"}, who
    missing = ["audit", "export", "--out", str(tmp_path / "no" / "such" / "dir.jsonl")]
    run("ada", *missing, code=2)
    # the server's policy decides who reads the whole record (local mode is the database's owner)
    denied = ["audit", "export", "--out", str(tmp_path / "bob.jsonl")]
    assert run_remote(base, tokens["bob"], denied, capsys).code == 1
    assert not (tmp_path / "bob.jsonl").exists()


def test_server_and_demo_run_here_whatever_changegate_url_says(tmp_path: Path) -> None:
    """`serve` and `demo` have no remote side: the server is this machine, the demo builds its
    own database; CHANGEGATE_URL does not turn them away, and demo ignores CHANGEGATE_DB."""
    real = tmp_path / "real.db"  # the operator's database: the demo must not write into it
    env = {
        "CHANGEGATE_URL": "http://127.0.0.1:9",
        "CHANGEGATE_TOKEN": "cg_unused",
        "CHANGEGATE_DB": f"sqlite:///{real}",
    }
    result = ClickRunner(env=env).invoke(
        root, ["demo", "--json"], catch_exceptions=False, prog_name="changegate"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["ok"] and not real.exists()
    env["CHANGEGATE_DB"] = "sqlite:////nonexistent/no-local-database.db"
    help_text = ClickRunner(env=env).invoke(root, ["demo", "--help"]).stdout
    assert "--db" in help_text and "CHANGEGATE_DB" not in help_text
    serve = ["serve", "--port", "1"]  # on CHANGEGATE_DB: a directory that does not exist
    result = ClickRunner(env=env | {"CHANGEGATE_SECRET_KEY": "k" * 48}).invoke(root, serve)
    assert result.exit_code == 2 and "database error" in result.stderr, result.stderr


def test_remote_change_record_commands(
    pair: tuple[str, str, dict[str, str]], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`change new/edit/submit/close/show/list`, `approve`, `reject`, `evidence add` and
    `status`, with their refusals and usage errors: the same output and exit codes locally
    and against the server."""
    local_url, base, tokens = pair

    def run(who: str, *args: str, code: int | None = None) -> Run:
        return same(local_url, base, tokens[who], list(args), capsys, code)

    new = ["change", "new", "--title", "Cache headers", "--class", "normal", "--author", "alice"]
    run("alice", *new, "--risk", "availability", code=2)  # not DIMENSION=LEVEL
    run("alice", *new, "--risk-note", "data=none", code=2)  # a note without its level
    run("alice", *new[:-2], code=2)  # no --author: a usage error
    new += ["--risk", "availability=low", "--risk", "security=low", "--risk", "data=low"]
    key = run("alice", *new, "--component", "application", "--json", code=0).json()["id"]
    run("alice", "change", "submit", key, "--by", "alice", code=2)  # no description, rollback
    edit = ["change", "edit", key, "--by", "alice"]
    run("alice", *edit, "--risk-note", "data=no PII", "--description", "faster", code=0)
    run("alice", *edit, "--risk-note", "cost=cheap", code=2)  # no level for that dimension
    run("alice", *edit, "--risk", "data=high", "--rollback", "revert", "--json", code=0)
    run("alice", "change", "edit", "CHG-999", "--title", "x", "--by", "alice", code=2)
    run("alice", "change", "edit", "CHG-999", "--risk", "data=low", "--by", "alice", code=2)
    run("alice", "change", "submit", key, "--by", "alice", code=0)
    run("bob", "change", "show", key, code=0)
    run("bob", "status", key, code=0)

    run("bob", "reject", key, "--by", "bob", code=2)  # no --comment: a usage error
    run("alice", "reject", key, "--by", "alice", "--comment", "mine", code=1)
    report = tmp_path / "staging.txt"
    report.write_text("all green\n")
    attach = ["evidence", "add", key]
    run("ci-bot", *attach, "--junit", str(DATA / "junit_fail.xml"), "--by", "ci-bot", code=0)
    run("ci-bot", *attach, "--junit", str(tmp_path / "none.xml"), "--by", "ci-bot", code=2)
    staging = ["--validation", "staging", "--result", "pass", "--by", "ci-bot"]
    run("ci-bot", *attach, *staging, "--report", str(report), "--json", code=0)
    run("ci-bot", *attach, "--validation", "staging", "--by", "ci-bot", code=2)  # no --result
    run("bob", *attach, "--document", str(report), "--by", "bob", code=2)  # no --kind
    run("bob", *attach, "--junit", str(report), "--report", str(report), "--by", "bob", code=2)
    run("bob", *attach, "--document", str(report), "--kind", "design", "--by", "bob", code=0)
    run("bob", "change", "show", key, "--json", code=0)
    run("bob", "status", key, "--json", code=0)
    run("bob", "reject", key, "--by", "bob", "--comment", "tests fail", code=0)
    run("alice", "change", "close", key, "--by", "alice", "--json", code=0)
    run("alice", "change", "close", key, "--by", "alice", code=1)  # closed already
    run("bob", "change", "list", "--state", "closed", code=0)
    run("bob", "change", "list", code=0)


def test_remote_user_and_token_commands(
    pair: tuple[str, str, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    """`user set-roles`, `user set-password`, `token list`, `token revoke` and `init` against
    the server: the same answers and exit codes as locally."""
    local_url, base, tokens = pair
    roles = ["user", "set-roles", "bob", "--role", "engineer", "--by", "ada", "--json"]
    assert same(local_url, base, tokens["ada"], roles, capsys, code=0).json()["roles"] == [
        "engineer"
    ]
    same(local_url, base, tokens["ada"], ["user", "set-roles", "nobody", "--role", "x"], capsys)
    same(local_url, base, tokens["ada"], ["token", "revoke", "999999"], capsys, code=2)
    same(local_url, base, tokens["ada"], ["token", "revoke", "x"], capsys, code=2)
    same(local_url, base, tokens["ada"], ["token", "list", "--user", "nobody", "--json"], capsys)
    # a user of this test's own: a one-time password stops its holder on the shared server
    same(
        local_url,
        base,
        tokens["ada"],
        ["user", "add", "pat", "--role", "engineer", "--by", "ada"],
        capsys,
    )
    env = {"CHANGEGATE_URL": base, "CHANGEGATE_TOKEN": tokens["ada"], "COLUMNS": "200"}
    args = ["user", "set-password", "pat", "--json"]
    there = ClickRunner(env=env | {"CHANGEGATE_DB": "sqlite:////nonexistent/x.db"}).invoke(
        root, args, input="correct horse battery staple\n", prog_name="changegate"
    )
    here = cli(local_url, *args, "--by", "ada", input="correct horse battery staple\n")
    assert there.exit_code == here.code == 0, (there.stderr, here.stderr)
    assert json.loads(there.stdout)["must_change"] is json.loads(here.stdout)["must_change"] is True
    listed = run_remote(base, tokens["ada"], ["token", "list", "--user", "ada", "--json"], capsys)
    assert listed.code == 0 and {t["user"] for t in listed.json()} == {"ada"}
    init = run_remote(base, tokens["ada"], ["init", "--json"], capsys).json()
    assert (
        init["db"] == base and init["schema"] == cli(local_url, "init", "--json").json()["schema"]
    )


def _service_repo(tmp_path: Path) -> tuple[Any, str]:
    """A repository whose main branch rotates a TLS chain (Bob's commit) and then changes the
    application; and the commit it started from."""
    from tests.gitrepo import Repo

    repo = Repo(tmp_path / "service")
    start = repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    repo.commit("Rotate the chain", {"infra/tls/chain.pem": "-----BEGIN-----\n"}, author="Bob")
    repo.commit("Round tax", {"src/app.py": "x = 2\n"})
    return repo, start


def test_remote_change_from_git_and_audit_git(
    pair: tuple[str, str, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """`change from-git` reads the repository here, the server classifies the range by its
    policy, creates the change and records who wrote its commits; `audit git` walks the
    history here and looks each batch up on the server: the same output and exit codes as
    local mode (neither opens a local database: run_remote names one that does not exist)."""
    local_url, base, tokens = pair
    repo, start = _service_repo(tmp_path)

    def run(who: str, *args: str, code: int | None = None) -> Run:
        return same(local_url, base, tokens[who], list(args), capsys, code)

    new = ["change", "from-git", "--git-range", f"{start}..main", "--repo", str(repo.path)]
    new += ["--title", "Rotate the chain", "--author", "alice", "--rollback", "redeploy"]
    new += ["--description", "yearly rotation"]
    new += ["--risk", "availability=low", "--risk", "security=medium", "--risk", "data=low"]
    out = run("alice", *new, "--risk-note", "security=new chain", "--json", code=0).json()
    assert (out["change_class"], out["security_flag"]) == ("normal", True)
    assert len(out["classification"]["commits"]) == 2
    assert out["risk"]["security"] == {"level": "medium", "note": "new chain"}
    key = out["id"]
    shown = run("alice", "change", "show", key, "--json", code=0).json()
    assert "bob" in {a["user"] for a in shown["commit_authors"]}  # Bob wrote a commit
    run("alice", *new, code=0)  # the line for humans
    run("alice", *new, "--class", "standard", code=2)  # below the files' floor
    run("alice", *new, "--risk-note", "cost=high", code=2)  # a note without its level
    bad = ["change", "from-git", "--git-range", "nope..HEAD", "--repo", str(repo.path)]
    run("alice", *bad, "--title", "x", "--author", "alice", code=2)
    run("alice", "change", "submit", key, "--by", "alice", code=0)
    run("bob", "approve", key, "--by", "bob", code=1)  # an author of its commits

    audit = ["audit", "git", str(repo.path), "--branch", "main"]
    found = run("alice", *audit, "--format", "json", code=1).json()
    linked = [f["change_id"] is not None for f in found["findings"]]  # newest first
    assert linked == [True, True, False] and found["summary"]["commits_with_findings"] == 3
    run("alice", *audit, "--format", "csv", "--batch-size", "1", code=1)
    run("alice", *audit, code=1)
    run("alice", *audit, "--since", "yesterday", code=2)
    run("alice", "audit", "git", str(repo.path), "--branch", "nope", code=2)


def test_a_range_read_by_a_client_never_makes_a_standard_change(
    pair: tuple[str, str, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """Attack: the server cannot see the repository, so `POST /api/changes/from-git` takes the
    client's word for the files. A client reporting that a commit which changes TLS material
    touches only `poetry.lock` would get a pre-approved standard change for it, submit
    auto-approves it and `gate --git-sha` opens. A reported range never places a standard
    change: refused at create (nothing written), and a later edit to standard is refused too.
    Locally (the CLI reads the repository itself) the honest lock-file range is standard."""
    from tests.gitrepo import Repo

    local_url, base, tokens = pair
    repo = Repo(tmp_path / "svc")
    start = repo.commit("Initial import", {"src/app.py": "x = 1\n", "poetry.lock": "a\n"})
    repo.commit("Bump httpx", {"poetry.lock": "b\n"})
    bump = ["change", "from-git", "--git-range", f"{start}..HEAD", "--repo", str(repo.path)]
    bump += ["--title", "Bump httpx", "--author", "alice", "--rollback", "revert the lock"]
    bump += ["--description", "patch release", "--risk", "availability=low"]
    bump += ["--risk", "security=low", "--risk", "data=low"]
    here = cli(local_url, *bump, "--json")
    assert here.code == 0 and here.json()["change_class"] == "standard", here.stderr
    listed = ["change", "list", "--json"]
    before = len(run_remote(base, tokens["alice"], listed, capsys).json())
    there = run_remote(base, tokens["alice"], bump, capsys)
    assert there.code == 1 and "read by the client" in there.stderr, there.stderr
    assert "file it as a normal change" in there.stderr

    sneaky = repo.commit("Bump httpx", {"poetry.lock": "c\n", "infra/tls/key.pem": "k\n"})
    client = Client(base, tokens["alice"])
    forged: dict[str, Any] = {
        "range": {
            "git_range": f"{start}..{sneaky}",
            "base": start,
            "head": sneaky,
            "files": [{"status": "M", "path": "poetry.lock"}],
            "commit_paths": ["poetry.lock"],
            "commits": [sneaky],
            "identities": [],
        },
        "title": "Bump httpx",
        "author": "alice",
        "description": "patch release",
        "rollback_plan": "revert the lock",
        "risk": {d: {"level": "low"} for d in ("availability", "security", "data")},
    }
    refused = client.request("POST", "/api/changes/from-git", forged)
    assert refused.status == 403 and "read by the client" in refused.json()["message"]
    assert len(run_remote(base, tokens["alice"], listed, capsys).json()) == before

    made = client.request("POST", "/api/changes/from-git", forged | {"change_class": "normal"})
    assert made.status == 201, made.body
    key = made.json()["id"]
    edit = {"change_class": "standard", "category": "dependency-update", "by": "alice"}
    lowered = client.request("PATCH", f"/api/changes/{key}", edit)
    assert lowered.status == 403 and "read by the client" in lowered.json()["message"]
    shown = run_remote(base, tokens["alice"], ["change", "show", key, "--json"], capsys).json()
    assert shown["change_class"] == "normal"


def test_remote_git_commands_import_no_database_or_web_framework(
    pair: tuple[str, str, dict[str, str]], tmp_path: Path
) -> None:
    """`change from-git` and `audit git` against a server read the repository and talk HTTP:
    no SQLAlchemy, Pydantic, FastAPI or Typer, and no local database."""
    from tests.cli.test_fast_gate import ENTRY  # the entry point, listing modules at exit

    local_url, base, tokens = pair
    repo, start = _service_repo(tmp_path)
    env = dict(os.environ, CHANGEGATE_URL=base, CHANGEGATE_TOKEN=tokens["alice"])
    env["CHANGEGATE_DB"] = "sqlite:////nonexistent/no-local-database.db"
    new = ["change", "from-git", "--git-range", f"{start}..main", "--repo", str(repo.path)]
    new += ["--title", "Rotate the chain", "--author", "alice", "--json"]
    audit = ["audit", "git", str(repo.path), "--format", "json"]
    for args, code in ((new, 0), (audit, 1)):
        run = subprocess.run(
            [sys.executable, "-c", ENTRY, *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == code, run.stderr[-2000:]
        loaded = {m.split(".")[0] for m in run.stderr.rsplit("MODULES ", 1)[1].split()}
        assert not loaded & {"sqlalchemy", "pydantic", "fastapi", "starlette", "typer"}, args
    assert cli(local_url, *new).code == 0  # the same change locally: the ids stay in step


def test_remote_change_commands_import_no_database_or_web_framework(
    pair: tuple[str, str, dict[str, str]],
) -> None:
    """`change new`, `status`, `change show` and `evidence add` against a server, each as a
    fresh process: none imports SQLAlchemy, FastAPI, Pydantic, Typer, Alembic or Rich."""
    local_url, base, tokens = pair
    env = dict(os.environ, CHANGEGATE_URL=base, CHANGEGATE_TOKEN=tokens["alice"])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        r = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "changegate", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr[-2000:]
        modules = {
            line.split("|")[-1].strip().split(".")[0]
            for line in r.stderr.splitlines()
            if "|" in line
        }
        heavy = {"sqlalchemy", "fastapi", "starlette", "pydantic", "typer", "alembic", "rich"}
        assert not modules & heavy, (args, modules & heavy)
        return r

    new = ["change", "new", "--title", "t", "--class", "normal", "--author", "alice"]
    new += ["--risk", "data=low", "--risk-note", "data=none", "--json"]
    key = json.loads(run(*new).stdout)
    assert cli(local_url, *new).json()["id"] == key["id"]  # the two records stay in step
    run("status", key["id"], "--json")
    run("change", "show", key["id"], "--json")
    run("evidence", "add", key["id"], "--junit", str(DATA / "junit_pass.xml"), "--by", "alice")
