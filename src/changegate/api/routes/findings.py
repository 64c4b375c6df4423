"""Vulnerability findings (§6): import a scanner's file, list, show, overdue, accept a risk.
Who may import or accept is decided by ``findings.service`` (the policy's ``findings.*``
permissions); reading needs ``findings.read``. Reads lapse expired risk acceptances first, so
they run in a write transaction."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field
from starlette.convertors import Convertor, register_url_convertor

from changegate.api.deps import WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.routes.common import creates
from changegate.api.schemas import Body, Name, _decoded
from changegate.findings import queries, service

router = APIRouter(
    route_class=OneCallRoute, prefix="/api/findings", tags=["findings"], responses=COMMON_ERRORS
)
created = creates(router)


#: a finding id as the CLI takes it: 12 or F-12
class _NotImport(Convertor[str]):
    """A finding id segment that is never the literal ``import``: `GET /api/findings/import`
    is then a 405 (only POST is declared there), not a finding id that fails validation."""

    regex = "(?!import$)[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("finding_id", _NotImport())

FindingId = Annotated[
    str, Path(pattern=r"^([Ff]-)?[0-9]{1,9}$", max_length=11, description="e.g. 12")
]
Filter = Annotated[str | None, Query(max_length=100)]


class ImportIn(Body):
    format: str = Field(
        max_length=20, description="sarif | trivy | grype | osv | dependabot | cyclonedx-vex"
    )
    content_base64: str = Field(description="The scanner's file, base64-encoded")
    scope: str | None = Field(default=None, max_length=100)
    kev_base64: str | None = Field(default=None, description="CISA's KEV catalogue, base64")
    by: str | None = Name


class AcceptIn(Body):
    justification: str = Field(min_length=1, max_length=5000)
    expires: str = Field(max_length=10, description="YYYY-MM-DD")
    by: str | None = Name


def _read(ctx: WriteCtx) -> None:
    ctx.require("findings.read", doing="read findings")
    service.lapse_expired(ctx.session)


@created("/import", None, "Import a scanner's findings into a scope (findings import)")
def import_findings(body: ImportIn, ctx: WriteCtx) -> dict[str, Any]:
    actor = ctx.acting_as(body.by, field="by")
    kev = None if body.kev_base64 is None else _decoded(body.kev_base64, "kev_base64")
    batch = service.import_file(
        ctx.session,
        ctx.policy,
        _decoded(body.content_base64, "content_base64"),
        source_format=body.format,
        actor=actor,
        scope=body.scope,
        kev_data=kev,
    )
    return batch.audit_state()


@router.get("", summary="Findings, earliest due first (findings list)")
def list_findings(
    ctx: WriteCtx, status: Filter = None, severity: Filter = None, scope: Filter = None
) -> dict[str, Any]:
    _read(ctx)
    rows = queries.list_findings(ctx.session, status=status, severity=severity, scope=scope)
    return {"findings": rows, "count": len(rows)}


@router.get("/overdue", summary="Open findings past their SLA (findings overdue)")
def overdue(ctx: WriteCtx) -> dict[str, Any]:
    _read(ctx)
    rows = queries.overdue_findings(ctx.session)
    return {"overdue": rows, "count": len(rows)}


@router.get(
    "/{finding:finding_id}",
    summary="A finding with its acceptances, links and history (findings show)",
)
def show(finding: FindingId, ctx: WriteCtx) -> dict[str, Any]:
    _read(ctx)
    return queries.show_finding(ctx.session, service.get_finding(ctx.session, finding))


@created(
    "/{finding:finding_id}/accept", None, "Accept a finding's risk until a date (findings accept)"
)
def accept(finding: FindingId, body: AcceptIn, ctx: WriteCtx) -> dict[str, Any]:
    actor = ctx.acting_as(body.by, field="by")
    expires = service.parse_day(body.expires, "expires")
    target = service.get_finding(ctx.session, finding, lock=True)
    return service.accept_risk(
        ctx.session,
        ctx.policy,
        target,
        actor=actor,
        justification=body.justification,
        expires=expires,
    ).audit_state()
