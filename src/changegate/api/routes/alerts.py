"""Alerts and their investigations (§8): list, read, acknowledge, resolve, overdue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from changegate.alerts import service
from changegate.api.deps import ReadCtx, WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.responses import Out
from changegate.api.schemas import Body, Name

router = APIRouter(
    route_class=OneCallRoute, prefix="/api", tags=["alerts"], responses=COMMON_ERRORS
)

AlertId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The alert's number")]


class DeliveryOut(Out):
    target: str
    webhook_id: str
    state: str
    attempts: int


class AlertOut(Out):
    id: int
    kind: str
    state: str
    summary: str
    created_at: str
    ack_due: str
    overdue: bool
    deliveries: list[DeliveryOut] = Field(default_factory=list)


class AlertsOut(Out):
    alerts: list[AlertOut]
    count: int


class AckIn(Body):
    by: str | None = Name


class ResolveIn(Body):
    notes: str = Field(min_length=1, max_length=10_000, description="What was found and done")
    link: str | None = Field(
        default=None, max_length=500, description="The remediation: a URL or a change key"
    )
    by: str | None = Name


@router.get("/alerts", response_model=AlertsOut, summary="Alerts, newest first (alerts list)")
def list_alerts(
    ctx: ReadCtx,
    open_only: bool = Query(default=False, alias="open", description="Only those not resolved"),
) -> dict[str, Any]:
    ctx.require("alerts.read", doing="read alerts")
    rows = [
        service.view(ctx.session, ctx.policy, a, ds)
        for a, ds in service.list_alerts(ctx.session, open_only=open_only)
    ]
    return {"alerts": rows, "count": len(rows)}


@router.get(
    "/alerts/overdue",
    response_model=AlertsOut,
    summary="Alerts nobody acknowledged within the policy's time (alerts overdue)",
)
def overdue(ctx: ReadCtx) -> dict[str, Any]:
    ctx.require("alerts.read", doing="read alerts")
    rows = [
        service.view(ctx.session, ctx.policy, a) for a in service.overdue(ctx.session, ctx.policy)
    ]
    return {"alerts": rows, "count": len(rows)}


@router.get("/alerts/{alert_id}", response_model=AlertOut, summary="One alert and its deliveries")
def get_alert(ctx: ReadCtx, alert_id: AlertId) -> dict[str, Any]:
    ctx.require("alerts.read", doing="read alerts")
    alert = service.get_alert(ctx.session, alert_id)
    return service.view(ctx.session, ctx.policy, alert)


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut, summary="Acknowledge (alerts ack)")
def ack(ctx: WriteCtx, alert_id: AlertId, body: AckIn) -> dict[str, Any]:
    actor = ctx.acting_as(body.by, field="by")
    alert = service.get_alert(ctx.session, alert_id, lock=True)
    done = service.acknowledge(ctx.session, ctx.policy, alert, actor=actor)
    return service.view(ctx.session, ctx.policy, done)


@router.post(
    "/alerts/{alert_id}/resolve",
    response_model=AlertOut,
    summary="Resolve with notes and a link (alerts resolve)",
)
def resolve(ctx: WriteCtx, alert_id: AlertId, body: ResolveIn) -> dict[str, Any]:
    actor = ctx.acting_as(body.by, field="by")
    alert = service.get_alert(ctx.session, alert_id, lock=True)
    done = service.resolve(
        ctx.session, ctx.policy, alert, actor=actor, notes=body.notes, link=body.link
    )
    return service.view(ctx.session, ctx.policy, done)
