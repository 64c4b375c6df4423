"""Attaching evidence to a change: JUnit results, named validations and documents
(``evidence add``). Who may attach what is decided by ``evidence.service``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from changegate.api.deps import WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.responses import EvidenceOut
from changegate.api.routes.common import Key, creates, record_on
from changegate.api.schemas import DocumentIn, JunitIn, ValidationIn
from changegate.evidence import service as evidence

router = APIRouter(
    route_class=OneCallRoute, prefix="/api/changes", tags=["changes"], responses=COMMON_ERRORS
)
created = creates(router)


@created("/{key}/evidence/junit", EvidenceOut, "Attach JUnit XML results (evidence add --junit)")
def add_junit(key: Key, body: JunitIn, ctx: WriteCtx) -> dict[str, Any]:
    return record_on(ctx, key, body, evidence.add_junit).audit_state()


@created(
    "/{key}/evidence/validation",
    EvidenceOut,
    "Record a named validation (evidence add --validation)",
)
def add_validation(key: Key, body: ValidationIn, ctx: WriteCtx) -> dict[str, Any]:
    return record_on(ctx, key, body, evidence.add_validation).audit_state()


@created("/{key}/evidence/document", EvidenceOut, "Attach a document (evidence add --document)")
def add_document(key: Key, body: DocumentIn, ctx: WriteCtx) -> dict[str, Any]:
    return record_on(ctx, key, body, evidence.add_document).audit_state()
