"""What is owed now, for the caller (obligations)."""

from __future__ import annotations

from fastapi import APIRouter

from changegate.api.deps import ReadCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute

router = APIRouter(
    route_class=OneCallRoute, prefix="/api", responses=COMMON_ERRORS, tags=["records"]
)


@router.get(
    "/obligations",
    response_model=list[dict[str, str]],
    summary="Investigations, emergency reviews, findings, access and policy reviews, audit log "
    "(obligations)",
)
def list_obligations(ctx: ReadCtx) -> list[dict[str, str]]:
    from changegate.obligations.service import obligations

    found = obligations(ctx.session, ctx.policy, ctx.app.loaded.digest, may=ctx.allowed)
    return [o.to_dict() for o in found]
