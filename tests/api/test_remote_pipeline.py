"""The road to production against a server: gate and deploy (by change and by commit), rollback,
history, the emergency review and overdue list, and the audit record (verify, log, export), each
with the same output and exit codes as locally, on SQLite and PostgreSQL; `serve` and `demo`,
which run here whatever CHANGEGATE_URL says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner as ClickRunner

from changegate.cli.main import cli as root
from changegate.cli.remote.client import Answer, Client
from tests.api.remote_parity import DATA, HEAVY, pair, remote_process, run_remote, same
from tests.cli_runner import Run, cli

__all__ = ["pair"]

SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # listed on the change
REFUSED_SHA = "9c1185a5c5e9fc54612808977ee8f548b2258d31"  # listed on a draft
UNKNOWN_SHA = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # on no change


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
    # locally nobody is authenticated: no --deployer and no $GITHUB_ACTOR is bad input; against
    # a server the token says who deploys (issue 16: --deployer/--by optional remotely)
    assert cli(local_url, *gate).code == 2
    assert run_remote(base, tokens["carol"], gate, capsys).code == 0
    assert cli(local_url, *gate, "--deployer", "carol").code == 0  # the two records in step
    monkeypatch.setenv("GITHUB_ACTOR", "dora-gh")
    run("dora", *gate, code=0)
    deploy = ["deploy", "--git-sha", SHA, "--env", "production", "--version", "v2.0.0"]
    out = run("dora", *deploy, "--json", code=0).json()
    assert out["deployed"] and out["gate"]["deployer"] == "dora" and out["commit"]["sha"] == SHA
    monkeypatch.delenv("GITHUB_ACTOR")
    # a re-run of the same version is recognised (recorded once); another version is refused
    again = run("carol", *deploy, "--by", "carol", "--json", code=0).json()
    assert again["already_recorded"] and again["deployment"]["actor"] == "dora"
    run("carol", *deploy[:-1], "v2.0.1", "--by", "carol", code=1)
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
    deep = run_remote(base, tokens["ada"], ["audit", "verify", "--deep", "--json"], capsys)
    # the failed verification is itself recorded (audit.verification_failed) and raises its
    # audit-verify-failed alert (§8): two events more, and the chain still verifies
    assert deep.code == 0 and deep.json()["events"] == head["events"] + 2


def test_remote_gate_imports_no_database_or_web_framework(
    pair: tuple[str, str, dict[str, str]],
) -> None:
    local_url, base, tokens = pair
    new = ["change", "new", "--title", "Imports", "--class", "normal", "--author", "alice"]
    key = json.loads(remote_process(base, tokens["alice"], *new, "--json")[0].stdout)["id"]
    assert cli(local_url, *new, "--json").json()["id"] == key  # the two records stay in step
    args = ["gate", key, "--env", "staging", "--deployer", "carol", "--json"]
    r, loaded = remote_process(base, tokens["carol"], *args)
    assert r.returncode == 1 and json.loads(r.stdout)["change"] == key, r.stderr[-2000:]
    assert "changegate.cli.remote.pipeline" in r.stderr.rsplit("MODULES ", 1)[-1].split()
    assert not loaded & HEAVY, loaded & HEAVY


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
