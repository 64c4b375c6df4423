"""The obligations panel (issue 15 §4): open investigations (§8), emergency reviews due (§5),
findings past their SLA (§6), the access review (§7), the policy's own review (§9), and the
audit log's last checkpoint and verification. Each item is asked of the slice that decides
it; this module only gathers, orders and links them, for the dashboard, the API and the CLI.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.db import iso, utcnow

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

#: status, worst first: the order the panel lists items in
STATUSES = ("overdue", "due", "ok")


@dataclass(frozen=True)
class Obligation:
    key: str
    title: str
    status: str  # overdue | due | ok
    summary: str
    link: str

    def to_dict(self) -> dict[str, str]:
        return {
            "key": self.key,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "link": self.link,
        }


def obligations(
    session: Session,
    policy: Policy,
    digest: str,
    *,
    may: Callable[[str], bool],
    now: dt.datetime | None = None,
) -> list[Obligation]:
    """Every obligation the reader may see (``may(permission)``), worst first."""
    now = now or utcnow()
    found: list[Obligation] = []
    for item in _ITEMS:
        if may(item.permission):
            found.append(item.read(session, policy, digest, now))
    return sorted(found, key=lambda o: STATUSES.index(o.status))


def any_overdue(items: list[Obligation]) -> bool:
    return any(o.status == "overdue" for o in items)


@dataclass(frozen=True)
class _Item:
    permission: str
    read: Callable[[Session, Policy, str, dt.datetime], Obligation]


def _investigations(session: Session, policy: Policy, _: str, now: dt.datetime) -> Obligation:
    from changegate.alerts.service import counts

    c = counts(session, policy)
    status = "overdue" if c.overdue else "due" if c.open else "ok"
    summary = (
        f"{c.open} open, {c.unacknowledged} unacknowledged, {c.overdue} past the "
        "acknowledgement time"
        if c.open
        else "no open investigation"
    )
    if c.dead_letters:
        summary += f"; {c.dead_letters} alert deliveries dead-lettered"
        status = "overdue"
    return Obligation("investigations", "Investigations (§8)", status, summary, "/alerts")


def _emergency_reviews(session: Session, policy: Policy, _: str, now: dt.datetime) -> Obligation:
    from changegate.incidents.service import pending_reviews

    pending = pending_reviews(session, policy)
    late = [o for o in pending if o.due < now]
    if not pending:
        return Obligation(
            "emergency-reviews",
            "Emergency reviews (§5)",
            "ok",
            "no emergency change awaits its retrospective review",
            "/",
        )
    first = min(pending, key=lambda o: o.due)
    summary = f"{len(pending)} awaiting review ({len(late)} overdue); next due {iso(first.due)}"
    return Obligation(
        "emergency-reviews",
        "Emergency reviews (§5)",
        "overdue" if late else "due",
        summary,
        f"/changes/{first.change.key}",
    )


def _findings(session: Session, policy: Policy, _: str, now: dt.datetime) -> Obligation:
    from changegate.findings.queries import overdue_by_severity

    by = overdue_by_severity(session, today=now.date())
    total = sum(by.values())
    shown = ", ".join(f"{n} {sev}" for sev, n in by.items() if n)
    return Obligation(
        "findings",
        "Findings past their SLA (§6)",
        "overdue" if total else "ok",
        f"{total} past due: {shown}" if total else "no finding past its SLA",
        "/findings?status=open",
    )


def _access_review(session: Session, policy: Policy, _: str, now: dt.datetime) -> Obligation:
    from changegate.access.reports import due

    nxt = due(session, policy, today=now.date())
    near = nxt.due_on - now.date() <= dt.timedelta(days=14)
    status = "overdue" if nxt.overdue else "due" if near or nxt.basis == "open" else "ok"
    link = f"/access/{nxt.review_id}" if nxt.review_id else "/access"
    what = "campaign in progress, " if nxt.basis == "open" else ""
    return Obligation(
        "access-review",
        "Access review (§7)",
        status,
        f"{what}due {nxt.due_on.isoformat()}",
        link,
    )


def _policy_review(session: Session, policy: Policy, digest: str, now: dt.datetime) -> Obligation:
    from changegate.policy.review import review_status

    st = review_status(session, policy, digest)
    overdue = st.overdue(now.date())
    near = st.due_by is not None and st.due_by - now.date() <= dt.timedelta(days=30)
    why = f"due by {st.due_by.isoformat()}" if st.due_by else "due now"
    if st.significant_count:
        why = (
            f"due now: {st.significant_count} significant change(s) deployed since the last review"
        )
    return Obligation(
        "policy-review",
        "Policy review (§9)",
        "overdue" if overdue else "due" if near else "ok",
        why,
        "/policy#policy-review",
    )


def _audit(session: Session, policy: Policy, _: str, now: dt.datetime) -> Obligation:
    from changegate.audit.models import AuditEvent

    def last(where: Any) -> dict[str, Any] | None:
        data = session.scalar(
            select(AuditEvent.data).where(where).order_by(AuditEvent.seq.desc()).limit(1)
        )
        return None if data is None else dict(json.loads(bytes(data)))

    signed = last(_prefixed(AuditEvent.entity_key, "checkpoint:"))
    failed = last(_prefixed(AuditEvent.entity_key, "audit:"))
    parts = [
        f"last checkpoint {signed['ts']} (tree size {signed['extra']['tree_size']})"
        if signed
        else "no checkpoint signed yet"
    ]
    if failed:
        parts.append(f"last verification failure {failed['ts']}")
    stale = signed is None or dt.datetime.fromisoformat(signed["ts"]) < now - dt.timedelta(days=1)
    status = "overdue" if failed and (not signed or failed["ts"] > signed["ts"]) else "ok"
    if status == "ok" and stale:
        status = "due"
    return Obligation("audit", "Audit log (§6)", status, "; ".join(parts), "/audit/verify")


def _prefixed(column: Any, prefix: str) -> Any:
    """``column`` starts with ``prefix``, as a range the entity_key index serves (a LIKE
    would scan the log on SQLite)."""
    return (column >= prefix) & (column < prefix[:-1] + chr(ord(prefix[-1]) + 1))


_ITEMS = (
    _Item("alerts.read", _investigations),
    _Item("change.read", _emergency_reviews),
    _Item("findings.read", _findings),
    _Item("access.read", _access_review),
    _Item("policy.read", _policy_review),
    _Item("audit.read", _audit),
)
