"""Retrospective and post-incident reviews of emergency changes (§5)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.deployments.models import Deployment
from changegate.errors import Conflict, InvalidInput, PolicyDenied, SegregationOfDuties
from changegate.incidents.models import EmergencyReview
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


def review_emergency(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    actor: str,
    root_cause: str,
    actions_taken: str,
    preventive_controls: str,
) -> EmergencyReview:
    spec = policy.classes[change.change_class]  # type: ignore[index]
    retro = spec.retrospective_review
    if retro is None:
        raise Conflict(
            f"{change.key} is a {change.change_class} change; only emergency changes "
            "get a retrospective review",
            field="change",
        )
    if change.state in ("draft", "submitted"):
        raise Conflict(
            f"{change.key} has not been deployed yet (state {change.state}); review it after "
            "deployment",
            field="change",
        )
    user = get_user(session, actor)
    if not retro.reviewer_may_be_author and user.name == change.author:
        raise SegregationOfDuties(
            f"{user.name} authored {change.key}; the retrospective review must be done "
            f"by someone else (§5, §{policy.segregation_of_duties.section})",
            field="by",
        )
    if not set(user.roles) & set(retro.reviewer_roles):
        raise PolicyDenied(
            f"{user.name} may not review emergency changes: the policy asks for role "
            f"{' or '.join(retro.reviewer_roles)}",
            field="by",
        )
    values = {"root-cause": root_cause, "actions": actions_taken, "preventive": preventive_controls}
    empty = [k for k, v in values.items() if not v.strip()]
    if empty:
        raise InvalidInput(
            "the post-incident review needs " + ", ".join(f"--{k}" for k in empty), field=empty[0]
        )
    if session.scalar(select(EmergencyReview).where(EmergencyReview.change_id == change.id)):
        raise Conflict(f"{change.key} already has its retrospective review", field="change")
    review = EmergencyReview(
        change_id=change.id,
        reviewer=user.name,
        root_cause=root_cause.strip(),
        actions_taken=actions_taken.strip(),
        preventive_controls=preventive_controls.strip(),
        created_at=utcnow(),
    )
    session.add(review)
    record(session, events.EmergencyReviewed, actor=user.name, after=review)
    return review


@dataclass(frozen=True)
class Overdue:
    change: Change
    due: dt.datetime

    def to_dict(self) -> dict[str, str]:
        from changegate.db import iso

        return {
            "change": self.change.key,
            "title": self.change.title,
            "author": self.change.author,
            "due": iso(self.due) or "",
            "state": self.change.state,
        }


def pending_reviews(session: Session, policy: Policy) -> list[Overdue]:
    """Emergency changes deployed whose retrospective review is not yet recorded.

    One query for all of them: the due date needs only each change's first deployment, not
    the full set of facts that requirement evaluation gathers.
    """
    hours: dict[str, int] = {
        name: spec.retrospective_review.due_within_hours
        for name, spec in policy.classes.items()
        if spec.retrospective_review
    }
    first_deploy = (
        select(Deployment.change_id, func.min(Deployment.created_at).label("at"))
        .where(Deployment.kind == "deploy")
        .group_by(Deployment.change_id)
        .subquery()
    )
    rows = session.execute(
        select(Change, first_deploy.c.at)
        .join(first_deploy, first_deploy.c.change_id == Change.id)
        .where(
            Change.change_class.in_(list(hours)),
            Change.id.not_in(select(EmergencyReview.change_id)),
        )
        .order_by(Change.id)
    )
    out: list[Overdue] = []
    for row in rows:
        change: Change = row[0]
        deployed_at: dt.datetime = row[1]
        out.append(Overdue(change, deployed_at + dt.timedelta(hours=hours[change.change_class])))
    return out


def overdue(session: Session, policy: Policy, *, now: dt.datetime | None = None) -> list[Overdue]:
    now = now or utcnow()
    return [o for o in pending_reviews(session, policy) if o.due < now]
