"""Remote mode of the CLI: with CHANGEGATE_URL and CHANGEGATE_TOKEN every command runs against
the server with the same output and exit codes as local mode, and imports neither SQLAlchemy
nor FastAPI (nor Pydantic or Typer)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner as ClickRunner

from changegate.cli.main import cli as root
from changegate.cli.remote.client import Client
from tests.api.remote_parity import (
    DATA,
    HEAVY,
    POLICY,
    comparable,
    normal,
    pair,
    remote_process,
    run_remote,
    same,
)
from tests.cli_runner import Run, cli

__all__ = ["pair"]

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
    # an explicit --db is a local database whatever CHANGEGATE_URL says (here: no server)
    env = {"CHANGEGATE_URL": "http://127.0.0.1:9", "CHANGEGATE_TOKEN": "cg_unused"}
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    for args in (
        ["gate", "CHG-1", "--env", "production", "--deployer", "carol", "--db", db],
        ["audit", "verify", "--db", db],
        ["status", "CHG-1", "--db", db],
    ):
        result = ClickRunner(env=env).invoke(root, args, prog_name="changegate")
        assert result.exit_code == 2 and "changegate init" in result.stderr, result.stderr
        assert "cannot reach" not in result.stderr


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
    """Attack: the server cannot see the repository, so `POST /api/git/changes` takes the
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
    refused = client.request("POST", "/api/git/changes", forged)
    assert refused.status == 403 and "read by the client" in refused.json()["message"]
    assert len(run_remote(base, tokens["alice"], listed, capsys).json()) == before

    made = client.request("POST", "/api/git/changes", forged | {"change_class": "normal"})
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
    local_url, base, tokens = pair
    repo, start = _service_repo(tmp_path)
    new = ["change", "from-git", "--git-range", f"{start}..main", "--repo", str(repo.path)]
    new += ["--title", "Rotate the chain", "--author", "alice", "--json"]
    audit = ["audit", "git", str(repo.path), "--format", "json"]
    for args, code in ((new, 0), (audit, 1)):
        run, loaded = remote_process(base, tokens["alice"], *args)
        assert run.returncode == code, run.stderr[-2000:]
        assert not loaded & HEAVY, (args, loaded & HEAVY)
    assert cli(local_url, *new).code == 0  # the same change locally: the ids stay in step


def test_remote_change_commands_import_no_database_or_web_framework(
    pair: tuple[str, str, dict[str, str]],
) -> None:
    """`change new`, `status`, `change show` and `evidence add` against a server, each as a
    fresh process: none imports SQLAlchemy, FastAPI, Pydantic, Typer, Alembic or Rich."""
    local_url, base, tokens = pair

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        r, loaded = remote_process(base, tokens["alice"], *args)
        assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr[-2000:]
        assert not loaded & HEAVY, (args, loaded & HEAVY)
        return r

    new = ["change", "new", "--title", "t", "--class", "normal", "--author", "alice"]
    new += ["--risk", "data=low", "--risk-note", "data=none", "--json"]
    key = json.loads(run(*new).stdout)
    assert cli(local_url, *new).json()["id"] == key["id"]  # the two records stay in step
    run("status", key["id"], "--json")
    run("change", "show", key["id"], "--json")
    run("evidence", "add", key["id"], "--junit", str(DATA / "junit_pass.xml"), "--by", "alice")
