"""The auditor evidence package over HTTP (`changegate audit package | sample` against a
server): the zip of a period, signed by a checkpoint made with the server's own key."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from changegate.api.deps import WriteCtx, app_state
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute

router = APIRouter(route_class=OneCallRoute, prefix="/api", responses=COMMON_ERRORS)

Day = Annotated[str, Query(min_length=10, max_length=10, description="YYYY-MM-DD (UTC)")]


@router.get(
    "/audit/package",
    response_model=None,
    tags=["audit"],
    summary="The auditor evidence package of a period, or of a sample of it (zip)",
    responses={200: {"content": {"application/zip": {}}, "description": "the package"}},
)
def audit_package(
    request: Request,
    ctx: WriteCtx,
    date_from: Annotated[Day, Query(alias="from")],
    date_to: Annotated[Day, Query(alias="to")],
    size: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    seed: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> Response:
    from changegate.audit.package.overview import server_package
    from changegate.audit.package.service import period
    from changegate.errors import InvalidInput

    ctx.require("audit.verify", doing="download the auditor evidence package")
    p = period(date_from, date_to)
    if (size is None) != (seed is None):
        raise InvalidInput(
            "a sample needs both size and seed", field="seed" if seed is None else "size"
        )
    out = io.BytesIO()
    sample = None if size is None or seed is None else (size, seed)
    settings = app_state(request).settings
    server_package(ctx.session, ctx.policy, settings, p, out, actor=ctx.user.name, sample=sample)
    name = f"changegate-{'sample' if sample else 'package'}-{date_from}-{date_to}.zip"
    return Response(
        out.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
