"""What access reviews report: when the next one is due, and the auditor's CSVs of a campaign
(the population before, the decisions, the population after)."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.access.models import AccessItem, AccessReview
from changegate.access.population import canonical_csv, table_csv
from changegate.access.schedule import NextReview, next_review
from changegate.audit.models import AuditEvent
from changegate.db import utcnow

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

DECISION_COLUMNS = [
    "item", "subject", "system", "entitlement", "privileged", "last_activity",
    "last_activity_at", "reviewer", "decision", "justification", "decided_by", "decided_at",
    "applied_by", "applied_at", "reference", "verified_on",
]  # fmt: skip


def installed_on(session: Session) -> dt.date | None:
    """The day of the audit log's first event (the database's first use), or None when empty."""
    data = session.scalar(select(AuditEvent.data).where(AuditEvent.seq == 1))
    if data is None:
        return None
    return dt.datetime.fromisoformat(json.loads(bytes(data))["ts"].replace("Z", "+00:00")).date()


def due(session: Session, policy: Policy, *, today: dt.date | None = None) -> NextReview:
    """When the next access review is due, and whether it is overdue (:mod:`.schedule`)."""
    today = today or utcnow().date()
    first_open = session.execute(
        select(AccessReview.id, AccessReview.due_on)
        .where(AccessReview.state == "open")
        .order_by(AccessReview.due_on, AccessReview.id)
        .limit(1)
    ).first()
    last = session.execute(
        select(AccessReview.id, AccessReview.closed_at)
        .where(AccessReview.state == "closed", AccessReview.closed_at.is_not(None))
        .order_by(AccessReview.closed_at.desc())
        .limit(1)
    ).first()
    return next_review(
        today=today,
        interval_days=policy.access_review_interval_days,
        installed_on=installed_on(session) or today,
        open_review=(first_open[0], first_open[1]) if first_open else None,
        last_closed=(last[0], last[1].date()) if last and last[1] else None,
    )


def export(session: Session, review: AccessReview) -> dict[str, bytes]:
    """``before.csv`` (the canonical population: its SHA-256 is the one the open event
    recorded), ``decisions.csv`` (every item and what became of it) and ``after.csv`` (the
    population without the entitlements whose revocation was carried out)."""
    rows = list(
        session.scalars(
            select(AccessItem).where(AccessItem.review_id == review.id).order_by(AccessItem.id)
        )
    )
    before = [(i.subject, i.system, i.entitlement) for i in rows]
    after = [
        (i.subject, i.system, i.entitlement)
        for i in rows
        if not (i.decision == "revoke" and i.applied_at is not None)
    ]
    decisions = []
    for i in rows:
        state = i.audit_state()
        decisions.append([i.id, *(state[c] for c in DECISION_COLUMNS[1:])])
    return {
        "before.csv": canonical_csv(before),
        "decisions.csv": table_csv(DECISION_COLUMNS, decisions),
        "after.csv": canonical_csv(after),
    }
