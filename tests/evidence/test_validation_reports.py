"""The §10.2 AI review steps count only with the report they were decided on (policy
`report: true`): a bare hand-entered "pass" named like a review step does not open the gate.
Through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tests.cli.test_commands import setup_team
from tests.cli_runner import cli


def reasons(db: str, key: str) -> dict[str, dict[str, Any]]:
    status = cli(db, "status", key, "--json").json()
    return {r["rule"]: r for r in status["requirements"]}


def test_a_review_step_needs_its_report(db_url: str, engine: Engine, tmp_path: Path) -> None:
    setup_team(db_url)
    new = cli(
        db_url,
        *("change", "new", "--title", "Upgrade to gpt-4.1", "--class", "normal"),
        *("--category", "model-version-upgrade", "--component", "persona-engine"),
        *("--provider", "openai", "--risk", "availability=low", "--risk", "security=low"),
        *("--risk", "data=low", "--rollback", "pin the old model", "--description", "upgrade"),
        *("--author", "alice", "--json"),
    )
    assert new.code == 0, new.stderr
    key = new.json()["id"]
    bare = ("evidence", "add", key, "--validation", "tenant-isolation", "--result", "pass")
    assert cli(db_url, *bare, "--by", "bob").code == 0
    rule = reasons(db_url, key)["ai-tenant-isolation"]
    assert not rule["met"]
    assert rule["reason"].startswith(
        "validation tenant-isolation: pass (by bob) without the report it was decided on"
    )

    report = tmp_path / "isolation-review.md"
    report.write_text("# Tenant isolation review\nNo cross-tenant retrieval found.\n")
    added = cli(db_url, *bare, "--report", str(report), "--by", "bob", "--json")
    assert added.code == 0, added.stderr
    assert added.json()["filename"] == "isolation-review.md" and added.json()["blob_sha256"]
    assert reasons(db_url, key)["ai-tenant-isolation"]["met"]

    # staging needs no report; a report on anything but a validation, or an empty one, is refused
    assert reasons(db_url, key)["staging-validation"]["reason"] == "validation staging: missing"
    empty = tmp_path / "empty.md"
    empty.write_text("")
    r = cli(db_url, *bare, "--report", str(empty), "--by", "bob", "--json")
    assert r.code == 2 and r.json()["field"] == "report"
    junit = str(Path(__file__).parent.parent / "data" / "junit_pass.xml")
    r = cli(
        db_url, "evidence", "add", key, "--junit", junit, "--report", str(report), "--by", "bob"
    )
    assert r.code == 2 and "--report goes with --validation" in r.stderr
    assert cli(db_url, "audit", "verify").code == 0


def test_the_policy_refuses_report_on_other_kinds(tmp_path: Path) -> None:
    from changegate.policy.loader import default_policy_text

    text = default_policy_text().replace(
        "require: {kind: validation, name: staging, attached_by: [ci]}",
        "require: {kind: document, name: staging, report: true}",
        1,
    )
    path = tmp_path / "p.yaml"
    path.write_text(text)
    r = cli("sqlite://", "policy", "check", str(path), "--json")
    assert r.code == 1
    assert any(
        "'report' applies to requirement kind 'validation' only" in e["message"]
        for e in r.json()["errors"]
    )
