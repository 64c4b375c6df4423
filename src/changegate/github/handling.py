"""The vocabulary of webhook handlers: what they receive, what they return, who acts.

A handler gets a ``Context`` (the transaction, the policy, the settings, the verified
delivery and the acting user) and returns an ``Outcome``: what it did, the change it did it
to, and ``FollowUp`` calls for GitHub to make after the transaction commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.keys import change_key
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.github.delivery import Delivery
from changegate.github.models import CommitLink, PullRequestLink
from changegate.github.settings import GitHubSettings
from changegate.policy.schema import Policy

#: the actor of what GitHub does when the GitHub login is not mapped to a changegate user
BOT = "github"


@dataclass(frozen=True)
class FollowUp:
    """A GitHub REST call to make once the transaction has committed."""

    kind: str  # protection_answer | commit_status
    data: dict[str, Any]


@dataclass
class Outcome:
    status: str  # processed | ignored | refused | answer_pending
    message: str
    change_id: int | None = None
    answer: dict[str, Any] | None = None
    followups: list[FollowUp] = field(default_factory=list)


@dataclass
class Context:
    session: Session
    policy: Policy
    settings: GitHubSettings
    delivery: Delivery
    actor: str


# -- people ------------------------------------------------------------------------------


def unmapped(login: str, what: str) -> str:
    return (
        f"{what} {login} is not mapped to a changegate user; map them with "
        f"`changegate user add NAME --github {login} --role ROLE`"
    )


def locked_change(session: Session, change_id: int) -> Change:
    from changegate.changes.service import get_change

    return get_change(session, change_key(change_id), lock=True)


def link_commit(
    ctx: Context, sha: str, change_id: int, *, kind: str, repository: str, reason: str
) -> bool:
    """Link a commit to a change; False when it already is. A ``merge`` link (the merge commit
    GitHub reported for the change's pull request) covers the commit at the gate; a
    ``reference`` (a commit message naming the change) is only shown. A reference the merge
    later turns out to be is raised to a merge link; a merge link is never lowered."""
    sha = sha.lower()
    link = ctx.session.scalar(
        select(CommitLink)
        .where(CommitLink.sha == sha, CommitLink.change_id == change_id)
        .with_for_update()
    )
    if link is not None:
        if link.kind == kind or kind != "merge":
            return False
        before = link.audit_state()
        link.kind = kind
        link.reason = reason[:300]
        record(ctx.session, events.CommitLinked, actor=ctx.actor, before=before, after=link)
        return True
    link = CommitLink(
        sha=sha,
        change_id=change_id,
        kind=kind,
        repository=repository[:200],
        reason=reason[:300],
        created_at=utcnow(),
    )
    ctx.session.add(link)
    event = events.CommitReferenced if kind == "reference" else events.CommitLinked
    record(ctx.session, event, actor=ctx.actor, after=link)
    return True


def answer_followups(answer: dict[str, Any]) -> list[FollowUp]:
    return [
        FollowUp("protection_answer", answer),
        FollowUp(
            "commit_status",
            {
                "owner": answer["owner"],
                "repo": answer["repo"],
                "sha": answer["sha"],
                "state": answer["status_state"],
                "context": answer["status_context"],
                "description": answer["status_description"],
                "target_url": answer.get("target_url"),
            },
        ),
    ]


def locked_link(session: Session, repository: str, number: int) -> PullRequestLink | None:
    """The pull request's link to its change, locked for this transaction."""
    return session.scalar(
        select(PullRequestLink)
        .where(PullRequestLink.repository == repository, PullRequestLink.number == number)
        .with_for_update()
    )
