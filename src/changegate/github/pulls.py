"""Pull requests and reviews: a PR's change from its template and changed files, approvals
by mapped reviewers (segregation of duties applied by the reviews service), withdrawn
approvals, and the merge commit linked to the change."""

from __future__ import annotations

import logging
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import ChangegateError
from changegate.github.handling import (
    Context,
    FollowUp,
    Outcome,
    link_commit,
    locked_change,
    unmapped,
)
from changegate.github.models import PullRequestLink
from changegate.github.payloads import PullRequest, PullRequestEvent, PullRequestReviewEvent
from changegate.github.pr_template import PullRequestBody, parse_pr_body
from changegate.github.settings import GitHubSettings
from changegate.policy.names import CLASS_NAMES
from changegate.scm.gitrepo import GitRepo
from changegate.scm.service import RangeResult, classify_range, set_classification
from changegate.users.service import user_for_login

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

log = logging.getLogger("changegate.github")

_PROVIDERS = re.compile(r"^\s*(?:[-*]\s+)?\**providers?\**\s*:\s*(.+?)\s*$", re.I | re.M)
#: the lifecycle states in which a pull request may still change its change
EDITABLE = ("draft", "submitted", "approved", "rejected")


# -- pull requests -----------------------------------------------------------------------


def _link(session: Session, repository: str, number: int) -> PullRequestLink | None:
    return session.scalar(
        select(PullRequestLink)
        .where(PullRequestLink.repository == repository, PullRequestLink.number == number)
        .with_for_update()
    )


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
    _within_catalogue(policy, values, problems, placed=ranged is not None)
    return PrFields(values=values, problems=problems, blocking=blocking)


def _within_catalogue(
    policy: Policy, values: dict[str, Any], problems: list[str], *, placed: bool
) -> None:
    """A pull request asking for a pre-approved class outside the policy's catalogue (§3a)
    becomes a normal change, with the reason on the pull request: never the laxer class.
    ``placed``: the pull request's changed files were read and classified; files that could
    not be read cannot be checked against the entry's paths, so the change is not standard."""
    from changegate.changes.service import standard_problems
    from changegate.policy.catalogue import WAY_OUT, is_pre_approved, unplaced_class
    from changegate.scm.service import category_fits

    outside = standard_problems(policy, values, complete=False)
    if not placed and is_pre_approved(policy, values["change_class"]):
        outside.append(
            "its changed files could not be read, so the procedure's paths cannot be checked"
        )
    if not outside:
        return
    stricter = unplaced_class(policy)
    problems.append(
        f"Class: not a pre-approved {values['change_class']} change (§3a): "
        + "; ".join(outside)
        + f"; the change is {stricter} ({WAY_OUT})"
    )
    values["change_class"] = stricter
    category = values["category"]
    if category is not None and not category_fits(policy, category, stricter):
        values["category"] = None


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
    if all(getattr(link, key) == value for key, value in values.items()):
        return link
    before = link.audit_state()
    for key, value in values.items():
        setattr(link, key, value)
    link.updated_at = now
    record(ctx.session, events.PullRequestLinked, actor=ctx.actor, before=before, after=link)
    return link


def _pull_request_closed(ctx: Context, event: PullRequestEvent) -> Outcome:
    pr = event.pull_request
    repository = event.repository.full_name
    link = _link(ctx.session, repository, pr.number)
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
            f"CHG-{link.change_id}: merge commit {pr.merge_commit_sha[:12]} recorded as a "
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
        message = f"merged: {pr.merge_commit_sha[:12]} linked to CHG-{link.change_id}"
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
