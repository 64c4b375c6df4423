"""Raising alerts from audit events, inside the transaction that records the event.

``audit.service.record`` calls :func:`on_recorded` after it appends an event; an event the
mapping table (:mod:`changegate.alerts.kinds`) names as a violation of a kind the policy's
``monitoring.alert_on`` lists becomes an :class:`Alert` (an open investigation), its own
``alert.raised`` event, and one outbox row per configured target. All of it commits with the
event that caused it, or none of it does.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.alerts import kinds, targets
from changegate.alerts.models import Alert, AlertDelivery
from changegate.audit import events
from changegate.db import utcnow

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

#: where an entry point leaves the policy in force for this transaction (policy.service)
POLICY_KEY = "changegate.policy"


class Recorder(Protocol):
    def __call__(
        self,
        session: Session,
        event: type[events.Event],
        *,
        actor: str,
        after: Any = None,
        extra: dict[str, Any] | None = None,
    ) -> Any: ...


def policy_for(session: Session) -> Policy:
    """The policy in force for this transaction: the one its entry point named, else the
    policy version recorded last."""
    named = session.info.get(POLICY_KEY)
    if named is not None:
        return named  # type: ignore[no-any-return]
    from changegate.policy.models import PolicyVersion
    from changegate.policy.snapshot import SNAPSHOT_FORMAT, from_json

    row = session.execute(
        select(PolicyVersion.snapshot, PolicyVersion.snapshot_format)
        .order_by(PolicyVersion.id.desc())
        .limit(1)
    ).first()
    if row is not None and row[0] and row[1] == SNAPSHOT_FORMAT:
        return from_json(row[0])
    from changegate.policy.loader import load_policy

    return load_policy().policy


def _ai_change(session: Session, after: dict[str, Any]) -> bool:
    from changegate.changes.keys import written_id
    from changegate.changes.models import Change

    change_id = written_id(str(after.get("change") or ""))
    if change_id is None:
        return False
    return bool(session.scalar(select(Change.ai_component).where(Change.id == change_id)))


def on_recorded(session: Session, payload: dict[str, Any], record: Recorder) -> list[Alert]:
    """Raise the alerts the event ``payload`` (as recorded) calls for; none for most events."""
    action = payload["action"]
    if action not in kinds.TRIGGERS:
        return []
    after, extra = payload.get("after"), payload.get("extra")
    found = kinds.kinds_of(action, after, extra)
    if not found:
        return []
    wanted = set(policy_for(session).monitoring.alert_on)
    found = [k for k in found if k in wanted]
    if "ai-change-deployed" in found and not _ai_change(session, after or {}):
        found.remove("ai-change-deployed")
    return [_raise(session, kind, payload, record) for kind in found]


def _raise(session: Session, kind: str, payload: dict[str, Any], record: Recorder) -> Alert:
    after, extra = payload.get("after") or {}, payload.get("extra") or {}
    change = after.get("change") or extra.get("change")
    change = change if isinstance(change, str) else None
    alert = Alert(
        kind=kind,
        event_seq=payload["seq"],
        event_action=payload["action"],
        entity=payload["entity"][:200],
        change_key=change,
        actor=payload["actor"][:100],
        summary=kinds.summary(kind, payload["action"], payload["actor"], after, extra),
        created_at=dt.datetime.fromisoformat(payload["ts"].replace("Z", "+00:00")),
        state="open",
    )
    session.add(alert)
    session.flush()
    record(session, events.AlertRaised, actor="system", after=alert)
    now = utcnow()
    for target in targets.configured():
        session.add(
            AlertDelivery(
                alert_id=alert.id,
                target=target.name,
                webhook_id=f"msg_{uuid.uuid4().hex}",
                state="pending",
                attempts=0,
                next_attempt_at=now,
                last_error="",
                created_at=now,
            )
        )
    return alert
