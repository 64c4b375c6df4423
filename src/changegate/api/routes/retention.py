"""Retention over HTTP: legal holds on changes, what is past retention, purging evidence
bytes past it (the commands `change hold`, `change release`, `audit retention`, `audit purge`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from changegate.api.deps import ReadCtx, WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.responses import Out
from changegate.api.routes.common import Key, creates, record_on
from changegate.api.schemas import Body, Name

router = APIRouter(route_class=OneCallRoute, prefix="/api", responses=COMMON_ERRORS)
created = creates(router)


class HoldIn(Body):
    reason: str = Field(default="", max_length=10_000, description="Why (the matter)")
    by: str | None = Name

    def fields(self) -> dict[str, Any]:
        return {"reason": self.reason}


class PurgeIn(Body):
    before: str | None = Field(
        default=None, max_length=40, description="ISO 8601: only files whose retention ended before"
    )
    by: str | None = Name


class HoldOut(Out):
    id: int
    change: str
    reason: str
    held_by: str
    held_at: str
    released_by: str | None
    released_at: str | None
    release_reason: str | None


class RetentionOut(Out):
    as_of: str
    retention_years: int
    changes: list[dict[str, Any]]
    blobs: list[dict[str, Any]]
    purged: list[str]


class PurgeOut(Out):
    as_of: str
    before: str
    purged: list[dict[str, Any]]
    count: int


@created("/changes/{key}/hold", HoldOut, "Place a legal hold (change hold)", tags=["changes"])
def hold_change(key: Key, ctx: WriteCtx, body: HoldIn) -> dict[str, Any]:
    from changegate.retention.service import hold

    return record_on(ctx, key, body, hold).audit_state()


@router.post(
    "/changes/{key}/release",
    response_model=HoldOut,
    tags=["changes"],
    summary="Release a legal hold (change release)",
)
def release_change(key: Key, ctx: WriteCtx, body: HoldIn) -> dict[str, Any]:
    from changegate.retention.service import release

    return record_on(ctx, key, body, release).audit_state()


@router.get(
    "/audit/retention",
    response_model=RetentionOut,
    tags=["audit"],
    summary="What is past the retention period (audit retention)",
)
def retention(ctx: ReadCtx) -> dict[str, Any]:
    from changegate.retention.service import retention_report

    ctx.require("retention.read", doing="read what is past retention")
    return retention_report(ctx.session, ctx.policy)


@router.post(
    "/audit/purge",
    response_model=PurgeOut,
    tags=["audit"],
    summary="Purge evidence bytes past retention (audit purge)",
)
def purge(ctx: WriteCtx, body: PurgeIn) -> dict[str, Any]:
    from changegate.retention.service import purge as purge_service

    actor = ctx.acting_as(body.by, field="by")
    return purge_service(ctx.session, ctx.policy, actor=actor, before=body.before)
