"""Approving and rejecting a change: the API faces of ``approve`` and ``reject``. Who may
do either is decided by ``reviews.service`` alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from changegate.api.deps import WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.responses import ReviewStateOut
from changegate.api.routes.common import Key, acting_on, creates
from changegate.api.schemas import ApproveIn, RejectIn
from changegate.reviews import service as reviews
from changegate.reviews.models import Review

router = APIRouter(
    route_class=OneCallRoute, prefix="/api/changes", tags=["changes"], responses=COMMON_ERRORS
)
created = creates(router)


def _review(
    ctx: WriteCtx, key: str, body: ApproveIn | RejectIn, decide: Callable[..., Review]
) -> dict[str, Any]:
    """The caller's decision (``reviews.approve`` or ``reviews.reject``) and the new state."""
    actor, change = acting_on(ctx, key, body.by)
    review = decide(ctx.session, ctx.policy, change, actor=actor, comment=body.comment)
    return review.audit_state() | {"state": change.state}


@created("/{key}/approve", ReviewStateOut, "Approve (approve); never your own change")
def approve(key: Key, body: ApproveIn, ctx: WriteCtx) -> dict[str, Any]:
    return _review(ctx, key, body, reviews.approve)


@created("/{key}/reject", ReviewStateOut, "Reject (reject)")
def reject(key: Key, body: RejectIn, ctx: WriteCtx) -> dict[str, Any]:
    return _review(ctx, key, body, reviews.reject)
