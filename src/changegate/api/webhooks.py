"""``POST /webhooks/github``: GitHub's events, signed with the webhook secret.

The signature is the authentication: no API token is involved, and nothing about an unsigned
or wrongly signed delivery is looked at or stored (401). A signed but malformed delivery is
refused with 400, storing nothing. Everything else is answered 2xx with what changegate did:
``{"delivery", "event", "action", "status", "outcome", "change"}``, where ``status`` is
``processed``, ``refused`` (a decision, e.g. the author's own approval), ``ignored``,
``duplicate`` (a redelivery: nothing changes) or ``pong``.

A deployment protection rule is answered through GitHub's REST API after the decision has
committed. If GitHub cannot be reached the endpoint answers 502 and keeps the answer; the
redelivery of the same event sends it again.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from changegate.api.deps import AppState, app_state
from changegate.api.one_call import OneCallRoute
from changegate.errors import ChangegateError
from changegate.github.delivery import Delivery, read_delivery
from changegate.github.errors import GitHubError
from changegate.github.settings import GitHubSettings

log = logging.getLogger("changegate.api.webhooks")

router = APIRouter(route_class=OneCallRoute, tags=["webhooks"])

SETTINGS_KEY = "github_settings"


def github_settings(state: AppState) -> GitHubSettings:
    """The GitHub settings of this app: from ``CHANGEGATE_GITHUB_*``, read once."""
    settings = state.extra.get(SETTINGS_KEY)
    if not isinstance(settings, GitHubSettings):
        settings = GitHubSettings()
        state.extra[SETTINGS_KEY] = settings
    return settings


def _error(status: int, exc: ChangegateError) -> JSONResponse:
    return JSONResponse(
        {"error": type(exc).__name__, "message": exc.message, "field": exc.field},
        status_code=status,
    )


def _process(state: AppState, settings: GitHubSettings, delivery: Delivery) -> JSONResponse:
    from changegate.db import session_scope
    from changegate.github.service import handle_delivery, mark_answered, run_followups

    try:
        with session_scope(state.engine) as session:
            result = handle_delivery(session, state.policy, delivery, settings)
    except IntegrityError:
        # Either the same delivery was processed concurrently (it is recorded once), or
        # another delivery about the same pull request or deployment won a race: then this
        # one must be sent again, so say so with a status GitHub shows as failed.
        from sqlalchemy import select

        from changegate.github.models import WebhookDelivery

        with session_scope(state.engine, write=False) as session:
            seen = session.scalar(
                select(WebhookDelivery.id).where(
                    WebhookDelivery.delivery_id == delivery.delivery_id
                )
            )
        which = {"delivery": delivery.delivery_id, "event": delivery.event}
        if seen is not None:
            return JSONResponse(which | {"status": "duplicate", "outcome": "already processed"})
        return JSONResponse(
            which
            | {
                "status": "retry",
                "outcome": "a concurrent delivery changed the same record; redeliver this one",
            },
            status_code=503,
        )
    body: dict[str, Any] = result.to_dict()
    report = run_followups(settings, result.followups)
    if report.sent:
        body["github"] = list(report.sent)
    if report.errors:
        body["github_errors"] = list(report.errors)
    if result.status == "answer_pending":
        if not report.answered:
            body["message"] = (
                "the gate was evaluated and recorded, but GitHub did not get the answer; "
                "redeliver this event to send it again"
            )
            return JSONResponse(body, status_code=502)
        with session_scope(state.engine) as session:
            mark_answered(session, delivery.delivery_id, sent="; ".join(report.sent))
        body["status"] = "processed"
    return JSONResponse(body, status_code=200)


@router.post(
    "/webhooks/github",
    summary="GitHub webhook deliveries (signed with CHANGEGATE_GITHUB_WEBHOOK_SECRET)",
    responses={
        200: {"description": "Accepted: what changegate did with the event"},
        400: {"description": "Malformed delivery (missing header, bad JSON, missing field)"},
        401: {"description": "Unsigned or wrongly signed (X-Hub-Signature-256)"},
        502: {"description": "Recorded, but GitHub could not be answered; redeliver"},
    },
)
async def github_webhook(request: Request) -> JSONResponse:
    state = app_state(request)
    settings = github_settings(state)
    raw = await request.body()
    try:
        delivery = read_delivery(request.headers, raw, secret=settings.secret)
    except GitHubError as exc:
        return _error(exc.http_status, exc)
    try:
        return await run_in_threadpool(_process, state, settings, delivery)
    except ChangegateError as exc:
        return _error(exc.http_status, exc)
