"""What each page shows, gathered from the services. No HTML here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from changegate.changes.lifecycle import STATES
from changegate.changes.models import Change
from changegate.changes.status import evaluate_change
from changegate.policy import service as policy_service
from changegate.policy.schema import Policy
from changegate.users.models import User


def awaiting_review(session: Session, policy: Policy, user: User) -> list[dict[str, Any]]:
    """Submitted changes that ask for an approval the user could give and has not given."""
    from changegate.reviews.service import approval_refusal

    out: list[dict[str, Any]] = []
    if not policy_service.allowed(policy, user, "review.approve"):
        return out
    rules = {rule.id: rule for rule in policy.rules}
    for change in session.scalars(
        select(Change).where(Change.state == "submitted").order_by(Change.id)
    ):
        evaluation = evaluate_change(session, policy, change)
        wanted = [
            r
            for r in evaluation.results
            if r.kind == "approval" and not r.met and rules[r.rule_id].require.role in user.roles
        ]
        if wanted and approval_refusal(session, policy, change, user) is None:
            out.append({"change": change, "wanted": [r.reason for r in wanted]})
    return out


def dashboard(session: Session, policy: Policy, user: User) -> dict[str, Any]:
    from changegate.deployments.service import history
    from changegate.incidents.service import pending_reviews

    counts = dict(
        (state, n)
        for state, n in session.execute(select(Change.state, func.count()).group_by(Change.state))
    )
    latest: dict[str, Any] = {}
    for dep in history(session):
        latest[dep.environment] = dep
    from changegate.db import utcnow

    now = utcnow()
    emergencies = [
        {"change": p.change, "due": p.due, "overdue": p.due < now}
        for p in pending_reviews(session, policy)
    ]
    recent = list(session.scalars(select(Change).order_by(Change.updated_at.desc()).limit(10)))
    mine = list(
        session.scalars(
            select(Change)
            .where(Change.author == user.name, Change.state.in_(("draft", "rejected")))
            .order_by(Change.id.desc())
            .limit(10)
        )
    )
    return {
        "counts": [(s, counts.get(s, 0)) for s in STATES],
        "total": sum(counts.values()),
        "awaiting": awaiting_review(session, policy, user),
        "emergencies": emergencies,
        "latest": [(env, latest.get(env)) for env in policy.deploy.environments],
        "recent": recent,
        "my_drafts": mine,
        "violations": _violations(session),
        "findings_overdue": _findings_overdue(session, policy, user),
        "next_access_review": _next_access_review(session, policy, user),
        "alerts": _alerts(session, policy, user),
    }


def _alerts(session: Session, policy: Policy, user: User) -> Any:
    """Open and unacknowledged investigations (§8), for those who may read alerts."""
    from changegate.alerts.service import counts

    if not policy_service.allowed(policy, user, "alerts.read"):
        return None
    return counts(session, policy)


def _violations(session: Session) -> list[dict[str, Any]]:
    """The latest deployments GitHub reported that broke the policy."""
    from changegate.github.records import violation, violation_rows

    return [violation(row) for row in violation_rows(session)[:20]]


def junit_rows(evidence: list[dict[str, Any]]) -> dict[str, int]:
    """Totals over the latest run of each JUnit suite (what the gate counts)."""
    latest: dict[str, dict[str, Any]] = {}
    for e in evidence:
        if e["kind"] == "junit" and e.get("summary"):
            latest[e["name"]] = e["summary"]
    totals = {"suites": len(latest), "tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for summary in latest.values():
        for key in ("tests", "failures", "errors", "skipped"):
            totals[key] += int(summary.get(key, 0))
    return totals


def change_page(session: Session, policy: Policy, change: Change, user: User) -> dict[str, Any]:
    from changegate.audit.service import timeline
    from changegate.changes import permissions
    from changegate.changes.lifecycle import TRANSITIONS
    from changegate.changes.status import change_report, status_report
    from changegate.reviews.service import approval_refusal, rejection_refusal
    from changegate.web.ai_views import ai_review

    report = change_report(session, policy, change)
    status = status_report(session, policy, change)
    may_edit = change.state in TRANSITIONS["edit"] and not permissions.refusal(
        policy, change, user, "edit"
    )
    may_submit = change.state in TRANSITIONS["submit"] and not permissions.refusal(
        policy, change, user, "submit"
    )
    refusal = approval_refusal(session, policy, change, user)
    return {
        "change": change,
        "report": report,
        "status": status,
        "gate_stage": [r for r in status["requirements"] if r["stage"] == "gate"],
        "junit": junit_rows(report["evidence"]),
        "timeline": timeline(session, change_key=change.key),
        "may_edit": may_edit,
        "may_submit": may_submit,
        "may_approve": refusal is None,
        "approve_reason": "" if refusal is None else refusal.message,
        "may_reject": rejection_refusal(policy, change, user) is None,
        "gate_open": all(r["met"] for r in status["requirements"] if r["stage"] == "gate"),
        "ai_review": ai_review(
            session, policy, change, user, evidence=report["evidence"], is_ai=bool(status["ai"])
        ),
    }


def _next_access_review(session: Session, policy: Policy, user: User) -> dict[str, Any] | None:
    """When the next access review is due (§7), for those who may read access reviews."""
    from changegate.access.reports import due

    if not policy_service.allowed(policy, user, "access.read"):
        return None
    return due(session, policy).to_dict()


def _findings_overdue(session: Session, policy: Policy, user: User) -> dict[str, int] | None:
    """Open findings past their SLA by severity (§6), for those who may read findings."""
    from changegate.findings.queries import overdue_by_severity

    if not policy_service.allowed(policy, user, "findings.read"):
        return None
    return overdue_by_severity(session)
