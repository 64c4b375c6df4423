"""Approvals and rejections, with segregation of duties enforced at the source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.lifecycle import next_state
from changegate.changes.models import Change
from changegate.changes.service import transition
from changegate.changes.status import evaluate_change
from changegate.db import utcnow
from changegate.errors import Conflict, InvalidInput, PolicyDenied
from changegate.policy import service as policy_service
from changegate.reviews.models import Review
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


def approve(
    session: Session, policy: Policy, change: Change, *, actor: str, comment: str = ""
) -> Review:
    user = get_user(session, actor)
    if change.state not in ("submitted", "approved"):
        next_state("approve", change.state, change.key)  # raises with the reason
    barred = author_bar(session, policy, change, user.name)
    if barred is not None:
        raise PolicyDenied(
            f"{barred} and may not approve it "
            f"(segregation of duties, §{policy.segregation_of_duties.section}); ask a peer",
            field="by",
        )
    policy_service.require(policy, user, "review.approve", doing="approve changes")
    evaluation = evaluate_change(session, policy, change)
    rules = {rule.id: rule for rule in policy.rules}
    wanted = {
        rules[r.rule_id].require.role or "" for r in evaluation.results if r.kind == "approval"
    }
    if wanted and not wanted & set(user.roles):
        raise PolicyDenied(
            f"{user.name} holds {', '.join(user.roles)}, but {change.key}'s approval requirements "
            f"ask for role {' or '.join(sorted(wanted))}",
            field="by",
        )
    digest = change.content_digest()
    duplicate = session.scalar(
        select(Review).where(
            Review.change_id == change.id,
            Review.reviewer == user.name,
            Review.verdict == "approve",
            Review.content_digest == digest,
        )
    )
    if duplicate is not None:
        raise Conflict(
            f"{user.name} has already approved this revision of {change.key}", field="by"
        )
    review = Review(
        change_id=change.id,
        reviewer=user.name,
        verdict="approve",
        comment=comment,
        content_digest=digest,
        roles=",".join(user.roles),
        created_at=utcnow(),
    )
    session.add(review)
    record(session, events.ApprovalRecorded, actor=user.name, after=review)
    if change.state == "submitted":
        evaluation = evaluate_change(session, policy, change)
        approvals = [r for r in evaluation.results if r.kind == "approval"]
        if approvals and all(r.met for r in approvals):
            transition(
                session,
                change,
                next_state("approve", change.state, change.key),
                actor=user.name,
                reason="approval requirements met",
            )
    return review


def author_bar(session: Session, policy: Policy, change: Change, name: str) -> str | None:
    """Why ``name`` counts as an author of ``change`` who may not approve it, or None: the
    change's author, or someone who authored, committed or pushed one of its commits."""
    if policy.segregation_of_duties.author_may_approve:
        return None
    if name == change.author:
        return f"{name} authored {change.key}"
    from changegate.scm.authors import commit_authors

    why = commit_authors(session, change).get(name)
    return None if why is None else f"{name} is an author of {change.key} ({why})"


def reject(session: Session, policy: Policy, change: Change, *, actor: str, comment: str) -> Review:
    user = get_user(session, actor)
    if not comment.strip():
        raise InvalidInput("a rejection needs --comment saying what to fix", field="comment")
    target = next_state("reject", change.state, change.key)
    if user.name == change.author:
        raise PolicyDenied(
            f"{user.name} authored {change.key}; withdraw it instead of rejecting it", field="by"
        )
    policy_service.require(policy, user, "review.approve", doing="review changes")
    review = Review(
        change_id=change.id,
        reviewer=user.name,
        verdict="reject",
        comment=comment,
        content_digest=change.content_digest(),
        roles=",".join(user.roles),
        created_at=utcnow(),
    )
    session.add(review)
    record(session, events.RejectionRecorded, actor=user.name, after=review)
    transition(session, change, target, actor=user.name, reason=comment)
    return review


def list_reviews(session: Session, change: Change) -> list[Review]:
    return list(
        session.scalars(select(Review).where(Review.change_id == change.id).order_by(Review.id))
    )
