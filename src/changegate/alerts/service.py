"""Investigations: every alert is one, acknowledged by a person and resolved with notes and a
link (§8). Also the time-driven violations (an emergency review going overdue, a failed
verification) recorded as audit events, which raise their alerts like any other."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from changegate.alerts.models import Alert, AlertDelivery
from changegate.audit import events
from changegate.audit.service import record
from changegate.db import iso, utcnow
from changegate.errors import Conflict, InvalidInput, NotFound
from changegate.policy.service import require
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

STATES = ("open", "acknowledged", "resolved")


def get_alert(session: Session, alert_id: int | str, *, lock: bool = False) -> Alert:
    text = str(alert_id).removeprefix("#")
    if not text.isdigit() or int(text) > 2**31 - 1:
        raise InvalidInput(
            f"alert id {alert_id!r}: give the number `alerts list` shows", field="id"
        )
    stmt = select(Alert).where(Alert.id == int(text))
    found = session.scalar(stmt.with_for_update() if lock else stmt)
    if found is None:
        raise NotFound(f"no alert {text}: see `changegate alerts list`", field="id")
    return found


def due_by(policy: Policy, alert: Alert) -> dt.datetime:
    return alert.created_at + dt.timedelta(hours=policy.monitoring.ack_within_hours)


def view(
    session: Session,
    policy: Policy,
    alert: Alert,
    deliveries: list[AlertDelivery] | None = None,
) -> dict[str, Any]:
    """An alert as the CLI, the API and the pages show it, with its deliveries (read here
    unless given). The cause is named by its action and entity; its audit sequence number is
    the database's own, so left out."""
    out = alert.audit_state() | {"ack_due": iso(due_by(policy, alert))}
    del out["event_seq"]
    out["overdue"] = alert.state == "open" and due_by(policy, alert) < utcnow()
    if deliveries is None:
        deliveries = deliveries_of(session, alert)
    out["deliveries"] = [delivery_view(d) for d in deliveries]
    return out


def delivery_view(d: AlertDelivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "alert": d.alert_id,
        "target": d.target,
        "webhook_id": d.webhook_id,
        "state": d.state,
        "attempts": d.attempts,
        "last_status": d.last_status,
        "last_error": d.last_error,
        "next_attempt_at": iso(d.next_attempt_at),
        "delivered_at": iso(d.delivered_at),
    }


def list_alerts(
    session: Session, *, open_only: bool = False, limit: int = 500
) -> list[tuple[Alert, list[AlertDelivery]]]:
    """Newest first; ``open_only``: those not resolved yet (open or acknowledged)."""
    stmt = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if open_only:
        stmt = stmt.where(Alert.state != "resolved")
    alerts = list(session.scalars(stmt))
    by_alert: dict[int, list[AlertDelivery]] = {a.id: [] for a in alerts}
    if alerts:
        for d in session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.alert_id.in_(list(by_alert)))
            .order_by(AlertDelivery.id)
        ):
            by_alert[d.alert_id].append(d)
    return [(a, by_alert[a.id]) for a in alerts]


def deliveries_of(session: Session, alert: Alert) -> list[AlertDelivery]:
    return list(
        session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.alert_id == alert.id)
            .order_by(AlertDelivery.id)
        )
    )


def dead_letters(session: Session, *, limit: int = 200) -> list[AlertDelivery]:
    return list(
        session.scalars(
            select(AlertDelivery)
            .where(AlertDelivery.state == "dead")
            .order_by(AlertDelivery.id.desc())
            .limit(limit)
        )
    )


def _actor(session: Session, policy: Policy, name: str) -> str:
    user = get_user(session, name)
    require(policy, user, "alerts.manage", doing="investigate alerts")
    return user.name


def acknowledge(session: Session, policy: Policy, alert: Alert, *, actor: str) -> Alert:
    """A person takes the investigation; only an open alert is acknowledged."""
    who = _actor(session, policy, actor)
    if alert.state != "open":
        raise Conflict(f"alert {alert.id} is {alert.state}: only an open alert is acknowledged")
    before = alert.audit_state()
    alert.state, alert.acked_by, alert.acked_at = "acknowledged", who, utcnow()
    record(session, events.AlertAcknowledged, actor=who, before=before, after=alert)
    return alert


def resolve(
    session: Session, policy: Policy, alert: Alert, *, actor: str, notes: str, link: str | None
) -> Alert:
    """Close the investigation with what was found and done (acknowledging it if nobody had)."""
    who = _actor(session, policy, actor)
    if not notes.strip():
        raise InvalidInput("--notes is empty: say what was found and done", field="notes")
    if link is not None and not link.startswith(("http://", "https://", "CHG-")):
        raise InvalidInput(
            f"--link {link[:80]!r}: give a URL (http...) or a change key (CHG-N)", field="link"
        )
    if alert.state == "resolved":
        raise Conflict(f"alert {alert.id} is already resolved by {alert.resolved_by}")
    before = alert.audit_state()
    now = utcnow()
    if alert.acked_by is None:
        alert.acked_by, alert.acked_at = who, now
    alert.state, alert.resolved_by, alert.resolved_at = "resolved", who, now
    alert.notes, alert.link = notes.strip()[:10000], link[:500] if link else None
    record(session, events.AlertResolved, actor=who, before=before, after=alert)
    return alert


def overdue(session: Session, policy: Policy, *, now: dt.datetime | None = None) -> list[Alert]:
    """Open alerts nobody acknowledged within ``monitoring.ack_within_hours``."""
    cutoff = (now or utcnow()) - dt.timedelta(hours=policy.monitoring.ack_within_hours)
    return list(
        session.scalars(
            select(Alert).where(Alert.state == "open", Alert.created_at < cutoff).order_by(Alert.id)
        )
    )


@dataclass(frozen=True)
class Counts:
    open: int
    unacknowledged: int
    overdue: int
    dead_letters: int
    by_kind: dict[str, int]


def counts(session: Session, policy: Policy) -> Counts:
    """What the dashboard and /metrics show."""
    by_state: dict[str, int] = {
        state: n
        for state, n in session.execute(select(Alert.state, func.count()).group_by(Alert.state))
    }
    by_kind: dict[str, int] = {
        kind: n
        for kind, n in session.execute(select(Alert.kind, func.count()).group_by(Alert.kind))
    }
    dead = session.scalar(
        select(func.count()).select_from(AlertDelivery).where(AlertDelivery.state == "dead")
    )
    return Counts(
        open=by_state.get("open", 0) + by_state.get("acknowledged", 0),
        unacknowledged=by_state.get("open", 0),
        overdue=len(overdue(session, policy)),
        dead_letters=dead or 0,
        by_kind=by_kind,
    )


def sweep_overdue(session: Session, policy: Policy) -> int:
    """Record, once each, what time alone made overdue: an emergency change's retrospective
    review (§5), an open finding past its SLA (§6), the access review (§7). Each record raises
    its alert like any event. Run by the delivery worker; the number recorded."""
    from changegate.access.reports import due as access_due
    from changegate.findings.queries import overdue_findings
    from changegate.incidents.service import overdue as overdue_reviews

    found: list[tuple[type[events.Event], str, dict[str, Any]]] = []
    for item in overdue_reviews(session, policy):
        summary = (
            f"{item.change.key} ({item.change.title}): retrospective review due {iso(item.due)}"
        )
        found.append(
            (
                events.EmergencyReviewOverdue,
                f"emergency_overdue:{item.change.key}",
                {"change": item.change.key, "due": iso(item.due), "summary": summary},
            )
        )
    for f in overdue_findings(session):
        summary = (
            f"{f['severity']} {f['rule_id']} in {f['component']} ({f['scope']}) due {f['due']}"
        )
        found.append(
            (
                events.FindingPastSla,
                f"finding_overdue:{f['id']}:{f['due']}",
                {"finding": f["id"], "due": f["due"], "summary": summary},
            )
        )
    review = access_due(session, policy)
    if review.overdue:
        due = review.due_on.isoformat()
        found.append(
            (
                events.AccessReviewOverdue,
                f"access_review_overdue:{due}",
                {"due": due, "summary": f"the access review was due {due}"},
            )
        )
    return _record_new(session, found)


def _record_new(
    session: Session, found: list[tuple[type[events.Event], str, dict[str, Any]]]
) -> int:
    """Record each (event, entity, extra) whose entity the log does not hold yet."""
    from changegate.audit.models import AuditEvent

    if not found:
        return 0
    entities = [entity for _, entity, _ in found]
    known = set(
        session.scalars(select(AuditEvent.entity_key).where(AuditEvent.entity_key.in_(entities)))
    )
    n = 0
    for event, entity, extra in found:
        if entity not in known:
            record(session, event, actor="system", entity=entity, extra=extra)
            n += 1
    return n


def verification_failed(session: Session, problems: list[str], *, actor: str) -> None:
    """`audit verify` failed: record it (the record is altered, the alert must go out)."""
    record(
        session,
        events.AuditVerificationFailed,
        actor=actor,
        entity="audit:verify",
        extra={"problems": problems[:50], "summary": "; ".join(problems[:5])[:1000]},
    )


def record_failed_verification(
    open_tx: Callable[[], AbstractContextManager[Session]], problems: list[str], *, actor: str
) -> bool:
    """Record a failed `audit verify` in a transaction of its own (``open_tx``: the entry
    point's; the verification only read), raising its alert. False when the record could not
    be written: a log damaged enough may refuse the append, and the verdict still stands."""
    from sqlalchemy.exc import SQLAlchemyError

    from changegate.errors import ChangegateError

    try:
        with open_tx() as session:
            verification_failed(session, problems, actor=actor)
    except (SQLAlchemyError, ChangegateError, KeyError, ValueError, TypeError):
        return False
    return True
