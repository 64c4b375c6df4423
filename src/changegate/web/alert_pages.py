"""Investigations (§8): the alerts list with acknowledge and resolve (htmx: the row comes back
in place), and the dead letters. The forms call the services the API and the CLI call; the
service decides who may (``alerts.manage``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from changegate.alerts import service
from changegate.api.one_call import OneCallRoute
from changegate.errors import ChangegateError, NotFound, PolicyDenied
from changegate.web.render import redirect, render
from changegate.web.session import WebRead, WebWrite

router = APIRouter(route_class=OneCallRoute, include_in_schema=False)


def _rows(ctx: Any, open_only: bool) -> list[dict[str, Any]]:
    return [
        service.view(ctx.session, ctx.policy, a, ds)
        for a, ds in service.list_alerts(ctx.session, open_only=open_only)
    ]


@router.get("/alerts")
def alerts_page(
    request: Request, ctx: WebRead, show: str = Query(default="open", max_length=10)
) -> Response:
    ctx.require("alerts.read", doing="read alerts")
    open_only = show != "all"
    context: dict[str, Any] = {
        "alerts": _rows(ctx, open_only),
        "show": "open" if open_only else "all",
        "dead": [service.delivery_view(d) for d in service.dead_letters(ctx.session)],
        "counts": service.counts(ctx.session, ctx.policy),
        "errors": {},
    }
    return render(request, "alerts.html", context, ctx=ctx)


def _act(request: Request, ctx: Any, alert_id: int, act: str, **fields: Any) -> Response:
    """Acknowledge or resolve; htmx gets the row back (with the service's message when it
    refused), a plain form post goes back to the list."""
    if not 0 < alert_id < 2**31:
        raise NotFound(f"no alert {alert_id}", field="id")
    alert = service.get_alert(ctx.session, alert_id, lock=True)
    error = ""
    try:
        if act == "ack":
            service.acknowledge(ctx.session, ctx.policy, alert, actor=ctx.user.name)
        else:
            service.resolve(ctx.session, ctx.policy, alert, actor=ctx.user.name, **fields)
    except PolicyDenied:
        raise  # 403 on the error page, and audited
    except ChangegateError as exc:
        error = exc.message
    if request.headers.get("HX-Request") != "true":
        if error:
            context: dict[str, Any] = {"alerts": _rows(ctx, False), "show": "all", "dead": []}
            context |= {"counts": None, "errors": {alert.id: error}}
            return render(request, "alerts.html", context, ctx=ctx, status=400)
        return redirect(f"/alerts#alert-{alert.id}")
    row = service.view(ctx.session, ctx.policy, alert)
    return render(request, "alert_row.html", {"a": row, "error": error}, ctx=ctx)


@router.post("/alerts/{alert_id}/ack")
def ack(request: Request, ctx: WebWrite, alert_id: int) -> Response:
    return _act(request, ctx, alert_id, "ack")


@router.post("/alerts/{alert_id}/resolve")
def resolve(
    request: Request,
    ctx: WebWrite,
    alert_id: int,
    notes: Annotated[str, Form(max_length=10_000)] = "",
    link: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    return _act(request, ctx, alert_id, "resolve", notes=notes, link=link or None)
