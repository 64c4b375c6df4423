"""Evidence is about the change as it was when attached: an edit to a field the policy binds
evidence to (commits, components, ...) makes earlier test results and validations stale, as an
edit makes approvals stale. Through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from changegate.policy.loader import default_policy_text
from tests.cli.test_commands import new_change, setup_team
from tests.cli_runner import cli

DATA = Path(__file__).parent.parent / "data"


def requirement(db: str, key: str, rule: str, policy: str | None = None) -> dict[str, Any]:
    status = cli(db, "status", key, "--json", policy=policy).json()
    found: dict[str, Any] = next(r for r in status["requirements"] if r["rule"] == rule)
    return found


def evidence(db: str, key: str, policy: str | None = None) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = cli(db, "change", "show", key, "--json", policy=policy).json()[
        "evidence"
    ]
    return shown


def attach(db: str, key: str, policy: str | None = None) -> None:
    junit = str(DATA / "junit_pass.xml")
    assert (
        cli(db, "evidence", "add", key, "--junit", junit, "--by", "ci-bot", policy=policy).code == 0
    )
    staging = ("--validation", "staging", "--result", "pass")
    assert cli(db, "evidence", "add", key, *staging, "--by", "ci-bot", policy=policy).code == 0


def test_an_edit_to_the_commits_makes_evidence_stale_until_attached_again(
    db_url: str, engine: Engine
) -> None:
    setup_team(db_url)
    key = new_change(db_url)
    assert cli(db_url, "change", "submit", key, "--by", "alice").code == 0
    attach(db_url, key)
    assert requirement(db_url, key, "automated-tests")["met"]

    # rewording the change leaves its evidence standing
    edit = ("change", "edit", key, "--description", "per line rounding, reworded")
    assert cli(db_url, *edit, "--by", "alice").code == 0
    assert requirement(db_url, key, "automated-tests")["met"]
    assert [e["stale"] for e in evidence(db_url, key)] == [False, False]

    # new commits: the results were for other code
    edit = ("change", "edit", key, "--commit", "9e8d7c6b" * 5)
    assert cli(db_url, *edit, "--by", "alice").code == 0
    tests = requirement(db_url, key, "automated-tests")
    assert not tests["met"]
    assert tests["reason"].endswith("; 1 stale (attached before commits changed): attach again")
    assert [(e["stale"], e["stale_fields"]) for e in evidence(db_url, key)] == [
        (True, ["commits"]),
        (True, ["commits"]),
    ]
    assert cli(db_url, "approve", key, "--by", "bob").code == 0
    gate = cli(db_url, "gate", key, "--env", "production", "--deployer", "carol")
    assert gate.code == 1
    assert "stale (attached before commits changed)" in gate.stdout
    deploy = ("deploy", key, "--env", "production", "--version", "v2", "--by", "carol")
    assert cli(db_url, *deploy).code == 1

    attach(db_url, key)
    assert [e["stale"] for e in evidence(db_url, key)] == [True, True, False, False]
    gate = cli(db_url, "gate", key, "--env", "production", "--deployer", "carol", "--json")
    assert gate.code == 0, gate.stdout
    assert cli(db_url, *deploy).code == 0
    verify = cli(db_url, "audit", "verify", "--json")
    assert verify.code == 0 and verify.json()["ok"] is True


def test_the_policy_decides_which_fields_bind_evidence(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    text = default_policy_text()
    bound = "  stale_when_changed: [commits, components, providers, ai_component, category]\n"
    assert bound in text
    unbound = tmp_path / "unbound.yaml"
    unbound.write_text(text.replace(bound, "  stale_when_changed: []\n"))
    policy = str(unbound)
    setup_team(db_url)
    key = new_change(db_url)
    assert cli(db_url, "change", "submit", key, "--by", "alice", policy=policy).code == 0
    attach(db_url, key, policy)
    edit = ("change", "edit", key, "--commit", "9e8d7c6b" * 5, "--by", "alice")
    assert cli(db_url, *edit, policy=policy).code == 0
    assert requirement(db_url, key, "automated-tests", policy)["met"]
    assert [e["stale"] for e in evidence(db_url, key, policy)] == [False, False]
    # the same records under the default policy: the results predate the commit edit
    assert not requirement(db_url, key, "automated-tests")["met"]


def test_a_policy_binding_an_unknown_field_is_refused(tmp_path: Path) -> None:
    text = default_policy_text().replace(
        "stale_when_changed: [commits,", "stale_when_changed: [commit_sha, commits,"
    )
    path = tmp_path / "typo.yaml"
    path.write_text(text)
    r = cli("sqlite://", "policy", "check", str(path), "--json")
    assert r.code == 1
    assert r.json()["errors"] == [
        {
            "path": "evidence.stale_when_changed",
            "message": "unknown field 'commit_sha' (fields: title, description, risk, "
            "rollback_plan, justification, links, commits, components, providers, "
            "ai_component, category)",
        }
    ]


def test_evidence_recorded_before_binding_existed_counts_and_verifies(
    db_url: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows written before schema 0005 have no ``bound_to``: never stale, and their audit
    events (which never carried the key) still match them."""
    from changegate.evidence import service as evidence_service

    setup_team(db_url)
    key = new_change(db_url)
    assert cli(db_url, "change", "submit", key, "--by", "alice").code == 0
    with monkeypatch.context() as m:
        m.setattr(evidence_service, "bound_fields", lambda policy, change: None)
        attach(db_url, key)
    assert cli(db_url, "change", "edit", key, "--commit", "9e8d7c6b" * 5, "--by", "alice").code == 0
    assert requirement(db_url, key, "automated-tests")["met"]
    shown = evidence(db_url, key)
    assert [e["stale"] for e in shown] == [False, False]
    assert all("bound_to" not in e for e in shown)
    verify = cli(db_url, "audit", "verify", "--json")
    assert verify.code == 0 and verify.json()["ok"] is True
