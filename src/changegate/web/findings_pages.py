"""The findings pages (§6): the list with SLA countdowns and filters, and one finding with its
history and the change that fixed it. The answers come from ``findings.queries``."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from changegate.api.one_call import OneCallRoute
from changegate.errors import ChangegateError
from changegate.findings import queries
from changegate.findings.models import STATUSES
from changegate.findings.service import get_finding
from changegate.web.render import render
from changegate.web.session import WebRead

router = APIRouter(route_class=OneCallRoute, include_in_schema=False)


@router.get("/findings")
def findings_page(
    request: Request,
    ctx: WebRead,
    status: str = Query(default="", max_length=20),
    severity: str = Query(default="", max_length=10),
    scope: str = Query(default="", max_length=100),
) -> Response:
    ctx.require("findings.read", doing="read findings")
    errors: dict[str, str] = {}
    rows = []
    try:
        rows = queries.list_findings(
            ctx.session,
            status=status or None,
            severity=severity or None,
            scope=scope.strip() or None,
            limit=500,
        )
    except ChangegateError as exc:
        errors[exc.field or "status"] = exc.message
    context = {
        "rows": rows,
        "q": {"status": status, "severity": severity, "scope": scope},
        "statuses": STATUSES,
        "severities": queries.SEVERITIES,
        "errors": errors,
    }
    return render(request, "findings.html", context, ctx=ctx, status=400 if errors else 200)


@router.get("/findings/{finding}")
def finding_page(request: Request, ctx: WebRead, finding: str) -> Response:
    ctx.require("findings.read", doing="read findings")
    shown = queries.show_finding(ctx.session, get_finding(ctx.session, finding))
    return render(request, "finding.html", {"f": shown}, ctx=ctx)
