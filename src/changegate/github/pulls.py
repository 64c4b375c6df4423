"""Pull requests: a PR's change from its template and changed files (the fields in
:mod:`changegate.github.pr_fields`, the files read in :mod:`changegate.github.pr_clone`), who
wrote its commits, and the merge commit linked to the change. Reviews are
:mod:`changegate.github.reviews`."""

from __future__ import annotations

import logging
import subprocess
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.from_git import set_classification
from changegate.changes.keys import change_key
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import ChangegateError
from changegate.github.handling import (
    Context,
    FollowUp,
    Outcome,
    link_commit,
    locked_change,
    locked_link,
    unmapped,
)
from changegate.github.models import PullRequestLink
from changegate.github.payloads import PullRequestEvent
from changegate.github.pr_clone import classify_pull_request, local_clone
from changegate.github.pr_fields import pr_fields
from changegate.github.pr_template import PullRequestBody, parse_pr_body
from changegate.policy.names import CLASS_NAMES
from changegate.row_state import update_row
from changegate.users.service import user_for_login

log = logging.getLogger("changegate.github")

#: the lifecycle states in which a pull request may still change its change
EDITABLE = ("draft", "submitted", "approved", "rejected")


def _changed_fields(change: Change, values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if getattr(change, key) != value}


def _status_followup(
    ctx: Context, repository: str, sha: str, change: Change, problems: list[str]
) -> FollowUp | None:
    if ctx.settings.token is None or "/" not in repository:
        return None
    owner, repo = repository.split("/", 1)
    if problems:
        state, description = "failure", f"{change.key}: {problems[0]}"
    elif change.state in ("approved", "deployed", "rolled_back", "closed"):
        state, description = "success", f"{change.key}: {change.state}"
    else:
        state, description = "pending", f"{change.key}: {change.state}, waiting for approval"
    return FollowUp(
        "commit_status",
        {
            "owner": owner,
            "repo": repo,
            "sha": sha,
            "state": state,
            "context": "changegate/change",
            "description": description,
            "target_url": ctx.settings.change_url(change.key),
        },
    )


def on_pull_request(ctx: Context) -> Outcome:
    event = ctx.delivery.payload
    assert isinstance(event, PullRequestEvent)
    if event.action == "closed":
        return _pull_request_closed(ctx, event)
    from changegate.changes.schemas import ChangeCreate, ChangeUpdate
    from changegate.changes.service import create_change, edit_change, missing_fields
    from changegate.changes.service import submit_change as submit

    session, policy = ctx.session, ctx.policy
    pr = event.pull_request
    repository = event.repository.full_name
    link = locked_link(session, repository, pr.number)
    change = locked_change(session, link.change_id) if link is not None else None
    author = user_for_login(session, pr.user.login)
    if change is None and author is None:
        return Outcome("ignored", unmapped(pr.user.login, "pull request author"))
    body = parse_pr_body(pr.body, classes=CLASS_NAMES)
    ranged, unclassified = classify_pull_request(policy, ctx.settings, repository, pr)
    fields = pr_fields(policy, pr, body, ranged, unclassified, change)
    said: list[str] = []
    if change is None:
        assert author is not None
        change = create_change(
            session,
            policy,
            ChangeCreate(author=author.name, **fields.values),
            placed=ranged is not None,
        )
        said.append(f"created {change.key} from pull request #{pr.number}")
    elif change.state not in EDITABLE:
        fields.problems.append(
            f"{change.key} is {change.state}: the pull request's changes no longer apply to it"
        )
        said.append(f"{change.key} left as is ({change.state})")
    if ranged is not None:
        set_classification(session, change, source="pull_request", result=ranged, actor=ctx.actor)
    if change.state in EDITABLE and not said:
        diff = _changed_fields(change, fields.values)
        if diff:
            had_approvals = _current_approvals(session, change)
            edit_change(
                session,
                policy,
                change,
                ChangeUpdate(**diff),
                actor=change.author,
                placed=ranged is not None,
            )
            said.append(f"updated {change.key}: {', '.join(sorted(diff))}")
            if had_approvals:
                said.append(
                    f"{had_approvals} approval(s) bound to the earlier content are now stale"
                )
        else:
            said.append(f"{change.key} unchanged")
    absent = missing_fields(policy, change)
    if absent and not fields.blocking:
        fields.problems.append(
            f"the policy requires for a {change.change_class} change: {', '.join(absent)}"
        )
    if change.state == "draft":
        if fields.blocking or absent:
            said.append("left as a draft until the pull request is complete")
        elif pr.draft:
            said.append("left as a draft while the pull request is a draft")
        else:
            submit(session, policy, change, actor=change.author)
            said.append(f"submitted ({change.state})")
    _record_identities(ctx, event, change)
    _save_link(ctx, link, event, change, body, fields.problems)
    if fields.problems:
        said.append("incomplete: " + "; ".join(fields.problems))
    status = _status_followup(ctx, repository, pr.head.sha, change, fields.problems)
    return Outcome(
        "processed",
        "; ".join(said),
        change_id=change.id,
        followups=[status] if status is not None else [],
    )


def _record_identities(ctx: Context, event: PullRequestEvent, change: Change) -> None:
    """Who wrote the pull request's code: the git author and committer of its commits (from
    the local clone), and whoever pushed its new head (``synchronize``'s sender)."""
    from changegate.scm.authors import Identity, record_from_repository, record_identities

    if change.state not in EDITABLE:
        return
    path = local_clone(ctx.settings, event.repository.full_name)
    if path is not None:
        try:
            record_from_repository(
                ctx.session, change, path, source="pull_request", actor=ctx.actor
            )
        except (ChangegateError, OSError, subprocess.SubprocessError) as exc:
            log.warning("reading commit authors from %s failed: %s", path, exc)
    if event.action == "synchronize":
        pusher = Identity(event.pull_request.head.sha, "pusher", login=event.sender.login)
        record_identities(ctx.session, change, [pusher], source="pull_request", actor=ctx.actor)


def _current_approvals(session: Session, change: Change) -> int:
    from changegate.reviews.models import Review

    digest = change.content_digest()
    return len(
        session.scalars(
            select(Review.id).where(
                Review.change_id == change.id,
                Review.verdict == "approve",
                Review.content_digest == digest,
            )
        ).all()
    )


def _save_link(
    ctx: Context,
    link: PullRequestLink | None,
    event: PullRequestEvent,
    change: Change,
    body: PullRequestBody,
    problems: list[str],
) -> PullRequestLink:
    pr = event.pull_request
    now = utcnow()
    values: dict[str, Any] = {
        "html_url": pr.html_url[:500],
        "author_login": pr.user.login[:100],
        "head_ref": pr.head.ref[:300],
        "head_sha": pr.head.sha.lower(),
        "base_ref": pr.base.ref[:300],
        "base_sha": pr.base.sha.lower(),
        "state": "open",
        "template_missing": list(body.missing),
        "problems": list(problems),
    }
    if link is None:
        link = PullRequestLink(
            change_id=change.id,
            repository=event.repository.full_name[:200],
            number=pr.number,
            created_at=now,
            updated_at=now,
            **values,
        )
        ctx.session.add(link)
        record(ctx.session, events.PullRequestLinked, actor=ctx.actor, after=link)
        return link
    before = update_row(link, values, now)
    if before is not None:
        record(ctx.session, events.PullRequestLinked, actor=ctx.actor, before=before, after=link)
    return link


def _pull_request_closed(ctx: Context, event: PullRequestEvent) -> Outcome:
    pr = event.pull_request
    repository = event.repository.full_name
    link = locked_link(ctx.session, repository, pr.number)
    if link is None:
        return Outcome("ignored", f"pull request #{pr.number} has no change record")
    before = link.audit_state()
    change = ctx.session.get(Change, link.change_id)
    covered = change is not None and pr.head.sha.lower() in (change.commits or [])
    if event.is_merged and pr.merge_commit_sha and not covered:
        # merged at a head that is not one of the change's commits (no `synchronize`
        # delivered, or the change was already deployed or closed and no longer follows its
        # pull request): the merge commit holds code the change was neither classified nor
        # reviewed for
        link.state = "merged"
        link.merge_commit_sha = pr.merge_commit_sha.lower()
        message = (
            f"merged at head {pr.head.sha[:12]}, which is not a commit of "
            f"{change_key(link.change_id)}: merge commit {pr.merge_commit_sha[:12]} recorded as a "
            "reference only, it opens no gate; file a change for what was merged"
        )
        link_commit(
            ctx,
            pr.merge_commit_sha,
            link.change_id,
            kind="reference",
            repository=repository,
            reason=(
                f"merge commit of pull request #{pr.number} at head {pr.head.sha[:12]}, not a "
                "commit of the change"
            ),
        )
    elif event.is_merged and pr.merge_commit_sha:
        link.state = "merged"
        link.merge_commit_sha = pr.merge_commit_sha.lower()
        message = f"merged: {pr.merge_commit_sha[:12]} linked to {change_key(link.change_id)}"
        link_commit(
            ctx,
            pr.merge_commit_sha,
            link.change_id,
            kind="merge",
            repository=repository,
            reason=f"merge commit of pull request #{pr.number}",
        )
    else:
        link.state = "closed"
        message = f"closed without merging; {change_key(link.change_id)} left as is"
    link.updated_at = utcnow()
    record(ctx.session, events.PullRequestLinked, actor=ctx.actor, before=before, after=link)
    return Outcome("processed", message, change_id=link.change_id)
