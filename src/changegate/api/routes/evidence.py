"""Attaching evidence to a change: JUnit results, named validations and documents
(``evidence add``). Who may attach what is decided by ``evidence.service``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from changegate.api.deps import WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.responses import EvidenceOut
from changegate.api.routes.common import Key, acting_on
from changegate.api.schemas import DocumentIn, JunitIn, ValidationIn
from changegate.evidence import service as evidence

router = APIRouter(prefix="/api/changes", tags=["changes"], responses=COMMON_ERRORS)


@router.post(
    "/{key}/evidence/junit",
    status_code=201,
    response_model=EvidenceOut,
    summary="Attach JUnit XML results (evidence add --junit)",
)
def add_junit(key: Key, body: JunitIn, ctx: WriteCtx) -> dict[str, Any]:
    actor, change = acting_on(ctx, key, body.by)
    return evidence.add_junit(
        ctx.session, ctx.policy, change, content=body.content(), filename=body.filename, actor=actor
    ).audit_state()


@router.post(
    "/{key}/evidence/validation",
    status_code=201,
    response_model=EvidenceOut,
    summary="Record a named validation (evidence add --validation)",
)
def add_validation(key: Key, body: ValidationIn, ctx: WriteCtx) -> dict[str, Any]:
    actor, change = acting_on(ctx, key, body.by)
    return evidence.add_validation(
        ctx.session,
        ctx.policy,
        change,
        name=body.name,
        result=body.result,
        details=body.details,
        report=body.report(),
        report_filename=body.report_filename,
        actor=actor,
    ).audit_state()


@router.post(
    "/{key}/evidence/document",
    status_code=201,
    response_model=EvidenceOut,
    summary="Attach a document (evidence add --document)",
)
def add_document(key: Key, body: DocumentIn, ctx: WriteCtx) -> dict[str, Any]:
    actor, change = acting_on(ctx, key, body.by)
    return evidence.add_document(
        ctx.session,
        ctx.policy,
        change,
        content=body.content(),
        filename=body.filename,
        kind=body.kind,
        details=body.details,
        actor=actor,
    ).audit_state()
