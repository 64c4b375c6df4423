"""Reading findings (§6): lists with their SLA countdown, one finding with its history, the
overdue ones and the dashboard's counts. Every answer is JSON-shaped, for all entry points."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit.models import AuditEvent
from changegate.changes.models import Change
from changegate.db import iso, utcnow
from changegate.errors import InvalidInput
from changegate.findings.models import STATUSES, Finding, FindingLink, RiskAcceptance
from changegate.findings.sla import days_left, is_overdue

SEVERITIES = ("critical", "high", "medium", "low")


def as_dict(finding: Finding, today: dt.date) -> dict[str, Any]:
    """The finding's audited state, its last sighting and its SLA countdown."""
    state = finding.audit_state()
    state["id"] = finding.id
    state["last_seen"] = iso(finding.last_seen)
    state["days_left"] = days_left(finding.due, today) if finding.status == "open" else None
    state["overdue"] = is_overdue(finding.status, finding.due, today)
    return state


def _one_of(value: str | None, allowed: tuple[str, ...], field: str) -> None:
    if value is not None and value not in allowed:
        raise InvalidInput(f"--{field} {value!r}: use one of {', '.join(allowed)}", field=field)


def list_findings(
    session: Session,
    *,
    status: str | None = None,
    severity: str | None = None,
    scope: str | None = None,
    today: dt.date | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Findings, most urgent first (earliest due date), filtered as given."""
    _one_of(status, STATUSES, "status")
    _one_of(severity, SEVERITIES, "severity")
    today = today or utcnow().date()
    stmt = select(Finding)
    if status:
        stmt = stmt.where(Finding.status == status)
    if severity:
        stmt = stmt.where(Finding.severity == severity)
    if scope:
        stmt = stmt.where(Finding.scope == scope)
    stmt = stmt.order_by(Finding.due.is_(None), Finding.due, Finding.id)
    if limit:
        stmt = stmt.limit(limit)
    return [as_dict(f, today) for f in session.scalars(stmt)]


def overdue_findings(session: Session, *, today: dt.date | None = None) -> list[dict[str, Any]]:
    today = today or utcnow().date()
    stmt = (
        select(Finding)
        .where(Finding.status == "open", Finding.due < today)
        .order_by(Finding.due, Finding.id)
    )
    return [as_dict(f, today) for f in session.scalars(stmt)]


def overdue_by_severity(session: Session, *, today: dt.date | None = None) -> dict[str, int]:
    """The dashboard's panel: open findings past due, counted by severity."""
    counts = Counter(f["severity"] for f in overdue_findings(session, today=today))
    return {s: counts.get(s, 0) for s in SEVERITIES}


def _history(session: Session, keys: list[str]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(AuditEvent.data).where(AuditEvent.entity_key.in_(keys)).order_by(AuditEvent.seq)
    )
    out = []
    for (data,) in rows:
        ev = json.loads(bytes(data))
        out.append(
            {
                "ts": ev["ts"],
                "actor": ev["actor"],
                "action": ev["action"],
                "status": (ev.get("after") or {}).get("status"),
                "extra": ev.get("extra"),
            }
        )
    return out


def show_finding(
    session: Session, finding: Finding, *, today: dt.date | None = None
) -> dict[str, Any]:
    """One finding, its risk acceptances, the changes linked to it and its history."""
    today = today or utcnow().date()
    out = as_dict(finding, today)
    acceptances = session.scalars(
        select(RiskAcceptance)
        .where(RiskAcceptance.finding_id == finding.id)
        .order_by(RiskAcceptance.id)
    ).all()
    links = session.execute(
        select(FindingLink, Change.title, Change.state)
        .join(Change, Change.id == FindingLink.change_id)
        .where(FindingLink.finding_id == finding.id)
        .order_by(FindingLink.id)
    ).all()
    out["acceptances"] = [a.audit_state() for a in acceptances]
    out["links"] = [
        link.audit_state() | {"title": title, "state": state} for link, title, state in links
    ]
    keys = [f"finding:{finding.id}"]
    keys += [f"risk_acceptance:{a.id}" for a in acceptances]
    keys += [f"finding_link:{link.id}" for link, _, _ in links]
    out["history"] = _history(session, keys)
    return out
