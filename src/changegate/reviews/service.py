"""Approvals and rejections, with segregation of duties enforced at the source."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.lifecycle import next_state
from changegate.changes.models import Change
from changegate.changes.service import transition
from changegate.changes.status import approval_fact, collect_facts, held_roles
from changegate.db import insert_now, utcnow
from changegate.errors import (
    ChangegateError,
    Conflict,
    InvalidInput,
    PolicyDenied,
    SegregationOfDuties,
)
from changegate.policy import service as policy_service
from changegate.policy.engine import ChangeFacts, evaluate
from changegate.reviews.models import Review
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.policy.schema import Policy
    from changegate.users.models import User


def approval_refusal(
    session: Session,
    policy: Policy,
    change: Change,
    user: User,
    facts: ChangeFacts | None = None,
) -> ChangegateError | None:
    """Why ``user`` may not approve ``change`` now, as the error :func:`approve` raises, or
    None when they may. Nothing is written: the web page asks it to decide whether to offer
    the buttons and what to say instead. ``facts``: the change's, when already read."""
    if change.state not in ("submitted", "approved"):
        return _refused(lambda: next_state("approve", change.state, change.key))
    barred = author_bar(session, policy, change, user.name, facts)
    if barred is not None:
        return SegregationOfDuties(
            f"{barred} and may not approve it "
            f"(segregation of duties, §{policy.segregation_of_duties.section}); ask a peer",
            field="by",
        )
    refusal = _refused(
        lambda: policy_service.require(policy, user, "review.approve", doing="approve changes")
    )
    if refusal is not None:
        return refusal
    wanted = wanted_roles(session, policy, change, facts)
    if wanted and not wanted & set(user.roles):
        return PolicyDenied(
            f"{user.name} holds {', '.join(user.roles)}, but {change.key}'s approval requirements "
            f"ask for role {' or '.join(sorted(wanted))}",
            field="by",
        )
    if facts is not None:  # its approvals were read with the change: no second query
        duplicate = any(a.approver == user.name and a.current for a in facts.approvals)
    else:
        duplicate = (
            session.scalar(
                select(Review.id).where(
                    Review.change_id == change.id,
                    Review.reviewer == user.name,
                    Review.verdict == "approve",
                    Review.content_digest == change.content_digest(),
                )
            )
            is not None
        )
    if duplicate:
        return Conflict(
            f"{user.name} has already approved this revision of {change.key}", field="by"
        )
    return None


def wanted_roles(
    session: Session, policy: Policy, change: Change, facts: ChangeFacts | None = None
) -> set[str]:
    """The roles the change's approval requirements ask for."""
    evaluation = evaluate(policy, facts or collect_facts(session, change), now=utcnow())
    rules = {rule.id: rule for rule in policy.rules}
    return {rules[r.rule_id].require.role or "" for r in evaluation.results if r.kind == "approval"}


def approve(
    session: Session, policy: Policy, change: Change, *, actor: str, comment: str = ""
) -> Review:
    user = get_user(session, actor)
    facts = collect_facts(session, change)  # read once, under the change's lock
    refusal = approval_refusal(session, policy, change, user, facts)
    if refusal is not None:
        raise refusal
    digest = change.content_digest()
    review = Review(
        change_id=change.id,
        reviewer=user.name,
        verdict="approve",
        comment=comment,
        content_digest=digest,
        roles=",".join(user.roles),
        created_at=utcnow(),
    )
    insert_now(session, review)
    record(session, events.ApprovalRecorded, actor=user.name, after=review)
    if change.state == "submitted":
        # the facts read above, with this approval: nothing else changed under the lock
        fact = approval_fact(review, held_roles(user), digest)
        with_it = replace(facts, approvals=(*facts.approvals, fact))
        evaluation = evaluate(policy, with_it, now=utcnow())
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


def author_bar(
    session: Session, policy: Policy, change: Change, name: str, facts: ChangeFacts | None = None
) -> str | None:
    """Why ``name`` counts as an author of ``change`` who may not approve it, or None: the
    change's author, or someone who authored, committed or pushed one of its commits.
    ``facts``: the change's, read in this transaction; their commit authors are the names
    :func:`commit_authors` gives, so a name not among them needs no second read."""
    if policy.segregation_of_duties.author_may_approve:
        return None
    if name == change.author:
        return f"{name} authored {change.key}"
    if facts is not None and name not in facts.commit_authors:
        return None
    from changegate.scm.authors import commit_authors

    why = commit_authors(session, change).get(name)
    return None if why is None else f"{name} is an author of {change.key} ({why})"


def rejection_refusal(policy: Policy, change: Change, user: User) -> ChangegateError | None:
    """Why ``user`` may not reject ``change`` now, as the error :func:`reject` raises, or
    None when they may."""
    refusal = _refused(lambda: next_state("reject", change.state, change.key))
    if refusal is not None:
        return refusal
    if user.name == change.author:
        return SegregationOfDuties(
            f"{user.name} authored {change.key}; withdraw it instead of rejecting it", field="by"
        )
    return _refused(
        lambda: policy_service.require(policy, user, "review.approve", doing="review changes")
    )


def _refused(check: Callable[[], object]) -> ChangegateError | None:
    """The domain error ``check`` raises, returned instead, or None."""
    try:
        check()
    except ChangegateError as exc:
        return exc
    return None


def reject(session: Session, policy: Policy, change: Change, *, actor: str, comment: str) -> Review:
    user = get_user(session, actor)
    if not comment.strip():
        raise InvalidInput("a rejection needs --comment saying what to fix", field="comment")
    refusal = rejection_refusal(policy, change, user)
    if refusal is not None:
        raise refusal
    target = next_state("reject", change.state, change.key)
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
