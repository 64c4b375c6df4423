"""Importing, re-importing, risk acceptance and its lapse (§6), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, select, text

from changegate.audit.verify import verify
from changegate.db import utcnow
from changegate.errors import InvalidInput, PolicyDenied
from changegate.findings import queries, service
from changegate.findings.models import Finding, RiskAcceptance
from tests.factories import make_team, tx
from tests.findings.support import P, pf, scan

DAY = dt.timedelta(days=1)


def _findings(engine: Engine) -> dict[str, Finding]:
    return tx(engine, lambda s: {f.rule_id: f for f in s.scalars(select(Finding))})


def test_import_opens_findings_with_their_sla(engine: Engine) -> None:
    make_team(engine)
    now = utcnow()
    out = scan(
        engine, [pf("CVE-1", "critical"), pf("CVE-2", "low"), pf("CVE-1", "critical")], now=now
    )
    assert (out["total"], out["new"], out["fixed"]) == (3, 2, 0)  # the duplicate is one finding
    found = _findings(engine)
    assert found["CVE-1"].due == now.date() + dt.timedelta(
        days=P.vulnerability_sla_days["critical"]
    )
    assert found["CVE-2"].due == now.date() + dt.timedelta(days=P.vulnerability_sla_days["low"])
    assert {f.status for f in found.values()} == {"open"} and found["CVE-1"].owner == "sam"
    assert tx(engine, verify).ok


def test_kev_due_date_applies_when_earlier(engine: Engine) -> None:
    make_team(engine)
    now = utcnow()
    kev = {"CVE-2021-44228": now.date() + 2 * DAY, "CVE-9": now.date() + 400 * DAY}
    scan(
        engine,
        [pf("GHSA-jfh8", "high", aliases=("CVE-2021-44228",)), pf("CVE-9", "low")],
        kev=kev,
        now=now,
    )
    found = _findings(engine)
    assert found["GHSA-jfh8"].due == now.date() + 2 * DAY
    assert found["GHSA-jfh8"].kev_due == now.date() + 2 * DAY
    assert found["CVE-9"].due == now.date() + 90 * DAY and found["CVE-9"].kev_due is not None


def test_reimport_fixes_absent_findings_and_reopens_returning_ones(engine: Engine) -> None:
    make_team(engine)
    scan(engine, [pf("CVE-1"), pf("CVE-2")])
    second = scan(engine, [pf("CVE-1")])
    assert (second["new"], second["fixed"], second["reopened"]) == (0, 1, 0)
    assert _findings(engine)["CVE-2"].status == "fixed"
    third = scan(engine, [pf("CVE-1"), pf("CVE-2")])
    assert (third["new"], third["fixed"], third["reopened"]) == (0, 0, 1)
    assert _findings(engine)["CVE-2"].status == "open"
    other = scan(engine, [pf("CVE-3")], scope="billing")  # another scope fixes nothing here
    assert other["fixed"] == 0 and _findings(engine)["CVE-1"].status == "open"
    actions = tx(
        engine,
        lambda s: [
            e["action"]
            for e in queries.show_finding(s, service.get_finding(s, _id(s, "CVE-2")))["history"]
        ],
    )
    assert actions == ["finding.opened", "finding.fixed", "finding.reopened"]
    assert tx(engine, verify).ok


def _id(s: object, rule: str) -> int:
    return int(s.scalar(select(Finding.id).where(Finding.rule_id == rule)))  # type: ignore[attr-defined]


def test_vex_not_affected_and_false_positive_set_the_status(engine: Engine) -> None:
    make_team(engine)
    scan(engine, [pf("CVE-1", vex_state="not_affected"), pf("CVE-2", vex_state="false_positive")])
    found = _findings(engine)
    assert (found["CVE-1"].status, found["CVE-2"].status) == ("not_affected", "false_positive")


def test_import_needs_the_import_permission(engine: Engine) -> None:
    make_team(engine)
    with pytest.raises(PolicyDenied):
        scan(engine, [pf("CVE-1")], by="carol")  # a deployer: not in findings.import


def _accept(engine: Engine, by: str, expires: dt.date, rule: str = "CVE-1") -> RiskAcceptance:
    return tx(
        engine,
        lambda s: service.accept_risk(
            s,
            P,
            service.get_finding(s, _id(s, rule)),
            actor=by,
            justification="WAF rule",
            expires=expires,
        ),
    )


def test_owner_cannot_accept_the_risk_of_their_own_finding(engine: Engine) -> None:
    make_team(engine)
    scan(engine, [pf("CVE-1")], by="sam")  # sam (security) imports: sam owns it
    with pytest.raises(PolicyDenied, match="owns finding"):
        _accept(engine, "sam", utcnow().date() + 30 * DAY)
    assert _findings(engine)["CVE-1"].status == "open"


def test_accepting_needs_a_role_the_policy_names(engine: Engine) -> None:
    make_team(engine)
    scan(engine, [pf("CVE-1")], by="alice")
    with pytest.raises(PolicyDenied, match=r"findings\.accept"):
        _accept(engine, "bob", utcnow().date() + 30 * DAY)  # an engineer
    _accept(engine, "artur", utcnow().date() + 30 * DAY)  # the CTO
    assert _findings(engine)["CVE-1"].status == "risk_accepted"


def test_acceptance_expiry_is_bounded_by_the_policy(engine: Engine) -> None:
    make_team(engine)
    scan(engine, [pf("CVE-1")], by="alice")
    today = utcnow().date()
    for expires in (today, today + (P.findings.max_acceptance_days + 1) * DAY):
        with pytest.raises(InvalidInput, match="expires"):
            _accept(engine, "sam", expires)


def test_acceptance_lapses_on_expiry_and_the_finding_reopens_once(engine: Engine) -> None:
    make_team(engine)
    scan(engine, [pf("CVE-1")], by="alice")
    acceptance = _accept(engine, "sam", utcnow().date() + 5 * DAY)
    later = utcnow().date() + 6 * DAY
    reopened = tx(engine, lambda s: service.lapse_expired(s, today=later))
    assert [f.rule_id for f in reopened] == ["CVE-1"]
    assert tx(engine, lambda s: service.lapse_expired(s, today=later)) == []  # recorded once
    assert tx(engine, lambda s: s.get(RiskAcceptance, acceptance.id).state) == "lapsed"
    assert _findings(engine)["CVE-1"].status == "open"
    assert tx(engine, verify).ok


def test_a_finding_edited_behind_the_logs_back_fails_verify(engine: Engine) -> None:
    """Attack: closing a finding (or moving its due date) in the database directly."""
    make_team(engine)
    scan(engine, [pf("CVE-1")])
    with engine.begin() as conn:
        conn.execute(text("UPDATE findings SET status = 'fixed'"))
    report = tx(engine, verify)
    assert not report.ok and any("finding:" in p for p in report.problems)


def test_a_large_import_appends_its_events_and_merkle_subtrees_in_one_batch(engine: Engine) -> None:
    """The import appends its events together (audit.service.record_many): verify recomputes
    the chain and every Merkle subtree, across batches that start mid-subtree."""
    make_team(engine)  # an odd number of events before the batch
    first = scan(engine, [pf(f"CVE-{i}", ("critical", "low")[i % 2]) for i in range(70)])
    second = scan(engine, [pf(f"CVE-{i}") for i in range(35, 105)])
    assert (first["new"], second["new"], second["fixed"]) == (70, 35, 35)
    report = tx(engine, verify)
    assert report.ok, report.problems
    assert tx(engine, lambda s: s.scalar(text("SELECT count(*) FROM audit_subtrees"))) > 100
