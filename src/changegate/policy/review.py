"""The policy's own review cycle (§9): recording a review of the policy in force, and when the
next one is due: at the latest ``metadata.review_interval_days`` after the last review, and at
once when a significant change (``policy_review`` in the policy file) was deployed since.

Reviews are audit events only (entity ``policy-review:log``), so the record of them is the
tamper-evident log itself; the due date is derived from it and the deployments on every read.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.models import AuditEvent
from changegate.audit.service import record
from changegate.changes.keys import change_key
from changegate.db import iso, utcnow
from changegate.errors import InvalidInput, PolicyDenied
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

#: every review is one event of this entity, so the last one is one indexed read
REVIEW_ENTITY = "policy-review:log"
#: reasons listed at most, newest first (the count is always given)
MAX_REASONS = 20


@dataclass(frozen=True)
class LastReview:
    seq: int
    at: dt.datetime
    by: str
    version: str
    digest: str
    notes: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": iso(self.at),
            "by": self.by,
            "version": self.version,
            "digest": self.digest,
            "notes": self.notes,
        }


@dataclass
class ReviewStatus:
    """When the policy in force was last reviewed and when the next review is due."""

    version: str
    digest: str
    interval_days: int
    last: LastReview | None
    #: the date the next review is due by the calendar (interval after the last review, or
    #: after the policy's own ``metadata.last_updated`` when none is recorded)
    due_by: dt.date | None
    #: significant changes deployed since the last review (each makes the review due now)
    significant: list[dict[str, Any]] = field(default_factory=list)
    significant_count: int = 0
    #: why ``due_by`` is unknown, when it is (an unreadable ``last_updated``: due now)
    problem: str | None = None

    def overdue(self, today: dt.date) -> bool:
        """Fail closed: an unknown due date, or any significant change since, is overdue."""
        return self.due_by is None or today > self.due_by or self.significant_count > 0

    def to_dict(self, today: dt.date) -> dict[str, Any]:
        last = self.last
        return {
            "version": self.version,
            "digest": self.digest,
            "interval_days": self.interval_days,
            "last_review": None if last is None else last.to_dict(),
            "due_by": self.due_by.isoformat() if self.due_by else None,
            "overdue": self.overdue(today),
            "significant_changes": self.significant,
            "significant_count": self.significant_count,
            "problem": self.problem,
        }


def record_review(
    session: Session, policy: Policy, digest: str, *, actor: str, notes: str
) -> LastReview:
    """Record that ``actor`` reviewed the policy in force (``digest``: of its text). Only a holder of one of the
    policy's ``policy_review.reviewer_roles`` may; the notes say what was reviewed."""
    notes = notes.strip()
    if not notes:
        raise InvalidInput(
            "notes: say what the review covered (e.g. 'annual review, no changes')",
            field="notes",
        )
    user = get_user(session, actor)
    allowed = policy.policy_review.reviewer_roles
    if not set(user.roles) & set(allowed):
        raise PolicyDenied(
            f"{actor} may not record a review of the policy: policy_review.reviewer_roles "
            f"names {', '.join(allowed) or 'no roles'}; {actor} holds "
            f"{', '.join(user.roles) or 'no roles'}",
            field="by",
        )
    extra = {
        "name": policy.metadata.name,
        "version": policy.metadata.version,
        "digest": digest,
        "notes": notes,
    }
    row = record(
        session,
        events.PolicyReviewed,
        actor=actor,
        entity=REVIEW_ENTITY,
        before={"reviewed": True},
        extra=extra,
    )
    return _last_from(row.seq, json.loads(bytes(row.data)))


def last_review(session: Session) -> LastReview | None:
    found = session.execute(
        select(AuditEvent.seq, AuditEvent.data)
        .where(AuditEvent.entity_key == REVIEW_ENTITY)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    return None if found is None else _last_from(found[0], json.loads(bytes(found[1])))


def _last_from(seq: int, event: dict[str, Any]) -> LastReview:
    extra = event.get("extra") or {}
    return LastReview(
        seq=seq,
        at=dt.datetime.fromisoformat(event["ts"]),
        by=event["actor"],
        version=str(extra.get("version", "")),
        digest=str(extra.get("digest", "")),
        notes=str(extra.get("notes", "")),
    )


def review_status(session: Session, policy: Policy, digest: str) -> ReviewStatus:
    """The review state of the policy in force, from the log and the deployments."""
    interval = policy.metadata.review_interval_days
    last = last_review(session)
    status = ReviewStatus(
        version=policy.metadata.version,
        digest=digest,
        interval_days=interval,
        last=last,
        due_by=None,
    )
    if last is not None:
        status.due_by = last.at.date() + dt.timedelta(days=interval)
    else:
        stated = _parse_date(policy.metadata.last_updated)
        if stated is None:
            status.problem = (
                f"no review recorded and metadata.last_updated ({policy.metadata.last_updated!r})"
                " is not a date (YYYY-MM-DD): the review is due now"
            )
        else:
            status.due_by = stated + dt.timedelta(days=interval)
    since = last.at if last is not None else None
    status.significant, status.significant_count = significant_since(session, policy, since)
    return status


def significant_since(
    session: Session, policy: Policy, since: dt.datetime | None
) -> tuple[list[dict[str, Any]], int]:
    """Deployments of significant changes (§9) after ``since`` (all of them when None): the
    newest ``MAX_REASONS`` with the reason each is significant, and their count."""
    from changegate.changes.models import Change
    from changegate.deployments.models import Deployment

    rules = policy.policy_review
    categories, components = set(rules.significant_categories), set(rules.significant_components)
    if not categories and not components:
        return [], 0
    stmt = (
        select(
            Deployment.id,
            Deployment.environment,
            Deployment.version,
            Deployment.created_at,
            Change.id,
            Change.category,
            Change.components,
            Change.title,
        )
        .join(Change, Change.id == Deployment.change_id)
        .where(Deployment.kind == "deploy", Deployment.environment.in_(rules.environments))
        .order_by(Deployment.id.desc())
    )
    if since is not None:
        stmt = stmt.where(Deployment.created_at > since)
    found: list[dict[str, Any]] = []
    count = 0
    for dep_id, env, version, at, change_id, category, comps, title in session.execute(stmt):
        reasons = _reasons(category, comps or [], categories, components)
        if not reasons:
            continue
        count += 1
        if len(found) < MAX_REASONS:
            found.append(
                {
                    "change": change_key(change_id),
                    "title": title,
                    "deployment": dep_id,
                    "environment": env,
                    "version": version,
                    "deployed_at": iso(at),
                    "reason": "; ".join(reasons),
                }
            )
    return found, count


def _reasons(
    category: str | None, comps: list[str], categories: set[str], components: set[str]
) -> list[str]:
    out = []
    if category in categories:
        out.append(f"category {category} is a significant change (policy_review)")
    touched = sorted(set(comps) & components)
    if touched:
        out.append(f"touches {', '.join(touched)} (policy_review.significant_components)")
    return out


def _parse_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def today() -> dt.date:
    return utcnow().date()
