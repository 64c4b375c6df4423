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
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import InvalidInput
from changegate.github.handling import (
    BOT,
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
        link_commit(ctx, sha, change_id, kind="push", repository=repository, reason=reason)
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
    change = locked_change(session, row.change_id)
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
