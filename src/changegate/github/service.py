"""What a GitHub webhook delivery does to the record.

``handle_delivery`` runs in the caller's transaction: it stores the delivery (its id is the
idempotency key), acts on the event and records what it did, all or nothing. What must go
to GitHub (a deployment protection rule answer, commit statuses) is returned as
``FollowUp`` calls for the entry point to make after the transaction has committed, so
GitHub never hears of a decision the record does not hold. A protection rule answer that
could not be sent leaves the delivery ``answer_pending``; GitHub's redelivery of it sends
the stored answer again.

Who acts: the changegate user whose GitHub login sent the event, or ``github`` when the
login is not mapped. A pull request's change is written as its author (PR authors must be
mapped users); an approving review counts only for a mapped reviewer, and the reviews
service applies every segregation-of-duties rule to it as to any approval.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import ChangegateError, InvalidInput
from changegate.github.delivery import Delivery
from changegate.github.models import CommitLink, GitHubDeployment, PullRequestLink, WebhookDelivery
from changegate.github.payloads import (
    HANDLED_ACTIONS,
    DeploymentEvent,
    DeploymentProtectionRuleEvent,
    DeploymentStatusEvent,
    PullRequest,
    PullRequestEvent,
    PullRequestReviewEvent,
    PushEvent,
    Repository,
)
from changegate.github.pr_template import PullRequestBody, parse_pr_body
from changegate.github.settings import GitHubSettings
from changegate.policy.schema import CLASS_NAMES, Policy
from changegate.scm.gitrepo import GitRepo
from changegate.scm.service import RangeResult, classify_range, set_classification
from changegate.users.models import User

log = logging.getLogger("changegate.github")

BOT = "github"
_CHANGE_KEY = re.compile(r"\bCHG-(\d+)\b")
_MERGE_SUBJECT = re.compile(r"\AMerge pull request #(\d+) from ")
_SQUASH_SUBJECT = re.compile(r"\(#(\d+)\)\s*\Z")
_PROVIDERS = re.compile(r"^\s*(?:[-*]\s+)?\**providers?\**\s*:\s*(.+?)\s*$", re.I | re.M)
#: the lifecycle states in which a pull request may still change its change
EDITABLE = ("draft", "submitted", "approved", "rejected")


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


@dataclass(frozen=True)
class WebhookResult:
    delivery: str
    event: str
    action: str
    status: str  # the outcome's status, or duplicate / ignored for what is not stored
    outcome: str
    change: str | None = None
    followups: tuple[FollowUp, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "delivery": self.delivery,
            "event": self.event,
            "action": self.action,
            "status": self.status,
            "outcome": self.outcome,
            "change": self.change,
        }


@dataclass
class Context:
    session: Session
    policy: Policy
    settings: GitHubSettings
    delivery: Delivery
    actor: str


# -- people ------------------------------------------------------------------------------


def user_for_login(session: Session, login: str | None) -> User | None:
    """The active changegate user mapped to a GitHub login (`user add NAME --github LOGIN`)."""
    if not login:
        return None
    user = session.scalar(select(User).where(User.github_login == login))
    if user is None:
        user = session.scalar(select(User).where(User.github_login.ilike(login)))
    return user if user is not None and user.active else None


def resolve_person(session: Session, name: str) -> str:
    """A changegate user name, or the user mapped to ``name`` as a GitHub login; else as is."""
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        return name
    user = user_for_login(session, name)
    return user.name if user is not None else name


def _unmapped(login: str, what: str) -> str:
    return (
        f"{what} {login} is not mapped to a changegate user; map them with "
        f"`changegate user add NAME --github {login} --role ROLE`"
    )


# -- entry point -------------------------------------------------------------------------


def _action(delivery: Delivery) -> str:
    return str(getattr(delivery.payload, "action", "") or "")


def _repository(delivery: Delivery) -> str:
    repo = getattr(delivery.payload, "repository", None)
    return repo.full_name if isinstance(repo, Repository) else ""


def acts_on(delivery: Delivery) -> bool:
    """Whether changegate acts on this event and action (otherwise: acknowledge, ignore)."""
    if delivery.payload is None or delivery.event == "ping":
        return False
    actions = HANDLED_ACTIONS.get(delivery.event)
    return actions is None or _action(delivery) in actions


def handle_delivery(
    session: Session, policy: Policy, delivery: Delivery, settings: GitHubSettings
) -> WebhookResult:
    """Store the delivery, act on it and record what it did, in the caller's transaction."""
    action = _action(delivery)
    existing = session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery.delivery_id)
    )
    if existing is not None:
        return _redelivered(existing, delivery)
    if not acts_on(delivery):
        what = "pong" if delivery.event == "ping" else "ignored"
        return WebhookResult(
            delivery.delivery_id,
            delivery.event,
            action,
            what,
            f"{delivery.event}{'.' + action if action else ''}: nothing to do",
        )
    sender = getattr(delivery.payload, "sender", None)
    mapped = user_for_login(session, getattr(sender, "login", None))
    now = utcnow()
    row = WebhookDelivery(
        delivery_id=delivery.delivery_id[:100],
        event=delivery.event[:60],
        action=action[:60],
        repository=_repository(delivery)[:200],
        status="processing",
        outcome="",
        received_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()  # the unique delivery id: a concurrent duplicate fails here
    ctx = Context(session, policy, settings, delivery, mapped.name if mapped else BOT)
    handler = HANDLERS[delivery.event]
    savepoint = session.begin_nested()
    try:
        outcome = handler(ctx)
        savepoint.commit()
    except ChangegateError as exc:
        savepoint.rollback()
        outcome = Outcome("refused", exc.message)
    row.status = outcome.status
    row.outcome = outcome.message[:4000]
    row.change_id = outcome.change_id
    row.answer = outcome.answer
    row.updated_at = utcnow()
    record(session, events.GitHubDeliveryProcessed, actor=ctx.actor, after=row)
    return WebhookResult(
        delivery.delivery_id,
        delivery.event,
        action,
        outcome.status,
        outcome.message,
        None if outcome.change_id is None else f"CHG-{outcome.change_id}",
        tuple(outcome.followups),
    )


def _redelivered(existing: WebhookDelivery, delivery: Delivery) -> WebhookResult:
    change = None if existing.change_id is None else f"CHG-{existing.change_id}"
    if existing.status == "answer_pending" and existing.answer:
        return WebhookResult(
            delivery.delivery_id,
            existing.event,
            existing.action,
            "answer_pending",
            existing.outcome,
            change,
            tuple(answer_followups(existing.answer)),
        )
    return WebhookResult(
        delivery.delivery_id,
        existing.event,
        existing.action,
        "duplicate",
        f"already processed: {existing.outcome}",
        change,
    )


def mark_answered(session: Session, delivery_id: str, *, sent: str) -> None:
    """Record that the protection rule answer of a delivery reached GitHub."""
    row = session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.delivery_id == delivery_id).with_for_update()
    )
    if row is None or row.status != "answer_pending":
        return
    before = row.audit_state()
    row.status = "processed"
    row.outcome = f"{row.outcome}; answered GitHub: {sent}"[:4000]
    row.updated_at = utcnow()
    record(session, events.GitHubProtectionRuleAnswered, actor=BOT, before=before, after=row)


# -- pull requests -----------------------------------------------------------------------


def _link(session: Session, repository: str, number: int) -> PullRequestLink | None:
    return session.scalar(
        select(PullRequestLink)
        .where(PullRequestLink.repository == repository, PullRequestLink.number == number)
        .with_for_update()
    )


def _change(session: Session, change_id: int) -> Change:
    from changegate.changes.service import get_change

    return get_change(session, f"CHG-{change_id}", lock=True)


def local_clone(settings: GitHubSettings, repository: str) -> Path | None:
    for name, path in settings.repositories.items():
        if name.lower() == repository.lower():
            return Path(path)
    return None


def _has_commit(path: Path, sha: str) -> bool:
    result = subprocess.run(
        ["git", "-C", str(path), "cat-file", "-e", f"{sha}^{{commit}}"],
        capture_output=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        check=False,
    )
    return result.returncode == 0


def _fetch(path: Path) -> str | None:
    """Fetch branches and pull request heads from ``origin``; the error, if any."""
    result = subprocess.run(
        [
            "git",
            "-C",
            str(path),
            "fetch",
            "--quiet",
            "--no-tags",
            "origin",
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/pull/*/head:refs/remotes/origin/pr/*",
        ],
        capture_output=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        return lines[0] if lines else f"git fetch exited {result.returncode}"
    return None


def classify_pull_request(
    policy: Policy, settings: GitHubSettings, repository: str, pr: PullRequest
) -> tuple[RangeResult | None, str | None]:
    """Classify what the PR changes (``base...head`` in the local clone), or say why not."""
    path = local_clone(settings, repository)
    if path is None:
        return None, (
            f"Changed files: no local clone of {repository} is configured "
            "(CHANGEGATE_GITHUB_REPOSITORIES), so the class cannot be checked against the "
            "policy's path rules"
        )
    shas = (pr.base.sha, pr.head.sha)
    try:
        repo = GitRepo(path)
        if not all(_has_commit(path, sha) for sha in shas) and settings.fetch:
            error = _fetch(path)
            if error is not None:
                log.warning("fetching %s into %s failed: %s", repository, path, error)
        missing = [sha[:12] for sha in shas if not _has_commit(path, sha)]
        if missing:
            return None, (
                f"Changed files: commit {', '.join(missing)} is not in the clone at {path}; "
                "fetch it there (git fetch origin)"
            )
        return classify_range(policy, repo, f"{pr.base.sha}...{pr.head.sha}"), None
    except (ChangegateError, OSError, subprocess.SubprocessError) as exc:
        return None, f"Changed files: cannot be read from {path}: {exc}"


def _policy_dimension(policy: Policy, key: str) -> str | None:
    if key in policy.risk.dimensions:
        return key
    head = key.split("_")[0]
    return head if head in policy.risk.dimensions else None


def _providers(body: str | None) -> list[str]:
    match = _PROVIDERS.search(body or "")
    if match is None:
        return []
    return [p.strip().lower() for p in re.split(r"[,;]", match.group(1)) if p.strip()]


@dataclass
class PrFields:
    values: dict[str, Any]
    problems: list[str]
    blocking: bool  # the change may not be submitted while these problems stand


def pr_fields(
    policy: Policy,
    pr: PullRequest,
    body: PullRequestBody,
    ranged: RangeResult | None,
    unclassified: str | None,
    current: Change | None,
) -> PrFields:
    """The change fields a pull request gives, and what keeps the change incomplete."""
    from changegate.scm.service import category_fits, classify_for_policy

    problems = list(body.problems)
    blocking = bool(body.missing)
    if unclassified:
        problems.append(unclassified)
        blocking = True
    requested = body.change_class
    floor = ranged.policy.minimum_class if ranged is not None else None
    change_class = requested or floor or (current.change_class if current else "normal")
    if floor is not None and CLASS_NAMES.index(change_class) < CLASS_NAMES.index(floor):
        problems.append(
            f"Class: {change_class!r} is below {floor!r}, the minimum the changed files require; "
            f"the change is {floor}"
        )
        change_class = floor
    values: dict[str, Any] = {
        "title": (pr.title or f"Pull request #{pr.number}")[:300],
        "description": body.description or "",
        "change_class": change_class,
        "rollback_plan": body.rollback_plan or "",
        "justification": body.justification or "",
    }
    risk: dict[str, dict[str, str]] = {}
    for key, assessment in body.risk.items():
        dimension = _policy_dimension(policy, key)
        if dimension is not None and assessment.level in policy.risk.levels:
            risk[dimension] = {"level": assessment.level, "note": assessment.notes}
    values["risk"] = risk
    links = list(current.links) if current is not None else []
    values["links"] = list(dict.fromkeys([*links, pr.html_url]))
    commits = list(ranged.commits) if ranged is not None else []
    if pr.head.sha.lower() not in commits:
        commits.append(pr.head.sha.lower())
    values["commits"] = commits
    providers = _providers(pr.body)
    if providers:
        values["providers"] = providers
    components = list(current.components) if current is not None else []
    security = bool(current.security_flag) if current is not None else False
    category = current.category if current is not None else None
    if ranged is not None:
        classified = classify_for_policy(
            policy, ranged.policy.classification, requested_class=change_class
        )
        components = list(dict.fromkeys([*components, *classified.components]))
        security = security or classified.security_impacting
        category = classified.category
        problems.extend(f"Classification: {note}" for note in classified.notes)
    if category is not None and not category_fits(policy, category, change_class):
        category = None
    values["components"] = components
    values["security_flag"] = security
    values["category"] = category
    return PrFields(values=values, problems=problems, blocking=blocking)


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
    link = _link(session, repository, pr.number)
    change = _change(session, link.change_id) if link is not None else None
    author = user_for_login(session, pr.user.login)
    if change is None and author is None:
        return Outcome("ignored", _unmapped(pr.user.login, "pull request author"))
    body = parse_pr_body(pr.body, classes=CLASS_NAMES)
    ranged, unclassified = classify_pull_request(policy, ctx.settings, repository, pr)
    fields = pr_fields(policy, pr, body, ranged, unclassified, change)
    said: list[str] = []
    if change is None:
        assert author is not None
        change = create_change(session, policy, ChangeCreate(author=author.name, **fields.values))
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
            edit_change(session, policy, change, ChangeUpdate(**diff), actor=change.author)
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
    if all(getattr(link, key) == value for key, value in values.items()):
        return link
    before = link.audit_state()
    for key, value in values.items():
        setattr(link, key, value)
    link.updated_at = now
    record(ctx.session, events.PullRequestLinked, actor=ctx.actor, before=before, after=link)
    return link


def _link_commit(
    ctx: Context, sha: str, change_id: int, *, kind: str, repository: str, reason: str
) -> bool:
    """Link a landed commit to a change; False when it already is."""
    sha = sha.lower()
    exists = ctx.session.scalar(
        select(CommitLink.id).where(CommitLink.sha == sha, CommitLink.change_id == change_id)
    )
    if exists is not None:
        return False
    link = CommitLink(
        sha=sha,
        change_id=change_id,
        kind=kind,
        repository=repository[:200],
        reason=reason[:300],
        created_at=utcnow(),
    )
    ctx.session.add(link)
    record(ctx.session, events.CommitLinked, actor=ctx.actor, after=link)
    return True


def _pull_request_closed(ctx: Context, event: PullRequestEvent) -> Outcome:
    pr = event.pull_request
    repository = event.repository.full_name
    link = _link(ctx.session, repository, pr.number)
    if link is None:
        return Outcome("ignored", f"pull request #{pr.number} has no change record")
    before = link.audit_state()
    if event.is_merged and pr.merge_commit_sha:
        link.state = "merged"
        link.merge_commit_sha = pr.merge_commit_sha.lower()
        message = f"merged: {pr.merge_commit_sha[:12]} linked to CHG-{link.change_id}"
        _link_commit(
            ctx,
            pr.merge_commit_sha,
            link.change_id,
            kind="merge",
            repository=repository,
            reason=f"merge commit of pull request #{pr.number}",
        )
    else:
        link.state = "closed"
        message = f"closed without merging; CHG-{link.change_id} left as is"
    link.updated_at = utcnow()
    record(ctx.session, events.PullRequestLinked, actor=ctx.actor, before=before, after=link)
    return Outcome("processed", message, change_id=link.change_id)


# -- reviews -----------------------------------------------------------------------------


def on_review(ctx: Context) -> Outcome:
    from changegate.reviews.service import approve

    event = ctx.delivery.payload
    assert isinstance(event, PullRequestReviewEvent)
    session = ctx.session
    link = _link(session, event.repository.full_name, event.pull_request.number)
    if link is None:
        return Outcome("ignored", f"pull request #{event.pull_request.number} has no change record")
    review = event.review
    login = review.user.login if review.user is not None else None
    reviewer = user_for_login(session, login)
    if reviewer is None:
        return Outcome(
            "ignored", _unmapped(login or "(deleted account)", "reviewer"), change_id=link.change_id
        )
    change = _change(session, link.change_id)
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


# -- pushes ------------------------------------------------------------------------------


def on_push(ctx: Context) -> Outcome:
    from changegate.scm.service import changes_for_commit

    event = ctx.delivery.payload
    assert isinstance(event, PushEvent)
    if not event.to_default_branch:
        return Outcome("ignored", f"push to {event.ref}: not the default branch")
    repository = event.repository.full_name
    linked: list[str] = []
    known: list[str] = []
    unlinked: list[str] = []
    last_change: int | None = None
    for commit in event.commits:
        sha = commit.id.lower()
        if changes_for_commit(ctx.session, sha):
            known.append(sha[:12])
            continue
        change_id, reason = _change_named_by(ctx.session, repository, commit.message)
        if change_id is None:
            unlinked.append(sha[:12])
            continue
        _link_commit(ctx, sha, change_id, kind="push", repository=repository, reason=reason)
        linked.append(f"{sha[:12]} to CHG-{change_id}")
        last_change = change_id
    parts = [f"push of {len(event.commits)} commit(s) to {event.branch}"]
    if linked:
        parts.append("linked " + ", ".join(linked))
    if known:
        parts.append(f"{len(known)} already linked")
    if unlinked:
        parts.append(
            f"{len(unlinked)} without a change record ({', '.join(unlinked)}); "
            "`changegate audit git` reports them"
        )
    return Outcome("processed", "; ".join(parts), change_id=last_change)


def _change_named_by(session: Session, repository: str, message: str) -> tuple[int | None, str]:
    subject = message.splitlines()[0] if message else ""
    for pattern, how in ((_MERGE_SUBJECT, "merge"), (_SQUASH_SUBJECT, "squash merge")):
        match = pattern.search(subject)
        if match is not None:
            number = int(match.group(1))
            link = session.scalar(
                select(PullRequestLink).where(
                    PullRequestLink.repository == repository, PullRequestLink.number == number
                )
            )
            if link is not None:
                return link.change_id, f"{how} of pull request #{number}"
    match = _CHANGE_KEY.search(message)
    if match is not None:
        change_id = int(match.group(1))
        if session.get(Change, change_id) is not None:
            return change_id, f"the commit message names CHG-{change_id}"
    return None, ""


# -- deployments -------------------------------------------------------------------------


def _linked_change_id(session: Session, sha: str) -> int | None:
    from changegate.scm.service import NoLinkedChange, find_change_by_commit

    try:
        return find_change_by_commit(session, sha).change.id
    except (NoLinkedChange, InvalidInput):
        return None


def _deployment_row(
    ctx: Context, event: DeploymentEvent | DeploymentStatusEvent
) -> tuple[GitHubDeployment, dict[str, Any] | None]:
    deployment = event.deployment
    row = ctx.session.scalar(
        select(GitHubDeployment)
        .where(GitHubDeployment.github_id == deployment.id)
        .with_for_update()
    )
    if row is not None:
        return row, row.audit_state()
    now = utcnow()
    row = GitHubDeployment(
        github_id=deployment.id,
        repository=event.repository.full_name[:200],
        sha=deployment.sha.lower(),
        ref=(deployment.ref or "")[:300],
        environment=deployment.environment[:100],
        creator_login=(deployment.creator.login if deployment.creator else "")[:100],
        state="created",
        change_id=_linked_change_id(ctx.session, deployment.sha),
        created_at=now,
        updated_at=now,
    )
    ctx.session.add(row)
    return row, None


def on_deployment(ctx: Context) -> Outcome:
    event = ctx.delivery.payload
    assert isinstance(event, DeploymentEvent)
    row, before = _deployment_row(ctx, event)
    if before is not None:
        return Outcome(
            "processed", f"deployment {row.github_id} already recorded", change_id=row.change_id
        )
    record(ctx.session, events.GitHubDeploymentRecorded, actor=ctx.actor, after=row)
    which = f"CHG-{row.change_id}" if row.change_id else "no change record"
    return Outcome(
        "processed",
        f"deployment {row.github_id} of {row.sha[:12]} to {row.environment} recorded ({which})",
        change_id=row.change_id,
    )


def on_deployment_status(ctx: Context) -> Outcome:
    event = ctx.delivery.payload
    assert isinstance(event, DeploymentStatusEvent)
    row, before = _deployment_row(ctx, event)
    state = event.deployment_status.state[:30]
    row.state = state
    row.updated_at = utcnow()
    message = f"deployment {row.github_id} of {row.sha[:12]} to {row.environment}: {state}"
    if state == "success" and row.gate_passed is None:
        passed, detail = _record_success(ctx, row, event)
        row.gate_passed = passed
        message += f"; {detail}"
    if before is None:
        record(ctx.session, events.GitHubDeploymentRecorded, actor=ctx.actor, after=row)
    else:
        record(
            ctx.session, events.GitHubDeploymentRecorded, actor=ctx.actor, before=before, after=row
        )
    return Outcome("processed", message, change_id=row.change_id)


def _record_success(
    ctx: Context, row: GitHubDeployment, event: DeploymentStatusEvent
) -> tuple[bool, str]:
    """A deployment went out: record it against its change through the gate."""
    from changegate.deployments.models import GateDecision
    from changegate.deployments.service import current_deployment, deploy

    session, policy = ctx.session, ctx.policy
    if row.change_id is None:
        row.change_id = _linked_change_id(session, row.sha)
    if row.change_id is None:
        return False, "deployed without a change record"
    change = _change(session, row.change_id)
    if row.environment not in policy.deploy.environments:
        return False, (
            f"environment {row.environment} is not one of the policy's "
            f"({', '.join(policy.deploy.environments)}): no gate could pass for it"
        )
    last = session.scalar(
        select(GateDecision)
        .where(GateDecision.change_id == change.id, GateDecision.environment == row.environment)
        .order_by(GateDecision.id.desc())
        .limit(1)
    )
    if current_deployment(session, change, row.environment) is not None:
        passed = last is not None and last.passed
        return passed, f"{change.key} already recorded as deployed to {row.environment}"
    creator = user_for_login(session, row.creator_login) or user_for_login(
        session, event.sender.login
    )
    deployer = (
        last.deployer
        if last is not None and last.passed
        else (creator.name if creator is not None else BOT)
    )
    result = deploy(
        session,
        policy,
        change,
        env=row.environment,
        version=f"{row.ref or 'sha'}@{row.sha[:12]}",
        actor=deployer,
    )
    if result.deployment is None:
        unmet = "; ".join(f"{r.rule_id}: {r.reason}" for r in result.gate.unmet)
        return False, f"deployed WITHOUT a passing gate for {change.key} ({unmet})"
    row.deployment_id = result.deployment.id
    return True, f"{change.key} recorded as deployed by {deployer} (gate passed)"


def on_protection_rule(ctx: Context) -> Outcome:
    """Evaluate the gate for the held job's commit and environment; answer GitHub after
    the transaction commits."""
    from changegate.deployments.service import gate
    from changegate.github.client import format_gate_comment
    from changegate.scm.service import NoLinkedChange, find_change_by_commit

    event = ctx.delivery.payload
    assert isinstance(event, DeploymentProtectionRuleEvent)
    session = ctx.session
    sha = (event.commit_sha or "").lower()
    environment = event.environment
    deployer = ctx.actor
    change: Change | None = None
    unmet: list[str] = []
    passed = False
    try:
        change = find_change_by_commit(session, sha, lock=True).change
    except NoLinkedChange:
        change = None
    except InvalidInput as exc:
        unmet.append(exc.message)
    if change is not None:
        try:
            result = gate(session, ctx.policy, change, env=environment, deployer=deployer)
        except InvalidInput as exc:
            unmet.append(exc.message)
        else:
            passed = result.passed
            unmet = [f"{r.rule_id}: {r.reason}" for r in result.unmet]
        link = session.scalar(
            select(PullRequestLink).where(PullRequestLink.change_id == change.id).limit(1)
        )
        if link is not None and not passed:
            unmet.extend(f"pull request #{link.number}: {p}" for p in link.problems)
    key = change.key if change is not None else None
    details = ctx.settings.change_url(key) if key else None
    comment = format_gate_comment(
        passed=passed, environment=environment, unmet=unmet, change_id=key, details_url=details
    )
    state = "approved" if passed else "rejected"
    owner, repo = event.owner, event.repo
    if passed:
        description = f"{key}: gate passed for {environment}"
    elif key is None:
        description = "no change record is linked to this commit"
    else:
        description = f"{key}: {len(unmet)} requirement(s) unmet for {environment}"
    answer = {
        "callback_url": event.deployment_callback_url,
        "environment": environment,
        "state": state,
        "comment": comment,
        "owner": owner,
        "repo": repo,
        "sha": sha,
        "status_state": "success" if passed else "failure",
        "status_context": f"changegate/gate: {environment}",
        "status_description": description,
        "target_url": details,
    }
    message = f"gate for {sha[:12]} → {environment} ({deployer}): {state}" + (
        f" ({key})" if key else " (no change record)"
    )
    return Outcome(
        "answer_pending",
        message,
        change_id=change.id if change is not None else None,
        answer=answer,
        followups=answer_followups(answer),
    )


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


HANDLERS: dict[str, Callable[[Context], Outcome]] = {
    "pull_request": on_pull_request,
    "pull_request_review": on_review,
    "push": on_push,
    "deployment": on_deployment,
    "deployment_status": on_deployment_status,
    "deployment_protection_rule": on_protection_rule,
}


# -- calls to GitHub after the commit ----------------------------------------------------


@dataclass(frozen=True)
class FollowUpReport:
    answered: bool  # a protection rule answer reached GitHub
    errors: tuple[str, ...]
    sent: tuple[str, ...]


def run_followups(
    settings: GitHubSettings,
    followups: tuple[FollowUp, ...],
    *,
    client_factory: Callable[[str, str], Any] | None = None,
) -> FollowUpReport:
    """Make the GitHub calls a delivery asked for; report what went out and what failed."""
    from changegate.github.client import GitHubClient

    if not followups:
        return FollowUpReport(False, (), ())
    if settings.token is None:
        return FollowUpReport(
            False,
            (
                "CHANGEGATE_GITHUB_TOKEN is not set: set it to the GitHub App's installation "
                "token and redeliver this event",
            ),
            (),
        )
    make = client_factory or (lambda token, base: GitHubClient(token, base_url=base))
    errors: list[str] = []
    sent: list[str] = []
    answered = False
    client = make(settings.token.get_secret_value(), settings.api_url)
    try:
        for follow in followups:
            data = follow.data
            try:
                if follow.kind == "protection_answer":
                    client.answer_deployment_callback(
                        data["callback_url"],
                        environment_name=data["environment"],
                        state=data["state"],
                        comment=data["comment"],
                    )
                    answered = True
                    sent.append(f"protection rule {data['state']} for {data['environment']}")
                elif follow.kind == "commit_status":
                    client.create_commit_status(
                        data["owner"],
                        data["repo"],
                        data["sha"],
                        state=data["state"],
                        context=data["context"],
                        description=data["description"],
                        target_url=data.get("target_url"),
                    )
                    sent.append(f"commit status {data['context']}: {data['state']}")
            except ChangegateError as exc:
                log.warning("GitHub %s failed: %s", follow.kind, exc.message)
                errors.append(f"{follow.kind}: {exc.message}")
    finally:
        client.close()
    return FollowUpReport(answered, tuple(errors), tuple(sent))
