"""Read-side records: deployments history, overdue reviews, the audit log, the policy."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse

from changegate.api.deps import ReadCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.responses import (
    DeploymentOut,
    OverdueOut,
    PolicyCheckOut,
    TimelineOut,
    VerifyOut,
)
from changegate.api.schemas import PolicyCheckIn
from changegate.audit.timebounds import ISO_TIME, parse_bound

router = APIRouter(route_class=OneCallRoute, prefix="/api", responses=COMMON_ERRORS)


@router.get(
    "/deployments",
    response_model=list[DeploymentOut],
    tags=["deployments"],
    summary="Version history of each environment (history)",
)
def history(
    ctx: ReadCtx,
    env: str | None = Query(default=None, max_length=100, description="Only this environment"),
) -> list[dict[str, Any]]:
    from changegate.deployments.service import history as history_service

    ctx.require("change.read", doing="read the deployment history")
    return [d.audit_state() for d in history_service(ctx.session, env)]


@router.get(
    "/overdue",
    response_model=OverdueOut,
    tags=["deployments"],
    summary="Emergency changes past their retrospective review deadline (overdue)",
)
def overdue(ctx: ReadCtx) -> dict[str, Any]:
    from changegate.incidents.service import overdue as overdue_service

    ctx.require("change.read", doing="read overdue reviews")
    rows = [x.to_dict() for x in overdue_service(ctx.session, ctx.policy)]
    return {"overdue": rows, "count": len(rows)}


@router.get(
    "/audit/events",
    response_model=list[TimelineOut],
    tags=["audit"],
    summary="Search the audit log by change, actor, action and time (audit log)",
)
def audit_events(
    ctx: ReadCtx,
    change: str | None = Query(default=None, max_length=30, description="e.g. CHG-3"),
    actor: str | None = Query(default=None, max_length=100),
    action: str | None = Query(
        default=None, max_length=100, description="e.g. review.approved or review.*"
    ),
    since: str | None = Query(
        default=None,
        pattern=ISO_TIME,
        description="ISO 8601, e.g. 2026-11-25T14:00Z (UTC if no zone)",
    ),
    until: str | None = Query(
        default=None, pattern=ISO_TIME, description="ISO 8601, e.g. 2026-11-25 (UTC if no zone)"
    ),
    limit: int = Query(default=200, ge=1, le=5000, description="The latest N matching events"),
    before: int | None = Query(
        default=None, ge=1, le=2**62, description="Only events before this sequence number"
    ),
    *,
    request: Request,
    response: Response,
) -> list[dict[str, Any]]:
    from changegate.audit.service import search
    from changegate.audit.timeline_rows import timeline_rows

    ctx.require("audit.read", doing="read the audit log")
    key = None
    if change:
        from changegate.api.routes.common import change_for

        key = change_for(ctx, change).key
    entries = search(
        ctx.session,
        change_key=key,
        actor=actor or None,
        action=action or None,
        since=parse_bound(since, "since"),
        until=parse_bound(until, "until"),
        limit=limit,
        before_seq=before,
    )
    if len(entries) == limit:  # older events may match: the next page ends before this one
        url = request.url.include_query_params(before=entries[0].seq)
        response.headers["Link"] = f'<{url}>; rel="next"'
    return timeline_rows(entries)


@router.get(
    "/audit/verify",
    response_model=VerifyOut,
    tags=["audit"],
    summary="Recompute the hash chain and check every record against the log (audit verify)",
)
def audit_verify(
    ctx: ReadCtx,
    anchor: Annotated[
        list[str] | None,
        Query(description="SEQ:HASH of a head seen earlier; the chain must pass through it"),
    ] = None,
    deep: Annotated[
        bool, Query(description="Also have the database recompute every index entry (slower)")
    ] = False,
) -> dict[str, Any]:
    from changegate.audit.verification import verify_and_record
    from changegate.audit.verify import Anchor

    ctx.require("audit.verify", doing="verify the audit log")
    anchors = [Anchor.parse(a) for a in anchor or []]
    report = verify_and_record(
        ctx.session, ctx.app.engine, actor=ctx.user.name, anchors=anchors, deep=deep
    )
    return report.to_dict()


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    tags=["audit"],
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "JSON Lines"}},
    summary="Every event as JSON Lines with its stored bytes and hashes (audit export)",
)
def audit_export(ctx: ReadCtx) -> StreamingResponse:
    """Read inside the request's transaction, then streamed: one consistent snapshot."""
    import io

    from changegate.audit.export import export_jsonl

    ctx.require("audit.verify", doing="export the audit log")
    buf = io.StringIO()
    export_jsonl(ctx.session, buf)
    data = buf.getvalue().encode()

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(data), 1 << 16):
            yield data[i : i + (1 << 16)]

    return StreamingResponse(chunks(), media_type="application/x-ndjson")


@router.get(
    "/policy",
    response_model=dict[str, Any],
    tags=["policy"],
    summary="The policy in force, with its digest and source (policy show)",
)
def policy_show(ctx: ReadCtx) -> dict[str, Any]:
    ctx.require("policy.read", doing="read the policy")
    loaded = ctx.app.loaded
    out: dict[str, Any] = loaded.validated().model_dump(mode="json", by_alias=True)
    return out | {"digest": loaded.digest, "source": loaded.source}


@router.post(
    "/policy/check",
    response_model=PolicyCheckOut,
    tags=["policy"],
    summary="Validate a policy document; every error with its path (policy check)",
)
def policy_check(body: PolicyCheckIn, ctx: ReadCtx) -> dict[str, Any]:
    from changegate.policy.loader import check_policy_text

    ctx.require("policy.read", doing="check policy files")
    pol, found = check_policy_text(body.text)
    return {
        "file": body.file,
        "valid": pol is not None,
        "errors": [{"path": p.path, "message": p.message} for p in found],
        "policy": pol.label if pol else None,
    }
