"""The policy's own review cycle (§9): record a review, read when the next one is due."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from changegate.api.deps import ReadCtx, WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.schemas import Body, Name

router = APIRouter(
    route_class=OneCallRoute, prefix="/api/policy", responses=COMMON_ERRORS, tags=["policy"]
)


class PolicyReviewIn(Body):
    notes: str = Field(min_length=1, max_length=10_000, description="What the review covered")
    by: str | None = Name


@router.post(
    "/review",
    response_model=dict[str, Any],
    status_code=201,
    summary="Record the review of the policy in force (policy review)",
)
def policy_review(body: PolicyReviewIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.policy.review import record_review

    actor = ctx.acting_as(body.by, field="by")
    done = record_review(
        ctx.session, ctx.policy, ctx.app.loaded.digest, actor=actor, notes=body.notes
    )
    return done.to_dict()


@router.get(
    "/status",
    response_model=dict[str, Any],
    summary="When the policy was last reviewed and when the next review is due (policy status)",
)
def policy_status(ctx: ReadCtx) -> dict[str, Any]:
    from changegate.policy.review import review_status, today

    ctx.require("policy.read", doing="read the policy's review status")
    return review_status(ctx.session, ctx.policy, ctx.app.loaded.digest).to_dict(today())
