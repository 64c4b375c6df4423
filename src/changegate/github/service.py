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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.keys import change_key
from changegate.db import utcnow
from changegate.errors import ChangegateError
from changegate.github import deploys, pulls, reviews
from changegate.github.delivery import Delivery
from changegate.github.handling import (
    BOT,
    Context,
    FollowUp,
    Outcome,
    answer_followups,
)
from changegate.github.models import WebhookDelivery
from changegate.github.payloads import HANDLED_ACTIONS, Repository
from changegate.github.settings import GitHubSettings
from changegate.policy.schema import Policy
from changegate.users.service import resolve_person, user_for_login

log = logging.getLogger("changegate.github")

__all__ = ["handle_delivery", "mark_answered", "resolve_person", "run_followups"]

HANDLERS: dict[str, Callable[[Context], Outcome]] = {
    "pull_request": pulls.on_pull_request,
    "pull_request_review": reviews.on_review,
    "push": deploys.on_push,
    "deployment": deploys.on_deployment,
    "deployment_status": deploys.on_deployment_status,
    "deployment_protection_rule": deploys.on_protection_rule,
}


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


# -- entry point -------------------------------------------------------------------------


def _action(delivery: Delivery) -> str:
    return str(getattr(delivery.payload, "action", "") or "")


def _repository(delivery: Delivery) -> str:
    repo = getattr(delivery.payload, "repository", None)
    return repo.full_name if isinstance(repo, Repository) else ""


#: beyond the payloads' HANDLED_ACTIONS: a draft pull request marked ready is submitted
MORE_ACTIONS: dict[str, frozenset[str]] = {"pull_request": frozenset({"ready_for_review"})}


def acts_on(delivery: Delivery) -> bool:
    """Whether changegate acts on this event and action (otherwise: acknowledge, ignore)."""
    if delivery.payload is None or delivery.event == "ping":
        return False
    actions = HANDLED_ACTIONS.get(delivery.event)
    action = _action(delivery)
    return actions is None or action in actions or action in MORE_ACTIONS.get(delivery.event, ())


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
        None if outcome.change_id is None else change_key(outcome.change_id),
        tuple(outcome.followups),
    )


def _redelivered(existing: WebhookDelivery, delivery: Delivery) -> WebhookResult:
    change = None if existing.change_id is None else change_key(existing.change_id)
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
