"""The policy file: validation with located errors, `policy check`/`show`, and rules as data."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import Engine

from changegate.policy.loader import check_policy_text, default_policy_text, load_policy
from tests.cli_runner import cli
from tests.factories import make_team

DEFAULT_TEXT = default_policy_text()


def edited(tmp_path: Path, edit: object, name: str = "policy.yaml") -> Path:
    data = yaml.safe_load(DEFAULT_TEXT)
    edit(data)  # type: ignore[operator]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def test_default_policy_encodes_the_seed() -> None:
    p = load_policy().policy
    assert (p.metadata.version, p.metadata.organization) == ("1.2", "Synthetic Users")
    assert [h.version for h in p.metadata.change_history] == ["1.1", "1.2"]
    assert set(p.roles) == {"engineer", "security", "cto", "deployer", "auditor", "admin", "ci"}
    by_id = {r.id: r for r in p.rules}
    for rule in ("automated-tests", "staging-validation", "post-deploy-validation"):
        assert by_id[rule].require.attached_by == ["ci"], rule
    assert "ci" in p.permissions["evidence.add"]
    assert set(p.risk.dimensions) == {"availability", "security", "data"}
    ai = {slug: c.change_class for slug, c in p.categories.items() if c.ai}
    assert ai == {
        "model-provider-switch": "normal",
        "system-prompt-change": "normal",
        "rag-config-change": "normal",
        "model-version-upgrade": "normal",
        "credential-rotation": "standard",
        "content-filtering-adjustment": "normal",
        "emergency-model-fallback": "emergency",
    }
    assert set(p.ai.review_steps) == {
        "behavioral-regression",
        "tenant-isolation",
        "security-impact",
        "provider-dpa",
    }
    assert p.classes["emergency"].post_incident_review_fields == [
        "root_cause",
        "actions_taken",
        "preventive_controls",
    ]
    assert p.retention.audit_years > 0


def test_invalid_policy_lists_every_error_with_its_path(tmp_path: Path) -> None:
    def edit(d: dict) -> None:  # type: ignore[type-arg]
        d["metadata"]["review_interval_days"] = -1
        d["rules"][1]["require"]["role"] = "wizard"
        d["rules"][2]["require"]["kind"] = "telepathy"
        d["classes"]["normal"]["required_fields"] = ["title", "horoscope"]
        d["segregation_of_duties"]["author_may_aprove"] = True

    path = edited(tmp_path, edit)
    _, problems = check_policy_text(path.read_text())
    paths = [p.path for p in problems]
    assert "metadata.review_interval_days" in paths
    assert "segregation_of_duties.author_may_aprove" in paths
    assert any(p.startswith("rules.2.require.kind") for p in paths)
    r = cli("sqlite:///unused.db", "policy", "check", str(path))
    assert r.code == 1
    assert (
        "metadata.review_interval_days" in r.stderr and "author_may_aprove: unknown key" in r.stderr
    )


def test_cross_reference_errors_are_located(tmp_path: Path) -> None:
    path = edited(tmp_path, lambda d: d["rules"][1]["require"].__setitem__("role", "wizard"))
    r = cli("sqlite:///unused.db", "policy", "check", str(path), "--json")
    assert r.code == 1
    assert {
        "path": "rules.1 (peer-review).require.role",
        "message": "unknown role 'wizard'",
    } in r.json()["errors"]


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("schema_version: 1\nmetadata: [unclosed\n")
    r = cli("sqlite:///unused.db", "policy", "check", str(path))
    assert r.code == 1
    assert "not valid YAML" in r.stderr and "line 3, column 1" in r.stderr


def test_policy_check_accepts_the_default_and_show_renders_it(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(DEFAULT_TEXT)
    assert cli("sqlite:///unused.db", "policy", "check", str(path)).code == 0
    shown = cli("sqlite:///unused.db", "policy", "show")
    assert shown.code == 0 and "Synthetic Users" in shown.stdout and "cto-sign-off" in shown.stdout
    data = cli("sqlite:///unused.db", "policy", "show", "--json").json()
    assert data["metadata"]["version"] == "1.2" and len(data["digest"]) == 64


def test_invalid_policy_in_force_is_refused_with_nothing_written(
    db_url: str, tmp_path: Path
) -> None:
    path = edited(tmp_path, lambda d: d.pop("roles"))
    r = cli(db_url, "user", "add", "x", "--role", "engineer", policy=str(path))
    assert r.code == 2 and "roles: required key is missing" in r.stderr
    assert cli(db_url, "user", "list", "--json").json() == []


def test_same_scenario_with_two_approvals_required_behaves_differently(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """No code change: only the policy file says a normal change needs two peer approvals."""

    def two(d: dict) -> None:  # type: ignore[type-arg]
        rule = next(r for r in d["rules"] if r["id"] == "peer-review")
        rule["require"]["count"] = 2
        d["metadata"]["version"] = "1.2-two-approvals"

    strict = str(edited(tmp_path, two))
    make_team(engine)

    def scenario(policy: str | None) -> tuple[str, int, str]:
        key = cli(
            db_url,
            "change",
            "new",
            "--title",
            "t",
            "--class",
            "normal",
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
            "--json",
            policy=policy,
        ).json()["id"]
        assert cli(db_url, "change", "submit", key, "--by", "alice", policy=policy).code == 0
        state = cli(db_url, "approve", key, "--by", "bob", "--json", policy=policy).json()["state"]
        status = cli(db_url, "status", key, "--json", policy=policy).json()
        reason = next(r["reason"] for r in status["requirements"] if r["rule"] == "peer-review")
        return state, len(status["unmet"]), reason

    assert scenario(None) == ("approved", 2, "approval by role engineer: bob")
    state, _, reason = scenario(strict)
    assert state == "submitted" and reason == "approval by role engineer: 1 of 2 (bob)"
    policies = cli(db_url, "audit", "log", "--json").json()
    loaded = [e["event"]["after"]["version"] for e in policies if e["action"] == "policy.loaded"]
    assert loaded == ["1.2", "1.2-two-approvals"]


def test_attached_by_names_known_roles_on_junit_and_validations_only(tmp_path: Path) -> None:
    def unknown_role(d: dict) -> None:  # type: ignore[type-arg]
        next(r for r in d["rules"] if r["id"] == "automated-tests")["require"]["attached_by"] = [
            "robot"
        ]

    def wrong_kind(d: dict) -> None:  # type: ignore[type-arg]
        rule = next(r for r in d["rules"] if r["id"] == "emergency-justification")
        rule["require"]["attached_by"] = ["ci"]

    for edit, message in (
        (unknown_role, "unknown role 'robot'"),
        (wrong_kind, "'attached_by' applies to requirement kinds 'junit' and 'validation'"),
    ):
        r = cli("sqlite://", "policy", "check", str(edited(tmp_path, edit)), "--json")
        assert r.code == 1
        errors = r.json()["errors"]
        assert any(message in f"{e['path']}: {e['message']}" for e in errors), r.stdout
