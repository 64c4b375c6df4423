"""The record's pages: the policy in force, the audit log search and the chain check."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from changegate.api.one_call import OneCallRoute
from changegate.errors import ChangegateError
from changegate.web.render import render
from changegate.web.session import WebRead

router = APIRouter(route_class=OneCallRoute, include_in_schema=False)


@router.get("/policy")
def policy_page(request: Request, ctx: WebRead) -> Response:
    from changegate.policy.review import review_status, today

    ctx.require("policy.read", doing="read the policy")
    loaded = ctx.app.loaded
    review = review_status(ctx.session, ctx.policy, loaded.digest).to_dict(today())
    return render(
        request,
        "policy.html",
        {
            "p": loaded.validated(),
            "digest": loaded.digest,
            "source": loaded.source,
            "review": review,
        },
        ctx=ctx,
    )


#: events per page of the audit log; older ones are a link away (keyset on seq)
AUDIT_PAGE = 200


@router.get("/audit")
def audit_page(
    request: Request,
    ctx: WebRead,
    change: str = Query(default="", max_length=30),
    actor: str = Query(default="", max_length=100),
    action: str = Query(default="", max_length=100),
    since: str = Query(default="", max_length=40),
    until: str = Query(default="", max_length=40),
    before: int | None = Query(default=None, ge=1, le=2**62),
) -> Response:
    from urllib.parse import urlencode

    from changegate.audit.events import ALL_EVENTS
    from changegate.audit.service import search
    from changegate.audit.timebounds import parse_bound
    from changegate.changes.service import get_change

    ctx.require("audit.read", doing="read the audit log")
    errors: dict[str, str] = {}
    key = None
    if change.strip():
        try:
            key = get_change(ctx.session, change.strip()).key
        except ChangegateError as exc:
            errors["change"] = exc.message
    bounds: dict[str, str | None] = {}
    for name, value in (("since", since), ("until", until)):
        try:
            bounds[name] = parse_bound(value, name)
        except ChangegateError as exc:
            errors[name] = exc.message
    entries = (
        []
        if errors
        else search(
            ctx.session,
            change_key=key,
            actor=actor.strip() or None,
            action=action.strip() or None,
            since=bounds.get("since"),
            until=bounds.get("until"),
            limit=AUDIT_PAGE,
            before_seq=before,
        )
    )
    q = {"change": change, "actor": actor, "action": action, "since": since, "until": until}
    kept = {k: v for k, v in q.items() if v}
    older = (
        "/audit?" + urlencode(kept | {"before": entries[0].seq})
        if len(entries) == AUDIT_PAGE
        else None
    )
    context = {
        "entries": list(reversed(entries)),
        "q": q,
        "older": older,
        "newest": "/audit?" + urlencode(kept) if before else None,
        "errors": errors,
        "actions": sorted({e.action for e in ALL_EVENTS}),
        "may_verify": ctx.allowed("audit.verify"),
    }
    return render(request, "audit.html", context, ctx=ctx, status=400 if errors else 200)


@router.get("/audit/verify")
def audit_verify(request: Request, ctx: WebRead) -> Response:
    from changegate.audit.verification import verify_and_record

    ctx.require("audit.verify", doing="verify the audit log")
    report = verify_and_record(ctx.session, ctx.app.engine, actor=ctx.user.name)
    fragment = request.headers.get("hx-request") == "true"
    return render(
        request,
        "verify_result.html" if fragment else "verify.html",
        {"report": report},
        ctx=ctx,
    )
