"""§3a: a standard change is one of the policy's pre-approved procedures, within its limits.

Each attack below passed on the main before the catalogue (issue 10 §1): a standard change with
no category, every risk high and security components was approved on submit and deployed with
no review; an edited standard change stayed `submitted` for ever.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, func, select

from changegate.audit.models import AuditEvent
from changegate.changes.floor import minimum_class
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.policy.engine import ChangeFacts, evaluate
from changegate.policy.loader import load_policy
from changegate.scm.classify import classify_paths
from tests.api.support import running_org
from tests.cli_runner import cli
from tests.factories import DEFAULT

P = DEFAULT.policy
LOW = ["--risk", "availability=low", "--risk", "security=low", "--risk", "data=low"]


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        changes = conn.execute(select(func.count()).select_from(Change)).scalar_one()
    return int(events), int(changes)


def team(db: str) -> None:
    for name, role in (("alice", "engineer"), ("bob", "engineer"), ("carol", "deployer")):
        assert cli(db, "user", "add", name, "--role", role).code == 0
    # the author of the attack holds the deployer role too
    assert cli(db, "user", "add", "mallory", "--role", "engineer", "--role", "deployer").code == 0


def new(db: str, *extra: str, author: str = "mallory") -> list[str]:
    return [
        "change",
        "new",
        "--title",
        "Tweak",
        "--class",
        "standard",
        "--rollback",
        "revert",
        "--description",
        "a small change",
        "--author",
        author,
        *extra,
    ]


def test_the_reported_walk_around_is_refused_and_writes_nothing(
    db_url: str, engine: Engine
) -> None:
    team(db_url)
    before = counts(engine)
    run = cli(
        db_url,
        *new(
            db_url,
            "--risk",
            "availability=high",
            "--risk",
            "security=high",
            "--risk",
            "data=high",
            "--component",
            "iam",
            "--component",
            "tls",
            "--component",
            "network",
        ),
    )
    assert run.code == 1, run.stdout
    assert "pre-approved procedure" in run.stderr and "--category" in run.stderr
    assert "file it as a normal change" in run.stderr
    assert counts(engine) == before
    # and it cannot be deployed: there is no change to deploy
    assert cli(db_url, "deploy", "CHG-1", "--env", "production", "--by", "mallory").code != 0


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (["--category", "dependency-update", *LOW[:4], "--risk", "data=high"], "high-risk"),
        (
            ["--category", "dependency-update", *LOW[:2], "--risk", "security=medium", *LOW[4:]],
            "security=medium is above the dependency-update procedure's limit",
        ),
        (["--category", "dependency-update", *LOW, "--component", "iam"], "security-impacting"),
        (["--category", "dependency-update", *LOW, "--component", "orchestration"], "outside"),
        (["--category", "infrastructure", *LOW], "use --class normal"),
    ],
)
def test_outside_the_catalogue_entry_is_refused(
    db_url: str, engine: Engine, extra: list[str], reason: str
) -> None:
    team(db_url)
    before = counts(engine)
    run = cli(db_url, *new(db_url, *extra))
    assert run.code in (1, 2), run.stdout
    assert reason in run.stderr
    assert counts(engine) == before


def test_within_the_catalogue_it_is_pre_approved_and_names_its_procedure(db_url: str) -> None:
    team(db_url)
    made = cli(db_url, *new(db_url, "--category", "dependency-update", *LOW, "--json"))
    assert made.code == 0, made.stderr
    key = made.json()["id"]
    assert cli(db_url, "change", "submit", key, "--by", "mallory", "--json").json()["state"] == (
        "approved"
    )
    status = cli(db_url, "status", key, "--json").json()
    assert [(r["rule"], r["met"]) for r in status["requirements"]] == [
        ("standard-pre-approved", True)
    ]
    assert "pre-approved procedure dependency-update" in status["requirements"][0]["reason"]
    assert cli(db_url, "gate", key, "--env", "production", "--deployer", "carol").code == 0


def test_an_edit_after_submit_is_evaluated_again(db_url: str, engine: Engine) -> None:
    team(db_url)
    key = cli(db_url, *new(db_url, "--category", "dependency-update", *LOW, "--json")).json()["id"]
    assert cli(db_url, "change", "submit", key, "--by", "mallory").code == 0
    # within the entry: approved again (it used to stay `submitted` for ever)
    edited = cli(
        db_url, "change", "edit", key, "--description", "bump httpx", "--by", "mallory", "--json"
    )
    assert edited.code == 0, edited.stderr
    shown = cli(db_url, "change", "show", key, "--json").json()
    assert shown["state"] == "approved"
    assert cli(db_url, "gate", key, "--env", "production", "--deployer", "carol").code == 0
    # outside it: refused, nothing written, still approved as before
    before = counts(engine)
    raised = cli(db_url, "change", "edit", key, "--risk", "security=high", "--by", "mallory")
    assert raised.code == 1 and "file it as a normal change" in raised.stderr
    assert counts(engine) == before
    assert cli(db_url, "change", "show", key, "--json").json()["state"] == "approved"
    # filed as a normal change it goes through review like any other
    normal = cli(
        db_url,
        "change",
        "edit",
        key,
        "--class",
        "normal",
        "--risk",
        "security=high",
        "--by",
        "mallory",
        "--json",
    )
    assert normal.code == 0, normal.stderr
    assert cli(db_url, "change", "show", key, "--json").json()["state"] == "submitted"
    assert cli(db_url, "gate", key, "--env", "production", "--deployer", "carol").code == 1


def test_the_api_refuses_it_too(db_url: str, engine: Engine) -> None:
    with running_org(db_url) as org:
        author = org.user("engineer", "deployer")
        headers = org.bearer(author)
        before = counts(engine)
        body = {
            "title": "Tweak",
            "change_class": "standard",
            "description": "x",
            "components": ["iam", "tls", "network"],
            "risk": {
                d: {"level": "high", "note": ""} for d in ("availability", "security", "data")
            },
            "rollback_plan": "revert",
        }
        r = org.client.post("/api/changes", json=body, headers=headers)
        assert r.status_code == 403, r.text
        assert "file it as a normal change" in r.json()["message"]
        assert r.json()["field"] == "class"
        # no change; the refusal itself is recorded, as every denied action is
        assert counts(engine) == (before[0] + 1, before[1])


def _facts(**overrides: object) -> ChangeFacts:
    values: dict[str, object] = {
        "id": "CHG-1",
        "change_class": "standard",
        "author": "alice",
        "risk": {"availability": "low", "security": "low", "data": "low"},
        "category": "dependency-update",
        "components": ("application",),
    }
    values.update(overrides)
    return ChangeFacts(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "met"),
    [
        ({}, True),
        ({"category": None}, False),
        ({"risk": {"availability": "high", "security": "high", "data": "high"}}, False),
        ({"risk": {"availability": "low", "security": "low"}}, False),  # unassessed: unmet
        ({"components": ("iam", "tls")}, False),
        ({"security_flag": True}, False),
        ({"category": "system-prompt-change"}, False),
    ],
)
def test_the_gate_checks_the_catalogue_whatever_wrote_the_row(
    overrides: dict[str, object], met: bool
) -> None:
    result = evaluate(P, _facts(**overrides), now=utcnow())
    pre = [r for r in result.results if r.rule_id == "standard-pre-approved"]
    assert [r.met for r in pre] == [met]
    assert result.gate_open is met


def test_files_no_catalogue_entry_covers_make_a_range_normal() -> None:
    rules = P.path_rules
    assert minimum_class(P, classify_paths(["requirements.txt"], rules)) == "standard"
    assert minimum_class(P, classify_paths(["requirements.txt", "README.md"], rules)) == "normal"
    assert minimum_class(P, classify_paths(["README.md"], rules)) == "normal"
    assert minimum_class(P, classify_paths(["config/tuning/pool.yaml"], rules)) == "standard"


def _policy_with(tmp_path: Path, edit: object) -> str:
    data = yaml.safe_load(DEFAULT.text)
    edit(data)  # type: ignore[operator]
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["categories"]["dependency-update"].pop("catalogue"),
            "categories.dependency-update.catalogue: missing",
        ),
        (
            lambda d: d["categories"]["infrastructure"].update(
                catalogue={"procedure": "x", "max_risk": {}}
            ),
            "only categories of class standard are pre-approved procedures",
        ),
        (
            lambda d: d["categories"]["dependency-update"]["catalogue"]["max_risk"].pop("data"),
            "give the highest data level allowed",
        ),
        (
            lambda d: d["categories"]["dependency-update"]["catalogue"].update(components=["mars"]),
            "unknown component 'mars'",
        ),
    ],
)
def test_policy_check_names_a_broken_catalogue(tmp_path: Path, edit: object, message: str) -> None:
    path = _policy_with(tmp_path, edit)
    run = cli("sqlite://", "policy", "check", path)
    assert run.code == 1 and message in (run.stdout + run.stderr)
    with pytest.raises(Exception, match="catalogue"):
        load_policy(path)
