"""GitHub pull request reviews: an approval of the pull request's head approves its change;
a dismissal or a request for changes withdraws the reviewer's approvals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.models import Change
from changegate.github.handling import Context, Outcome, locked_change, locked_link, unmapped
from changegate.github.payloads import PullRequestReviewEvent
from changegate.users.service import user_for_login

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


def on_review(ctx: Context) -> Outcome:
    from changegate.reviews.service import approve

    event = ctx.delivery.payload
    assert isinstance(event, PullRequestReviewEvent)
    session = ctx.session
    link = locked_link(session, event.repository.full_name, event.pull_request.number)
    if link is None:
        return Outcome("ignored", f"pull request #{event.pull_request.number} has no change record")
    review = event.review
    login = review.user.login if review.user is not None else None
    reviewer = user_for_login(session, login)
    if reviewer is None:
        return Outcome(
            "ignored", unmapped(login or "(deleted account)", "reviewer"), change_id=link.change_id
        )
    change = locked_change(session, link.change_id)
    if event.is_approval:
        if review.commit_id.lower() != link.head_sha:
            return Outcome(
                "refused",
                f"{reviewer.name}'s approval is on commit {review.commit_id[:12]}, but the pull "
                f"request's head is {link.head_sha[:12]}: an approval of earlier code does not "
                f"count for {change.key}",
                change_id=change.id,
            )
        comment = f"GitHub review {review.html_url}"
        if review.body:
            comment += f": {review.body.strip()}"
        approve(session, ctx.policy, change, actor=reviewer.name, comment=comment[:2000])
        return Outcome(
            "processed",
            f"{reviewer.name} approved {change.key} ({change.state})",
            change_id=change.id,
        )
    if event.is_dismissal or (event.action == "submitted" and review.state == "changes_requested"):
        why = "review dismissed" if event.is_dismissal else "changes requested"
        withdrawn = withdraw_approvals(
            session, ctx.policy, change, reviewer=reviewer.name, actor=ctx.actor, reason=why
        )
        return Outcome(
            "processed",
            f"{why} by {reviewer.name}: {withdrawn} approval(s) of {change.key} withdrawn "
            f"({change.state})",
            change_id=change.id,
        )
    return Outcome("ignored", f"review {review.state}: nothing to do", change_id=change.id)


def withdraw_approvals(
    session: Session, policy: Policy, change: Change, *, reviewer: str, actor: str, reason: str
) -> int:
    """Withdraw ``reviewer``'s approvals of ``change``; they no longer count. An approved
    change whose approval requirements are then unmet goes back to submitted."""
    from changegate.changes.service import transition
    from changegate.changes.status import evaluate_change
    from changegate.reviews.models import Review

    rows = session.scalars(
        select(Review).where(
            Review.change_id == change.id,
            Review.reviewer == reviewer,
            Review.verdict == "approve",
        )
    ).all()
    for review in rows:
        before = review.audit_state()
        review.verdict = "withdrawn"
        record(
            session,
            events.ApprovalWithdrawn,
            actor=actor,
            before=before,
            after=review,
            extra={"reason": reason},
        )
    if rows and change.state == "approved":
        evaluation = evaluate_change(session, policy, change)
        approvals = [r for r in evaluation.results if r.kind == "approval"]
        if not all(r.met for r in approvals):
            transition(session, change, "submitted", actor=actor, reason=f"{reason} on GitHub")
    return len(rows)
