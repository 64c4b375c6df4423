"""Access reviews (policy §7): campaigns, decisions, revocations, sign-off, the schedule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from changegate.api.deps import Ctx, ReadCtx, WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.routes.access_schemas import (
    AccessApplyIn,
    AccessDecideIn,
    AccessDueOut,
    AccessItemOut,
    AccessOpenIn,
    AccessReviewOut,
    AccessReviewSummary,
)
from changegate.api.routes.ai_schemas import decoded
from changegate.api.routes.common import creates
from changegate.api.schemas import ActorIn

router = APIRouter(
    route_class=OneCallRoute, prefix="/api/access", responses=COMMON_ERRORS, tags=["access reviews"]
)
created = creates(router)

ReviewId = Annotated[int, Path(ge=1, lt=2**31, description="An access review's id")]
ItemId = Annotated[int, Path(ge=1, lt=2**31, description="An item's id in that review")]


def _read(ctx: Ctx) -> None:
    ctx.require("access.read", doing="read access reviews")


@router.get(
    "/reviews", response_model=list[AccessReviewSummary], summary="Access reviews (access list)"
)
def list_reviews(ctx: ReadCtx) -> list[dict[str, Any]]:
    from changegate.access import service

    _read(ctx)
    return [
        service.review_view(ctx.session, r, with_items=False)
        for r in service.list_reviews(ctx.session)
    ]


@created("/reviews", AccessReviewSummary, "Open an access review (access open)")
def open_review(body: AccessOpenIn, ctx: WriteCtx, response: Response) -> dict[str, Any]:
    from changegate.access import service

    actor = ctx.acting_as(body.by, field="by")
    review = service.start_review(
        ctx.session, ctx.policy, name=body.name, scope=body.scope, period=body.period,
        due=body.due, csv=decoded(body.csv_base64, "csv_base64"), draft=body.draft, actor=actor,
    )  # fmt: skip
    response.headers["Location"] = f"/api/access/reviews/{review.id}"
    return service.review_view(ctx.session, review, with_items=False)


@router.get(
    "/reviews/{review_id}",
    response_model=AccessReviewOut,
    summary="An access review and its items (access show)",
)
def show_review(review_id: ReviewId, ctx: ReadCtx) -> dict[str, Any]:
    from changegate.access import service

    _read(ctx)
    return service.review_view(ctx.session, service.get_review(ctx.session, review_id))


def _on_item(
    ctx: Ctx, review_id: int, item_id: int, by: str | None, act: Callable[..., Any], **fields: Any
) -> dict[str, Any]:
    """``act(session, policy, review, item, actor=..., **fields)`` on a locked item, as the
    caller; the item as it now is."""
    from changegate.access import service

    actor = ctx.acting_as(by, field="by")
    review, item = service.locked_item(ctx.session, review_id, item_id)
    act(ctx.session, ctx.policy, review, item, actor=actor, **fields)
    return item.audit_state()


@router.post(
    "/reviews/{review_id}/items/{item_id}/decision",
    response_model=AccessItemOut,
    summary="Decide an item: keep, revoke or modify (access decide)",
)
def decide(
    review_id: ReviewId, item_id: ItemId, body: AccessDecideIn, ctx: WriteCtx
) -> dict[str, Any]:
    from changegate.access.service import decide as decide_item

    fields = {"decision": body.decision, "justification": body.justification}
    return _on_item(ctx, review_id, item_id, body.by, decide_item, **fields)


@router.post(
    "/reviews/{review_id}/items/{item_id}/apply",
    response_model=AccessItemOut,
    summary="Carry out a revoke or modify decision (access apply)",
)
def apply(
    review_id: ReviewId, item_id: ItemId, body: AccessApplyIn, ctx: WriteCtx
) -> dict[str, Any]:
    from changegate.access.schedule import parse_day
    from changegate.access.service import apply_decision

    day = parse_day(body.verified, "verified")
    return _on_item(
        ctx, review_id, item_id, body.by, apply_decision, reference=body.reference, verified_on=day
    )


@router.post(
    "/reviews/{review_id}/close",
    response_model=AccessReviewSummary,
    summary="Sign off and close an access review (access close)",
)
def close(review_id: ReviewId, body: ActorIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.access import service

    actor = ctx.acting_as(body.by, field="by")
    review = service.get_review(ctx.session, review_id, lock=True)
    service.close_review(ctx.session, ctx.policy, review, actor=actor)
    return service.review_view(ctx.session, review, with_items=False)


@router.get(
    "/reviews/{review_id}/export",
    response_model=dict[str, str],
    summary="before.csv, decisions.csv and after.csv (access export)",
)
def export(review_id: ReviewId, ctx: ReadCtx) -> dict[str, str]:
    from changegate.access import service
    from changegate.access.reports import export as export_files

    _read(ctx)
    files = export_files(ctx.session, service.get_review(ctx.session, review_id))
    return {name: data.decode("utf-8") for name, data in files.items()}


@router.get(
    "/overdue",
    response_model=AccessDueOut,
    summary="When the next access review is due (access overdue)",
)
def overdue(ctx: ReadCtx) -> dict[str, Any]:
    from changegate.access.reports import due

    _read(ctx)
    return due(ctx.session, ctx.policy).to_dict()
