"""DORA delivery metrics of the recorded deployments (dora)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from changegate.api.deps import ReadCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute

router = APIRouter(
    route_class=OneCallRoute, prefix="/api", responses=COMMON_ERRORS, tags=["deployments"]
)


@router.get(
    "/dora",
    response_model=dict[str, Any],
    summary="Deployment frequency, lead time, fail rate, recovery time, rework rate (dora)",
)
def dora_metrics(
    ctx: ReadCtx,
    env: Annotated[str, Query(max_length=100)] = "production",
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    service: Annotated[str | None, Query(max_length=100)] = None,
) -> dict[str, Any]:
    from changegate.dora.service import dora, window

    ctx.require("change.read", doing="read delivery metrics")
    return dora(ctx.session, ctx.policy, env=env, span=window(start, end), service=service)
