"""The status read a pipeline polls, served from a per-process cache while the audit head
has not moved (``api/cache.py``). A cached answer goes only to a caller the policy lets read
changes, checked by the same ``policy.service.allowed`` as every other endpoint."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials

from changegate.api.deps import (
    AppState,
    Ctx,
    app_state,
    authenticate_with_token,
    bearer,
    ci_token,
    pipeline_ctx,
)
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.responses import StatusOut
from changegate.api.routes.common import Key, change_for, require_read
from changegate.changes.keys import parse_key
from changegate.policy.service import allowed

router = APIRouter(
    route_class=OneCallRoute, prefix="/api/changes", tags=["changes"], responses=COMMON_ERRORS
)


@router.get(
    "/{key}/status",
    response_model=None,
    responses={200: {"model": StatusOut, "description": "Every requirement, met or unmet"}},
    summary="Every requirement the policy puts on the change (status)",
)
async def change_status(
    key: Key,
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Response:
    """The read a pipeline polls. Served from the per-process cache while the audit head has
    not moved (``api/cache.py``): one read of one row instead of the evaluation's queries."""
    raw = credentials.credentials if credentials is not None else None
    if raw is None and request.headers.get("authorization"):
        raw = "-"
    cached = _cached_status(request, key, raw)
    if cached is not None:
        return cached
    return await run_in_threadpool(_status, request, key, raw)


@dataclass(frozen=True)
class _Principal:
    """What the status read needs of a caller, kept between requests."""

    name: str
    roles: tuple[str, ...]
    expires_at: dt.datetime | None


def _head_seq_raw(state: AppState) -> int:
    """The audit head through the bare DB-API connection: the ORM and the statement machinery
    cost ten times the query itself on this path."""
    conn = state.engine.raw_connection()
    try:
        return _read_head(conn)
    finally:
        conn.close()


def _read_head(conn: Any) -> int:
    cur = conn.cursor()
    cur.execute("SELECT seq FROM audit_head WHERE id = 1")
    row = cur.fetchone()
    cur.close()
    return int(row[0]) if row else 0


def _cached_body(state: AppState, key: str, raw: str | None, seq: int) -> bytes | None:
    """The cached report for a remembered caller who may still read changes, or None."""
    from changegate.auth.service import sha256_hex

    if not raw:
        return None
    who = state.cache.peek(("principal", sha256_hex(raw)), seq)
    if not isinstance(who, _Principal) or (
        who.expires_at is not None and who.expires_at <= dt.datetime.now(dt.UTC)
    ):
        return None
    if not allowed(state.policy, who, "change.read"):
        return None
    body = state.cache.peek(("status", parse_key(key), state.loaded.digest), seq)
    return body if isinstance(body, bytes) else None


def _cached_status(request: Request, key: str, raw: str | None) -> Response | None:
    """On SQLite, a cache hit is answered on the event loop itself: the head is one row of a
    local file read in microseconds, through a connection only the loop uses (WAL readers
    never wait for writers). Anything else goes to a worker thread."""
    state = app_state(request)
    if state.engine.dialect.name != "sqlite" or not raw:
        return None
    conn: Any = state.extra.get("loop_connection")
    if conn is None:
        conn = state.extra["loop_connection"] = state.engine.raw_connection()
    body = _cached_body(state, key, raw, _read_head(conn))
    return None if body is None else Response(body, media_type="application/json")


def _status(request: Request, key: str, raw: str | None) -> Response:
    from changegate.api.cache import head_seq
    from changegate.auth.service import sha256_hex
    from changegate.changes.status import status_report
    from changegate.db import session_scope

    state = app_state(request)
    body_key = ("status", parse_key(key), state.loaded.digest)
    body = _cached_body(state, key, raw, _head_seq_raw(state))
    if body is not None:
        return Response(body, media_type="application/json")
    job = ci_token(request, state, raw)  # a CI job's ID token: never remembered as a principal
    with session_scope(state.engine, write=False) as session:
        seq = head_seq(session)  # first, so what is computed is at least as new as its label
        if job is not None:
            ctx = pipeline_ctx(request, session, state, *job)
            require_read(ctx)
        else:
            user, token = authenticate_with_token(request, session, raw)
            ctx = Ctx(session, user, state, request)
            require_read(ctx)
            if raw:
                who = _Principal(user.name, tuple(user.roles), token.expires_at)
                state.cache.put(("principal", sha256_hex(raw)), seq, who)
        report = status_report(session, ctx.policy, change_for(ctx, key))
    body = json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode()
    state.cache.put(body_key, seq, body, _ttl(report))
    return Response(body, media_type="application/json")


def _ttl(report: dict[str, Any]) -> float | None:
    """Seconds until the first unmet requirement falls due (the answer changes then)."""
    dues = [
        dt.datetime.fromisoformat(r["due"].replace("Z", "+00:00"))
        for r in report["requirements"]
        if r["due"] and not r["met"]
    ]
    return (min(dues) - dt.datetime.now(dt.UTC)).total_seconds() if dues else None
