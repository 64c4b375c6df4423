"""The CLI end to end on both databases: the command shapes of issue 3, --json, exit codes, and
bad input leaving the database unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from changegate.audit.models import AuditEvent
from tests.cli_runner import cli, cli_process

DATA = Path(__file__).parent.parent / "data"


def audit_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def setup_team(db: str) -> None:
    for name, roles in (
        ("alice", ["engineer"]),
        ("bob", ["engineer"]),
        ("carol", ["deployer"]),
        ("sam", ["security", "engineer"]),
        ("artur", ["cto"]),
        ("ci-bot", ["ci"]),
    ):
        args = ["user", "add", name]
        for r in roles:
            args += ["--role", r]
        assert cli(db, *args).code == 0


def new_change(
    db: str, *extra: str, cls: str = "normal", author: str = "alice", commit: bool = True
) -> str:
    r = cli(
        db,
        "change",
        "new",
        "--title",
        "Round tax",
        "--class",
        cls,
        "--risk",
        "availability=low",
        "--risk",
        "security=low",
        "--risk",
        "data=low",
        "--risk-note",
        "availability=flagged",
        "--rollback",
        "redeploy previous",
        "--description",
        "per line rounding",
        "--link",
        "https://github.com/acme/shop/pull/7",
        *(["--commit", "3f2a9c1d5e7b4a6c8d0e2f4a6b8c0d2e4f6a8b0c"] if commit else []),
        "--author",
        author,
        "--json",
        *extra,
    )
    assert r.code == 0, r.stderr
    return str(r.json()["id"])


def test_full_normal_flow_through_the_cli(db_url: str, engine: Engine) -> None:
    setup_team(db_url)
    key = new_change(db_url)
    assert key == "CHG-1"
    assert cli(db_url, "change", "submit", key, "--by", "alice").code == 0
    status = cli(db_url, "status", key, "--json").json()
    reasons = {r["rule"]: r["reason"] for r in status["unmet"]}
    assert reasons["peer-review"] == "approval by role engineer: missing"
    assert all("Change Management Policy v1.2" in r["policy"] for r in status["requirements"])
    gate = cli(db_url, "gate", key, "--env", "production", "--deployer", "carol")
    assert gate.code == 1 and "approval by role engineer: missing" in gate.stdout
    assert cli(db_url, "approve", key, "--by", "bob", "--comment", "LGTM").code == 0
    assert (
        cli(
            db_url,
            "evidence",
            "add",
            key,
            "--junit",
            str(DATA / "junit_fail.xml"),
            "--by",
            "ci-bot",
        ).code
        == 0
    )
    status = cli(db_url, "status", key, "--json").json()
    assert {r["rule"]: r["reason"] for r in status["unmet"]}["automated-tests"].startswith(
        "test results: 2 of 140 failed"
    )
    assert (
        cli(
            db_url,
            "evidence",
            "add",
            key,
            "--junit",
            str(DATA / "junit_pass.xml"),
            "--by",
            "ci-bot",
        ).code
        == 0
    )
    # the latest run of a suite counts; the failed 'api' suite still blocks until re-run
    api_pass = DATA / "junit_pass.xml"
    assert (
        cli(
            db_url,
            "evidence",
            "add",
            key,
            "--validation",
            "staging",
            "--result",
            "pass",
            "--details",
            "smoke ok",
            "--by",
            "ci-bot",
        ).code
        == 0
    )
    assert cli(db_url, "gate", key, "--env", "production", "--deployer", "carol").code == 1
    fixed = DATA.parent / "data" / "junit_api_fixed.xml"
    assert fixed.exists()
    assert cli(db_url, "evidence", "add", key, "--junit", str(fixed), "--by", "ci-bot").code == 0
    g = cli(db_url, "gate", key, "--env", "production", "--deployer", "carol", "--json")
    assert g.code == 0, g.stdout
    assert g.json()["passed"] is True
    d = cli(
        db_url,
        "deploy",
        key,
        "--env",
        "production",
        "--version",
        "v1.4.2",
        "--by",
        "carol",
        "--json",
    )
    assert d.code == 0 and d.json()["deployment"]["version"] == "v1.4.2"
    again = cli(
        db_url, "deploy", key, "--env", "production", "--version", "v1.4.2", "--by", "carol"
    )  # a re-run of the same version: recognised, recorded once (issue 16)
    assert again.code == 0 and "recorded once (a re-run)" in again.stdout
    other = cli(
        db_url, "deploy", key, "--env", "production", "--version", "v1.4.3", "--by", "carol"
    )  # another version of a deployed change: the gate refuses it
    assert other.code == 1 and "v1.4.3 is a new deployment; roll back first" in other.stderr
    rb = cli(
        db_url,
        "rollback",
        key,
        "--env",
        "production",
        "--to",
        "v1.4.1",
        "--reason",
        "errors",
        "--by",
        "carol",
        "--json",
    )
    assert rb.code == 0 and rb.json()["state"] == "rolled_back"
    hist = cli(db_url, "history", "--env", "production", "--json").json()
    assert [(h["kind"], h["version"]) for h in hist] == [
        ("deploy", "v1.4.2"),
        ("rollback", "v1.4.1"),
    ]
    shown = cli(db_url, "change", "show", key, "--json").json()
    assert shown["risk"]["availability"] == {"level": "low", "note": "flagged"}
    assert {e["kind"] for e in shown["evidence"]} == {"junit", "validation"}
    assert all(len(e["blob_sha256"] or "x" * 64) == 64 for e in shown["evidence"])
    log = cli(db_url, "audit", "log", key, "--json").json()
    actions = [e["action"] for e in log]
    assert actions[0] == "change.created" and "deployment.rolled_back" in actions
    v = cli(db_url, "audit", "verify", "--json")
    assert v.code == 0 and v.json()["ok"] is True
    assert api_pass.exists()


def test_standard_change_passes_with_a_receipt(db_url: str) -> None:
    setup_team(db_url)
    # §3a: a standard change's commits come from its range or pull request, never by hand
    key = new_change(db_url, "--category", "dependency-update", cls="standard", commit=False)
    assert (
        cli(db_url, "change", "submit", key, "--by", "alice", "--json").json()["state"]
        == "approved"
    )
    status = cli(db_url, "status", key, "--json").json()
    assert [r["rule"] for r in status["requirements"]] == ["standard-pre-approved"]
    assert (
        status["requirements"][0]["met"] and "pre-approved" in status["requirements"][0]["reason"]
    )
    assert cli(db_url, "gate", key, "--env", "production", "--deployer", "carol").code == 0


@pytest.mark.parametrize(
    ("args", "field_hint"),
    [
        (["--class", "urgent"], "--class"),
        (["--class", "normal", "--category", "mystery"], "--category"),
        (["--class", "emergency", "--category", "system-prompt-change"], "--class"),
        (["--class", "normal", "--component", "mainframe"], "--component"),
        (["--class", "normal", "--commit", "not-a-sha"], "--commit"),
        (["--class", "normal", "--link", "ftp://x"], "--link"),
    ],
)
def test_bad_change_input_exits_2_and_changes_nothing(
    db_url: str, engine: Engine, args: list[str], field_hint: str
) -> None:
    setup_team(db_url)
    before = audit_count(engine)
    r = cli(
        db_url,
        "change",
        "new",
        "--title",
        "t",
        "--risk",
        "availability=low",
        "--risk",
        "security=low",
        "--risk",
        "data=low",
        "--rollback",
        "r",
        "--description",
        "d",
        "--author",
        "alice",
        *args,
    )
    assert r.code == 2
    assert field_hint in r.stderr and r.stderr.count("\n") == 1 and r.stderr.startswith("error: ")
    assert audit_count(engine) == before
    assert cli(db_url, "change", "list", "--json").json() == []


def test_bad_risk_level_and_unknown_user(db_url: str, engine: Engine) -> None:
    setup_team(db_url)
    before = audit_count(engine)
    r = cli(
        db_url,
        "change",
        "new",
        "--title",
        "t",
        "--class",
        "normal",
        "--risk",
        "availability=extreme",
        "--rollback",
        "r",
        "--author",
        "alice",
    )
    assert r.code == 2 and "availability=" in r.stderr and "low|medium|high" in r.stderr
    r = cli(db_url, "change", "new", "--title", "t", "--class", "normal", "--author", "mallory")
    assert r.code == 2 and "mallory" in r.stderr and "user add" in r.stderr
    assert audit_count(engine) == before


def test_submit_lists_every_missing_field(db_url: str, engine: Engine) -> None:
    setup_team(db_url)
    r = cli(
        db_url,
        "change",
        "new",
        "--title",
        "Emergency fix",
        "--class",
        "emergency",
        "--author",
        "alice",
        "--json",
    )
    key = r.json()["id"]
    before = audit_count(engine)
    s = cli(db_url, "change", "submit", key, "--by", "alice")
    assert s.code == 2
    for missing in (
        "description",
        "risk (availability, security, data)",
        "rollback_plan",
        "justification",
    ):
        assert missing in s.stderr
    assert audit_count(engine) == before
    assert cli(db_url, "change", "show", key, "--json").json()["state"] == "draft"


def test_forbidden_transitions_leave_the_database_unchanged(db_url: str, engine: Engine) -> None:
    setup_team(db_url)
    key = new_change(db_url)
    before = audit_count(engine)
    for args in (
        ["approve", key, "--by", "bob"],
        ["deploy", key, "--env", "production", "--version", "v1", "--by", "carol"],
        ["rollback", key, "--env", "production", "--to", "v0", "--reason", "x", "--by", "carol"],
        ["change", "close", key, "--by", "alice"],
    ):
        r = cli(db_url, *args)
        assert r.code in (1, 2), args
        assert r.stderr.startswith("error: ")
    # a refused deploy is recorded as a gate decision and raises its gate-refused alert (§8,
    # monitoring.alert_on); nothing else changes
    log = cli(db_url, "audit", "log", key, "--json").json()
    assert [e["action"] for e in log if e["seq"] > before] == ["gate.evaluated", "alert.raised"]
    assert cli(db_url, "change", "show", key, "--json").json()["state"] == "draft"


def test_missing_database_says_run_init(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'none.db'}"
    r = cli(db, "change", "list")
    assert r.code == 2 and "changegate init" in r.stderr
    init = cli(db, "init", "--json")
    assert init.code == 0 and init.json()["previous_schema"] is None
    assert cli(db, "change", "list", "--json").json() == []


def test_json_errors_are_one_document(db_url: str) -> None:
    r = cli(db_url, "status", "CHG-99", "--json")
    assert r.code == 2
    assert r.json()["error"] == "NotFound"
    r = cli(db_url, "status", "banana", "--json")
    assert r.code == 2 and r.json()["field"] == "change"


def test_every_command_has_help_with_an_example() -> None:
    import click

    from changegate.cli.main import COMMANDS
    from changegate.cli.main import cli as root

    commands: list[tuple[str, object]] = []

    def walk(prefix: str, cmd: Any) -> None:
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None, f"{prefix} {name}: listed but not found"
                walk(f"{prefix} {name}".strip(), sub)
        else:
            commands.append((prefix, cmd))

    walk("", root)
    assert len(commands) >= 45 and {c.split()[0] for c, _ in commands} == set(COMMANDS)
    docs = (Path(__file__).parents[2] / "docs" / "cli.md").read_text()
    for name, cmd in commands:
        help_text = getattr(cmd, "help", "") or ""
        assert "Example: changegate" in help_text, name
        assert f"changegate {name}" in docs, (
            f"docs/cli.md lacks `changegate {name}`: run python scripts/gen_docs.py"
        )
        options = {o for p in getattr(cmd, "params", []) for o in getattr(p, "opts", [])}
        assert {"--json", "--db"} <= options, name


def test_demo_runs_on_a_fresh_database_as_a_process(tmp_path: Path) -> None:
    r = cli_process(
        "sqlite:///unused.db",
        "demo",
        "--db",
        f"sqlite:///{tmp_path / 'demo.db'}",
        "--json",
        timeout=120,
    )
    assert r.code == 0, r.stderr
    out = r.json()
    assert (
        out["ok"]
        and out["prompt_change_blocked_without_cto"]
        and out["prompt_change_open_after_cto"]
    )
    assert out["audit"]["ok"] and out["audit"]["events"] > 40
    # §3a: the catalogue's dependency update went through, an IAM change as "standard" did not
    assert len(out["changes"]) == 4
    assert "file it as a normal change" in out["standard_outside_catalogue_refused"]
