"""The audit log's Merkle tree over HTTP: the latest signed checkpoint (public, read-only) and
RFC 9162 inclusion and consistency proofs for authenticated readers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from changegate.api.deps import ReadCtx, WriteCtx, app_state
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.routes.common import creates

router = APIRouter(route_class=OneCallRoute, prefix="/api", responses=COMMON_ERRORS)
created = creates(router)

#: a tree size or sequence number within what the database's BIGINT holds
Size = Query(ge=1, le=2**62)
#: the same as a parameter's type, required or optional
LogSize = Annotated[int, Size]
OptionalLogSize = Annotated[int | None, Size]


@router.get(
    "/audit/checkpoint",
    response_model=None,
    tags=["audit"],
    summary="The latest signed checkpoint of the audit log (C2SP signed note; no token needed)",
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "a C2SP signed note (text/plain)",
        }
    },
)
def audit_checkpoint(request: Request) -> PlainTextResponse:
    from changegate.audit.checkpoint_service import latest_note
    from changegate.db import session_scope
    from changegate.errors import NotFound

    with session_scope(app_state(request).engine, write=False) as session:
        note = latest_note(session)
    if note is None:
        raise NotFound(
            "no checkpoint has been signed yet: run `changegate audit checkpoint --key FILE`"
        )
    return PlainTextResponse(note)


@router.get("/audit/proof/inclusion", tags=["audit"], summary="Inclusion proof of one event")
def inclusion_proof(ctx: ReadCtx, seq: LogSize, size: OptionalLogSize = None) -> dict[str, Any]:
    from changegate.audit.tree import inclusion

    ctx.require("audit.read", doing="read proofs of the audit log")
    return inclusion(ctx.session, seq, size).to_dict()


@router.get(
    "/audit/proof/consistency", tags=["audit"], summary="Consistency proof between two sizes"
)
def consistency_proof(ctx: ReadCtx, old: LogSize, new: OptionalLogSize = None) -> dict[str, Any]:
    from changegate.audit.tree import consistency

    ctx.require("audit.read", doing="read proofs of the audit log")
    return consistency(ctx.session, old, new).to_dict()


class CheckpointIn(BaseModel):
    """A checkpoint of this log signed by the caller's key (`changegate audit checkpoint`)."""

    note: str = Field(max_length=65536, description="the C2SP signed note")
    vkey: str = Field(max_length=1000, description="the verifier key of its signature")


@created(
    "/audit/checkpoint",
    None,
    "Record a checkpoint of this log signed by the caller (audit checkpoint)",
    tags=["audit"],
)
def record_checkpoint(ctx: WriteCtx, body: CheckpointIn) -> dict[str, str]:
    from changegate.audit.checkpoint import VerifierKey
    from changegate.audit.checkpoint_service import accept

    ctx.require("audit.verify", doing="record a checkpoint of the audit log")
    note = accept(ctx.session, body.note, VerifierKey.parse(body.vkey), actor=ctx.user.name)
    return {"checkpoint": note}
