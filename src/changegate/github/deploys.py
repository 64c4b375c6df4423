"""Pushes, deployments and the deployment protection rule: commits that landed linked to
their change, deployments GitHub reported recorded through the gate, and the gate's answer
to a held deploy job."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.keys import change_key
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import InvalidInput
from changegate.github.handling import (
    Context,
    Outcome,
    answer_followups,
    link_commit,
    locked_change,
)
from changegate.github.models import GitHubDeployment, PullRequestLink
from changegate.github.payloads import (
    DeploymentEvent,
    DeploymentProtectionRuleEvent,
    DeploymentStatusEvent,
    PushEvent,
)
from changegate.users.service import user_for_login

_CHANGE_KEY = re.compile(r"\bCHG-(\d+)\b")
_MERGE_SUBJECT = re.compile(r"\AMerge pull request #(\d+) from ")
_SQUASH_SUBJECT = re.compile(r"\(#(\d+)\)\s*\Z")


# -- pushes ------------------------------------------------------------------------------


def on_push(ctx: Context) -> Outcome:
    """Commits pushed: who authored, committed (and, off the default branch, pushed) a
    change's own commits is recorded; a commit on the default branch whose message names a
    change or its pull request is recorded as a reference, which covers nothing at the gate
    (only the change's own commits and the merge commit GitHub reports for its pull request
    do)."""
    event = ctx.delivery.payload
    assert isinstance(event, PushEvent)
    repository = event.repository.full_name
    authored = _record_push_identities(ctx, event)
    if not event.to_default_branch:
        if authored:
            return Outcome(
                "processed",
                f"push to {event.ref}: recorded {authored} commit author(s) or pusher(s)",
            )
        return Outcome("ignored", f"push to {event.ref}: not the default branch")
    referenced: list[str] = []
    known: list[str] = []
    unlinked: list[str] = []
    last_change: int | None = None
    for commit in event.commits:
        sha = commit.id.lower()
        if _covering(ctx.session, sha):
            known.append(sha[:12])
            continue
        change_id, reason = _change_named_by(ctx.session, repository, commit.message)
        if change_id is None:
            unlinked.append(sha[:12])
            continue
        link_commit(ctx, sha, change_id, kind="reference", repository=repository, reason=reason)
        referenced.append(f"{sha[:12]} to {change_key(change_id)}")
        last_change = change_id
    parts = [f"push of {len(event.commits)} commit(s) to {event.branch}"]
    if known:
        parts.append(f"{len(known)} already linked")
    if referenced:
        parts.append(
            "recorded as reference(s), not covered by any change's review: " + ", ".join(referenced)
        )
    if unlinked:
        parts.append(
            f"{len(unlinked)} without a change record ({', '.join(unlinked)}); "
            "`changegate audit git` reports them"
        )
    if authored:
        parts.append(f"recorded {authored} commit author(s)")
    return Outcome("processed", "; ".join(parts), change_id=last_change)


def _covering(session: Session, sha: str) -> list[tuple[int, str]]:
    from changegate.changes.by_commit import changes_for_commit

    try:
        return changes_for_commit(session, sha)
    except InvalidInput:
        return []


def _record_push_identities(ctx: Context, event: PushEvent) -> int:
    """Record the author and committer of each pushed commit that is one of a change's own
    commits, and the pusher when the push is not to the default branch (there, the pusher
    lands reviewed work rather than writing it)."""
    from changegate.changes.service import get_change
    from changegate.scm.authors import Identity, record_identities

    count = 0
    for commit in event.commits:
        sha = commit.id.lower()
        owners = [cid for cid, kind in _covering(ctx.session, sha) if kind == "commit"]
        if not owners:
            continue
        people = [
            Identity(sha, role, login=who.username or "", name=who.name, email=who.email or "")
            for role, who in (("author", commit.author), ("committer", commit.committer))
        ]
        if not event.to_default_branch:
            people.append(
                Identity(
                    sha,
                    "pusher",
                    login=event.sender.login,
                    name=event.pusher.name,
                    email=event.pusher.email or "",
                )
            )
        for change_id in owners:
            change = get_change(ctx.session, change_key(change_id))
            count += len(
                record_identities(ctx.session, change, people, source="push", actor=ctx.actor)
            )
    return count


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
            return change_id, f"the commit message names {change_key(change_id)}"
    return None, ""


# -- deployments -------------------------------------------------------------------------


def _linked_change_id(session: Session, sha: str) -> int | None:
    from changegate.changes.by_commit import NoLinkedChange, find_change_by_commit

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
    which = change_key(row.change_id) if row.change_id else "no change record"
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
    kind: type[events.Event] = events.GitHubDeploymentRecorded
    if state == "success" and row.gate_passed is None:
        passed, detail = _record_success(ctx, row)
        row.gate_passed = passed
        if passed:
            message += f"; {detail}"
        else:
            row.violation = detail[:4000]
            kind = events.GitHubDeploymentViolation
            message += f"; policy violation: {detail}"
    record(ctx.session, kind, actor=ctx.actor, before=before, after=row)
    return Outcome("processed", message, change_id=row.change_id)


def _record_success(ctx: Context, row: GitHubDeployment) -> tuple[bool, str]:
    """A deployment went out: record it against its change through the gate, with the
    deployment's creator as the deployer (the deployer role and segregation of duties are
    theirs to meet). False and why when it broke the policy."""
    from changegate.deployments.service import current_deployment, deploy, gate

    session, policy = ctx.session, ctx.policy
    if row.change_id is None:
        row.change_id = _linked_change_id(session, row.sha)
    if row.change_id is None:
        return False, "deployed without a change record"
    change = locked_change(session, row.change_id)
    if row.environment not in policy.deploy.environments:
        return False, (
            f"environment {row.environment} is not one of the policy's "
            f"({', '.join(policy.deploy.environments)}): no gate could pass for it"
        )
    creator = user_for_login(session, row.creator_login)
    if creator is None:
        return False, (
            f"{change.key} deployed by {row.creator_login or '(unknown creator)'}, who maps to no "
            f"changegate user; map them with `changegate user add NAME --github "
            f"{row.creator_login or 'LOGIN'} --role ROLE`"
        )
    if current_deployment(session, change, row.environment) is not None:
        result = gate(session, policy, change, env=row.environment, deployer=creator.name)
        if result.passed:
            return True, (
                f"{change.key} already recorded as deployed to {row.environment}; the gate "
                f"passes for {creator.name}"
            )
        return False, _unmet(change.key, creator.name, result.unmet)
    deployed = deploy(
        session,
        policy,
        change,
        env=row.environment,
        version=f"{row.ref or 'sha'}@{row.sha[:12]}",
        actor=creator.name,
    )
    if deployed.deployment is None:
        return False, _unmet(change.key, creator.name, deployed.gate.unmet)
    row.deployment_id = deployed.deployment.id
    return True, f"{change.key} recorded as deployed by {creator.name} (gate passed)"


def _unmet(key: str, deployer: str, unmet: list[Any]) -> str:
    reasons = "; ".join(f"{r.rule_id}: {r.reason}" for r in unmet)
    return f"deployed by {deployer} WITHOUT a passing gate for {key} ({reasons})"


def on_protection_rule(ctx: Context) -> Outcome:
    """Evaluate the gate for the held job's commit and environment; answer GitHub after
    the transaction commits."""
    from changegate.changes.by_commit import NoLinkedChange, find_change_by_commit
    from changegate.deployments.service import gate
    from changegate.github.client import format_gate_comment

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
