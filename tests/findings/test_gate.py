"""The gate's findings option (§6), fixes linked from `change new --fixes`, and a production
deployment resolving them; through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

from changegate.db import utcnow
from changegate.policy.loader import default_policy_text
from tests.cli_runner import cli
from tests.deployments.test_concurrency import approved_change
from tests.factories import make_team
from tests.findings.support import TRIVY, pf, scan

LATE = utcnow() - dt.timedelta(days=30)  # a critical finding first seen then is past its 7 days


@pytest.fixture
def refuse_policy(tmp_path: Path) -> str:
    data = yaml.safe_load(default_policy_text())
    data["findings"]["gate"] = "refuse"
    path = tmp_path / "refuse.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return str(path)


def _requirement(db: str, key: str, *more: str) -> tuple[int, dict[str, object]]:
    r = cli(db, "gate", key, "--env", "production", "--deployer", "carol", "--json", *more)
    found = next(x for x in r.json()["requirements"] if x["rule"] == "findings-sla")
    return r.code, found


def _late_finding(engine: Engine) -> int:
    scan(
        engine,
        [pf("CVE-2024-1", "critical"), pf("CVE-2024-2", "high")],
        scope="application",
        now=LATE,
    )
    return 1


def test_default_warns_with_a_met_requirement(db_url: str, engine: Engine) -> None:
    make_team(engine)
    key = approved_change(engine)
    code, req = _requirement(db_url, key)
    assert code == 0 and req["met"] and "no critical findings" in str(req["reason"])
    _late_finding(engine)
    code, req = _requirement(db_url, key)
    assert code == 0 and req["met"] and str(req["reason"]).startswith("warning: 1 critical")


def test_refuse_closes_production_but_not_staging(
    db_url: str, engine: Engine, refuse_policy: str
) -> None:
    make_team(engine)
    key = approved_change(engine)
    _late_finding(engine)
    code, req = _requirement(db_url, key, "--policy", refuse_policy)
    assert code == 1 and not req["met"] and "CVE-2024-1" in str(req["reason"])
    staging = cli(
        db_url,
        "gate",
        key,
        "--env",
        "staging",
        "--deployer",
        "carol",
        "--json",
        "--policy",
        refuse_policy,
    )
    assert all(r["rule"] != "findings-sla" for r in staging.json()["requirements"])
    other_scope = cli(db_url, "findings", "list", "--scope", "billing", "--json").json()
    assert other_scope["count"] == 0


def _change(db: str, *extra: str, cls: str = "normal") -> str:
    args = ["change", "new", "--title", "Upgrade openssl", "--class", cls, "--author", "alice"]
    args += ["--risk", "availability=low", "--risk", "security=low", "--risk", "data=low"]
    args += [
        "--rollback",
        "pin the old version",
        "--description",
        "CVE fix",
        "--component",
        "application",
    ]
    r = cli(db, *args, "--justification", "actively exploited", *extra, "--json")
    assert r.code == 0, r.stderr
    return str(r.json()["id"])


def test_a_change_that_fixes_the_finding_passes_and_resolves_it_on_deploy(
    db_url: str, engine: Engine, refuse_policy: str
) -> None:
    make_team(engine)
    _late_finding(engine)
    key = _change(db_url, "--fixes", "1")
    for step in (("change", "submit", key, "--by", "alice"), ("approve", key, "--by", "bob")):
        assert cli(db_url, *step).code == 0
    for ev in (
        ("--junit", str(Path(__file__).parents[1] / "data" / "junit_pass.xml")),
        ("--validation", "staging", "--result", "pass"),
    ):
        assert cli(db_url, "evidence", "add", key, *ev, "--by", "ci-bot").code == 0
    code, req = _requirement(db_url, key, "--policy", refuse_policy)
    assert code == 0 and req["met"], req
    d = cli(
        db_url,
        "deploy",
        key,
        "--env",
        "production",
        "--version",
        "v2",
        "--by",
        "carol",
        "--policy",
        refuse_policy,
    )
    assert d.code == 0, d.stderr
    shown = cli(db_url, "findings", "show", "1", "--json").json()
    assert shown["status"] == "fixed" and shown["change"] == key
    assert shown["links"][0]["kind"] == "fixes"
    assert [e["action"] for e in shown["history"]][-1] == "finding.fixed"
    assert cli(db_url, "audit", "verify").code == 0


def test_an_emergency_change_names_the_finding_that_triggered_it(
    db_url: str, engine: Engine
) -> None:
    make_team(engine)
    _late_finding(engine)
    refused = cli(
        db_url,
        "change",
        "new",
        "--title",
        "x",
        "--class",
        "normal",
        "--author",
        "alice",
        "--triggered-by",
        "1",
    )
    assert refused.code == 2 and "emergency" in refused.stderr
    key = _change(db_url, "--triggered-by", "1", cls="emergency")
    shown = cli(db_url, "findings", "show", "1", "--json").json()
    assert shown["links"][0]["kind"] == "trigger" and shown["links"][0]["change"] == key


def test_overdue_exits_1_and_bad_input_exits_2(db_url: str, engine: Engine) -> None:
    make_team(engine)
    assert cli(db_url, "findings", "overdue").code == 0
    _late_finding(engine)
    r = cli(db_url, "findings", "overdue", "--json")
    assert r.code == 1  # the high one is due today: within its 30 days
    assert [f["rule_id"] for f in r.json()["overdue"]] == ["CVE-2024-1"]
    bad = cli(db_url, "findings", "list", "--severity", "urgent")
    assert bad.code == 2 and "--severity" in bad.stderr
    bad = cli(
        db_url,
        "findings",
        "accept",
        "1",
        "--justification",
        "x",
        "--expires",
        "soon",
        "--by",
        "artur",
    )
    assert bad.code == 2 and "--expires" in bad.stderr
    own = cli(
        db_url,
        "findings",
        "accept",
        "1",
        "--justification",
        "x",
        "--expires",
        "2099-01-01",
        "--by",
        "sam",
    )
    assert own.code == 1 and "owns" in own.stderr  # sam imported it
    today = utcnow().date()
    ok = cli(
        db_url,
        "findings",
        "accept",
        "1",
        "--justification",
        "WAF",
        "--expires",
        str(today + dt.timedelta(days=10)),
        "--by",
        "artur",
        "--json",
    )
    assert ok.code == 0 and ok.json()["approver"] == "artur"
    assert cli(db_url, "findings", "show", "F-999").code == 2


def test_import_with_a_kev_catalogue_through_the_cli(db_url: str, engine: Engine) -> None:
    make_team(engine)
    kev = TRIVY.parent / "kev-small.json"
    args = ["findings", "import", str(TRIVY), "--format", "trivy", "--kev", str(kev), "--by", "sam"]
    out = cli(db_url, *args, "--json")
    assert out.code == 0 and out.json()["new"] == 3 and out.json()["kev_sha256"]
    listed = {f["rule_id"]: f for f in cli(db_url, "findings", "list", "--json").json()["findings"]}
    assert listed["CVE-2024-34064"]["due"] == listed["CVE-2024-34064"]["kev_due"] == "2024-06-10"
    assert listed["CVE-2024-5535"]["kev_due"] is None
    assert cli(db_url, "findings", "overdue").code == 1  # the KEV date is long past
    broken = cli(db_url, "findings", "import", str(kev), "--format", "trivy", "--by", "sam")
    assert broken.code == 2 and cli(db_url, "findings", "list", "--json").json()["count"] == 3
