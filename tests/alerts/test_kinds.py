"""Each alert kind the policy's monitoring.alert_on lists is raised in the transaction of the
event that caused it, on SQLite and PostgreSQL, and opens an investigation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select, text, update

from changegate.alerts import service
from changegate.alerts.models import Alert
from changegate.audit import events
from changegate.audit.models import AuditEvent
from changegate.audit.service import record
from changegate.audit.verify import verify
from changegate.db import session_scope
from changegate.deployments.models import Deployment
from changegate.policy.loader import parse_policy
from changegate.policy.service import ensure_recorded
from tests.cli_runner import cli
from tests.factories import DEFAULT, make_change, make_team, risk, tx
from tests.incidents.test_emergency import emergency

P = DEFAULT.policy


def alerts(engine: Engine) -> list[Alert]:
    with session_scope(engine, write=False) as s:
        return list(s.scalars(select(Alert).order_by(Alert.id)))


def kinds(engine: Engine) -> list[str]:
    return [a.kind for a in alerts(engine)]


def test_gate_refused_raises_an_alert_in_the_same_transaction(db_url: str, engine: Engine) -> None:
    make_team(engine)
    key = make_change(engine)
    g = cli(db_url, "gate", key, "--env", "production", "--deployer", "carol", "--json")
    assert g.code == 1
    [alert] = alerts(engine)
    assert (alert.kind, alert.state, alert.change_key, alert.actor) == (
        "gate-refused",
        "open",
        key,
        "carol",
    )
    cause = tx(
        engine, lambda s: s.scalar(select(AuditEvent).where(AuditEvent.seq == alert.event_seq))
    )
    assert cause is not None and b'"gate.evaluated"' in bytes(cause.data)
    raised = tx(
        engine, lambda s: s.scalar(select(AuditEvent).where(AuditEvent.seq == alert.event_seq + 1))
    )
    assert raised is not None and b'"alert.raised"' in bytes(raised.data)
    assert tx(engine, verify).ok


def test_a_rolled_back_event_leaves_no_alert(engine: Engine) -> None:
    make_team(engine)
    key = make_change(engine)
    from changegate.changes.service import get_change
    from changegate.deployments.service import gate

    try:
        with session_scope(engine) as s:
            ensure_recorded(s, DEFAULT)
            gate(s, P, get_change(s, key), env="production", deployer="carol")
            raise RuntimeError("the caller fails after the gate")
    except RuntimeError:
        pass
    assert alerts(engine) == []


def test_emergency_bypass(db_url: str, engine: Engine) -> None:
    make_team(engine)
    key = emergency(db_url)
    assert cli(db_url, "gate", key, "--env", "production", "--deployer", "carol").code == 0
    assert kinds(engine) == ["emergency-bypass"]


def test_segregation_of_duties_refusal(db_url: str, engine: Engine) -> None:
    make_team(engine)
    key = make_change(engine, risk=risk(security="high"))
    assert cli(db_url, "change", "submit", key, "--by", "alice").code == 0
    assert cli(db_url, "approve", key, "--by", "dave").code == 0
    # dave approved this high-risk change: the gate refuses him as its deployer
    assert cli(db_url, "gate", key, "--env", "production", "--deployer", "dave").code == 1
    assert kinds(engine) == ["gate-refused", "sod-refusal"]


def test_deployment_outside_gate_verify_failure_and_policy_change(engine: Engine) -> None:
    make_team(engine)
    tx(
        engine,
        lambda s: record(
            s,
            events.GitHubDeploymentViolation,
            actor="github",
            entity="github_deployment:77",
            after=None,
            before={"id": 77, "environment": "production", "violation": "no gate passed"},
        ),
    )
    tx(engine, lambda s: service.verification_failed(s, ["seq 4: chain broken"], actor="ops"))
    changed = parse_policy(DEFAULT.text.replace('version: "1.2"', 'version: "1.3"'), "v13")
    assert changed.digest != DEFAULT.digest
    tx(engine, lambda s: ensure_recorded(s, changed))
    assert kinds(engine) == ["deployment-outside-gate", "audit-verify-failed", "policy-changed"]


def test_emergency_review_overdue_is_raised_once_by_the_sweep(db_url: str, engine: Engine) -> None:
    make_team(engine)
    key = emergency(db_url)
    assert (
        cli(db_url, "deploy", key, "--env", "production", "--version", "h1", "--by", "carol").code
        == 0
    )
    assert tx(engine, lambda s: service.sweep_overdue(s, P)) == 0
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    tx(engine, lambda s: s.execute(update(Deployment).values(created_at=past)))
    assert tx(engine, lambda s: service.sweep_overdue(s, P)) == 1
    assert tx(engine, lambda s: service.sweep_overdue(s, P)) == 0
    assert kinds(engine)[-1] == "emergency-review-overdue"
    assert alerts(engine)[-1].change_key == key


def test_a_kind_the_policy_does_not_list_raises_nothing(engine: Engine) -> None:
    quiet = parse_policy(
        DEFAULT.text.replace("    - gate-refused  #", "    # - gate-refused  #"), "quiet"
    )
    make_team(engine, quiet)
    key = make_change(engine, quiet)
    from changegate.changes.service import get_change
    from changegate.deployments.service import gate

    tx(
        engine,
        lambda s: gate(s, quiet.policy, get_change(s, key), env="production", deployer="carol"),
        quiet,
    )
    assert alerts(engine) == []


def test_a_tampered_record_fails_verification_and_raises_an_alert(
    db_url: str, engine: Engine
) -> None:
    """The attack: someone with database access edits a change behind the log. `audit verify`
    refuses (exit 1) and the failure reaches people as an `audit-verify-failed` alert."""
    make_team(engine)
    make_change(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE changes SET title = 'innocent' WHERE id = 1"))
    r = cli(db_url, "audit", "verify", "--json")
    assert r.code == 1 and not r.json()["ok"]
    [alert] = [a for a in alerts(engine) if a.kind == "audit-verify-failed"]
    assert "change:CHG-1 differs" in alert.summary and alert.state == "open"


def test_a_finding_past_its_sla_and_an_overdue_access_review(db_url: str, engine: Engine) -> None:
    from changegate.access.models import AccessReview
    from changegate.findings.models import Finding
    from tests.access.helpers import opened
    from tests.findings.support import make_finding

    review = opened(db_url, engine)
    finding = make_finding(engine, "sam")
    assert tx(engine, lambda s: service.sweep_overdue(s, P)) == 0
    past = dt.date.today() - dt.timedelta(days=3)
    tx(engine, lambda s: s.execute(update(Finding).values(due=past)))
    tx(engine, lambda s: s.execute(update(AccessReview).values(due_on=past)))
    assert tx(engine, lambda s: service.sweep_overdue(s, P)) == 2
    assert tx(engine, lambda s: service.sweep_overdue(s, P)) == 0  # once per due date
    assert kinds(engine)[-2:] == ["finding-past-sla", "access-review-overdue"]
    assert review["id"] and finding


def test_an_ai_change_deployed(db_url: str, engine: Engine) -> None:
    """A deployed change naming an AI component alerts (§10); the emergency bypass too."""
    make_team(engine)
    key = emergency(db_url)  # it turns out to touch the persona engine's prompt
    edit = ["change", "edit", key, "--ai-component", "persona-engine", "--by", "dave"]
    assert cli(db_url, *edit).code == 0
    deployed = cli(db_url, "deploy", key, "--env", "production", "--version", "h1", "--by", "carol")
    assert deployed.code == 0, deployed.stdout + deployed.stderr
    assert kinds(engine) == ["emergency-bypass", "ai-change-deployed"]
    [ai] = [a for a in alerts(engine) if a.kind == "ai-change-deployed"]
    assert ai.change_key == key and "deployed to production" in ai.summary
