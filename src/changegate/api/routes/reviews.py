"""Approving and rejecting a change: the API faces of ``approve`` and ``reject``. Who may
do either is decided by ``reviews.service`` alone."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from changegate.api.deps import WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.responses import ReviewStateOut
from changegate.api.routes.common import Key, acting_on
from changegate.api.schemas import ApproveIn, RejectIn
from changegate.reviews import service as reviews

router = APIRouter(prefix="/api/changes", tags=["changes"], responses=COMMON_ERRORS)


@router.post(
    "/{key}/approve",
    status_code=201,
    response_model=ReviewStateOut,
    summary="Approve (approve); never your own change",
)
def approve(key: Key, body: ApproveIn, ctx: WriteCtx) -> dict[str, Any]:
    actor, change = acting_on(ctx, key, body.by)
    review = reviews.approve(ctx.session, ctx.policy, change, actor=actor, comment=body.comment)
    return review.audit_state() | {"state": change.state}


@router.post(
    "/{key}/reject", status_code=201, response_model=ReviewStateOut, summary="Reject (reject)"
)
def reject(key: Key, body: RejectIn, ctx: WriteCtx) -> dict[str, Any]:
    actor, change = acting_on(ctx, key, body.by)
    review = reviews.reject(ctx.session, ctx.policy, change, actor=actor, comment=body.comment)
    return review.audit_state() | {"state": change.state}
