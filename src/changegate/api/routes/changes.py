"""Change requests and everything done to one: reviews, evidence, status, gate, deployments.

Each endpoint is the API face of one CLI command and returns what that command prints with
``--json``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import ValidationError

from changegate.api.deps import (
    AppState,
    Ctx,
    ReadCtx,
    WriteCtx,
    app_state,
    authenticate_with_token,
    bearer,
)
from changegate.api.errors import COMMON_ERRORS
from changegate.api.schemas import (
    ActorIn,
    ApproveIn,
    ChangeByCommitOut,
    ChangeDetailOut,
    ChangeEdit,
    ChangeNew,
    ChangeOut,
    DeployByCommitOut,
    DeployIn,
    DeployOut,
    DeployRefusedOut,
    DocumentIn,
    EmergencyReviewIn,
    EmergencyReviewOut,
    EvidenceOut,
    GateByCommitOut,
    GateIn,
    GateOut,
    JunitIn,
    RejectIn,
    ReviewStateOut,
    RollbackIn,
    RollbackOut,
    StatusOut,
    ValidationIn,
)
from changegate.changes import service as changes
from changegate.changes.models import Change
from changegate.errors import InvalidInput, NotFound

router = APIRouter(prefix="/api/changes", tags=["changes"], responses=COMMON_ERRORS)

#: a change id as the CLI takes it: CHG-12 or 12
Key = Annotated[
    str,
    Path(pattern=r"^([Cc][Hh][Gg]-)?[0-9]{1,9}$", max_length=13, description="e.g. CHG-12"),
]

#: a commit as a pipeline names it
Sha = Annotated[
    str, Path(max_length=100, description="the full SHA, 40 or 64 hex digits, e.g. $GITHUB_SHA")
]


def _key(key: str) -> int:
    """The change number, refused before it reaches the database if it cannot be one."""
    if len(key) > 30:
        raise InvalidInput(
            f"{key[:30]!r}... is not a change id; use the form CHG-12", field="change"
        )
    number = changes.parse_key(key)
    if number > 2**31 - 1:
        raise NotFound(f"no change {key}; `changegate change list` shows them", field="change")
    return number


def _change(ctx: Ctx, key: str, *, lock: bool = False) -> Change:
    return changes.get_change(ctx.session, f"CHG-{_key(key)}", lock=lock)


def _deployer(ctx: Ctx, named: str | None, *, field: str) -> str:
    """The caller, who may name themselves by their GitHub login, as `gate --deployer` and
    `deploy --by` take it (a pipeline passes $GITHUB_ACTOR); still never someone else."""
    if named is None or named == ctx.user.name:
        return ctx.acting_as(named, field=field)
    from changegate.users.service import resolve_person

    return ctx.acting_as(resolve_person(ctx.session, named), field=field)


def _read(ctx: Ctx) -> None:
    ctx.require("change.read", doing="read changes")


@router.get("", response_model=list[ChangeOut], summary="List changes (change list)")
def list_changes(
    ctx: ReadCtx,
    state: str | None = Query(default=None, max_length=20, description="Only this state"),
) -> list[dict[str, Any]]:
    _read(ctx)
    return [c.audit_state() for c in changes.list_changes(ctx.session, state=state)]


@router.post(
    "",
    status_code=201,
    response_model=ChangeOut,
    summary="Create a change as a draft (change new)",
)
def create_change(body: ChangeNew, ctx: WriteCtx, response: Response) -> dict[str, Any]:
    from changegate.changes.schemas import ChangeCreate

    author = ctx.acting_as(body.author, field="author")
    try:
        data = ChangeCreate(**body.model_dump(exclude_none=True, exclude={"author"}), author=author)
    except ValidationError as exc:  # pragma: no cover - ChangeNew already enforces these
        raise InvalidInput(str(exc), field="change") from exc
    change = changes.create_change(ctx.session, ctx.policy, data)
    response.headers["Location"] = f"/api/changes/{change.key}"
    return change.audit_state()


@router.get(
    "/by-commit/{sha}",
    response_model=ChangeByCommitOut,
    responses={404: {"description": "No change is linked to the commit (NoLinkedChange)"}},
    summary="The change a commit belongs to (gate --git-sha, deploy --git-sha)",
)
def change_by_commit(sha: Sha, ctx: ReadCtx) -> dict[str, Any]:
    """What ``change show --json`` returns, plus ``commit``: the commit and how it is linked
    (a merge or pushed commit outranks a listed one), so a pipeline can gate by its SHA."""
    from changegate.changes.status import change_report
    from changegate.scm.service import find_change_by_commit

    _read(ctx)
    match = find_change_by_commit(ctx.session, sha)
    return change_report(ctx.session, ctx.policy, match.change) | _commit(match)


@router.get(
    "/{key}",
    response_model=ChangeDetailOut,
    summary="A change, its reviews and evidence (change show)",
)
def show_change(key: Key, ctx: ReadCtx) -> dict[str, Any]:
    from changegate.changes.status import change_report

    _read(ctx)
    return change_report(ctx.session, ctx.policy, _change(ctx, key))


@router.patch("/{key}", response_model=ChangeOut, summary="Edit a change (change edit)")
def edit_change(key: Key, body: ChangeEdit, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.changes.schemas import ChangeUpdate

    actor = ctx.acting_as(body.by, field="by")
    change = _change(ctx, key, lock=True)
    data = ChangeUpdate(**body.model_dump(exclude_none=True, exclude={"by"}))
    changes.edit_change(ctx.session, ctx.policy, change, data, actor=actor)
    return change.audit_state()


@router.post("/{key}/submit", response_model=ChangeOut, summary="Submit for review (change submit)")
def submit_change(
    key: Key, ctx: WriteCtx, body: Annotated[ActorIn, Body(default_factory=ActorIn)]
) -> dict[str, Any]:
    actor = ctx.acting_as(body.by, field="by")
    change = changes.submit_change(
        ctx.session, ctx.policy, _change(ctx, key, lock=True), actor=actor
    )
    return change.audit_state()


@router.post("/{key}/close", response_model=ChangeOut, summary="Close a change (change close)")
def close_change(
    key: Key, ctx: WriteCtx, body: Annotated[ActorIn, Body(default_factory=ActorIn)]
) -> dict[str, Any]:
    actor = ctx.acting_as(body.by, field="by")
    change = _change(ctx, key, lock=True)
    if change.author != actor:
        ctx.require("change.close_any", doing=f"close {change.key} (authored by {change.author})")
    changes.close_change(ctx.session, ctx.policy, change, actor=actor)
    return change.audit_state()


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
        cur = conn.cursor()
        cur.execute("SELECT seq FROM audit_head WHERE id = 1")
        row = cur.fetchone()
        cur.close()
    finally:
        conn.close()
    return int(row[0]) if row else 0


def _cached_status(request: Request, key: str, raw: str | None) -> Response | None:
    """On SQLite, a cache hit is answered on the event loop itself: the head is one row of a
    local file read in microseconds, through a connection only the loop uses (WAL readers
    never wait for writers). Anything else goes to a worker thread."""
    from changegate.auth.service import sha256_hex

    state = app_state(request)
    if state.engine.dialect.name != "sqlite" or not raw:
        return None
    conn: Any = state.extra.get("loop_connection")
    if conn is None:
        conn = state.extra["loop_connection"] = state.engine.raw_connection()
    cur = conn.cursor()
    cur.execute("SELECT seq FROM audit_head WHERE id = 1")
    row = cur.fetchone()
    cur.close()
    if row is None:
        return None
    seq = int(row[0])
    who = state.cache.peek(("principal", sha256_hex(raw)), seq)
    if not isinstance(who, _Principal) or (
        who.expires_at is not None and who.expires_at <= dt.datetime.now(dt.UTC)
    ):
        return None
    if not set(who.roles) & set(state.policy.permissions.get("change.read", [])):
        return None
    body = state.cache.peek(("status", _key(key), state.loaded.digest), seq)
    return None if body is None else Response(body, media_type="application/json")


def _status(request: Request, key: str, raw: str | None) -> Response:
    from changegate.api.cache import head_seq
    from changegate.auth.service import sha256_hex
    from changegate.changes.status import status_report
    from changegate.db import session_scope

    state = app_state(request)
    change_id = _key(key)
    body_key = ("status", change_id, state.loaded.digest)
    who_key = ("principal", sha256_hex(raw)) if raw else None
    seq = _head_seq_raw(state)
    who = state.cache.peek(who_key, seq) if who_key else None
    if isinstance(who, _Principal) and (
        who.expires_at is None or who.expires_at > dt.datetime.now(dt.UTC)
    ):
        body = state.cache.peek(body_key, seq)
        if body is not None and set(who.roles) & set(
            state.policy.permissions.get("change.read", [])
        ):
            return Response(body, media_type="application/json")
    with session_scope(state.engine, write=False) as session:
        seq = head_seq(session)  # first, so what is computed is at least as new as its label
        user, token = authenticate_with_token(request, session, raw)
        ctx = Ctx(session, user, state, request)
        _read(ctx)
        if who_key is not None:
            who = _Principal(user.name, tuple(user.roles), token.expires_at)
            state.cache.put(who_key, seq, who)
        report = status_report(session, ctx.policy, _change(ctx, key))
    dues = [
        dt.datetime.fromisoformat(r["due"].replace("Z", "+00:00"))
        for r in report["requirements"]
        if r["due"] and not r["met"]
    ]
    ttl = (min(dues) - dt.datetime.now(dt.UTC)).total_seconds() if dues else None
    body = json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode()
    state.cache.put(body_key, seq, body, ttl)
    return Response(body, media_type="application/json")


@router.post(
    "/{key}/approve",
    status_code=201,
    response_model=ReviewStateOut,
    summary="Approve (approve); never your own change",
)
def approve(key: Key, body: ApproveIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.reviews.service import approve as approve_change

    actor = ctx.acting_as(body.by, field="by")
    change = _change(ctx, key, lock=True)
    review = approve_change(ctx.session, ctx.policy, change, actor=actor, comment=body.comment)
    return review.audit_state() | {"state": change.state}


@router.post(
    "/{key}/reject", status_code=201, response_model=ReviewStateOut, summary="Reject (reject)"
)
def reject(key: Key, body: RejectIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.reviews.service import reject as reject_change

    actor = ctx.acting_as(body.by, field="by")
    change = _change(ctx, key, lock=True)
    review = reject_change(ctx.session, ctx.policy, change, actor=actor, comment=body.comment)
    return review.audit_state() | {"state": change.state}


@router.post(
    "/{key}/evidence/junit",
    status_code=201,
    response_model=EvidenceOut,
    summary="Attach JUnit XML results (evidence add --junit)",
)
def add_junit(key: Key, body: JunitIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.evidence.service import add_junit as add

    actor = ctx.acting_as(body.by, field="by")
    change = _change(ctx, key, lock=True)
    ev = add(
        ctx.session, ctx.policy, change, content=body.content(), filename=body.filename, actor=actor
    )
    return ev.audit_state()


@router.post(
    "/{key}/evidence/validation",
    status_code=201,
    response_model=EvidenceOut,
    summary="Record a named validation (evidence add --validation)",
)
def add_validation(key: Key, body: ValidationIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.evidence.service import add_validation as add

    actor = ctx.acting_as(body.by, field="by")
    change = _change(ctx, key, lock=True)
    ev = add(
        ctx.session,
        ctx.policy,
        change,
        name=body.name,
        result=body.result,
        details=body.details,
        report=body.report(),
        report_filename=body.report_filename,
        actor=actor,
    )
    return ev.audit_state()


@router.post(
    "/{key}/evidence/document",
    status_code=201,
    response_model=EvidenceOut,
    summary="Attach a document (evidence add --document)",
)
def add_document(key: Key, body: DocumentIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.evidence.service import add_document as add

    actor = ctx.acting_as(body.by, field="by")
    change = _change(ctx, key, lock=True)
    ev = add(
        ctx.session,
        ctx.policy,
        change,
        content=body.content(),
        filename=body.filename,
        kind=body.kind,
        details=body.details,
        actor=actor,
    )
    return ev.audit_state()


@router.post(
    "/{key}/gate",
    response_model=GateOut,
    summary="Evaluate the deploy gate for the caller as deployer (gate); the decision is recorded",
)
def gate(key: Key, body: GateIn, ctx: WriteCtx) -> dict[str, Any]:
    deployer = _deployer(ctx, body.deployer, field="deployer")
    ctx.require("gate.check", doing="run the deploy gate")
    return _gate(ctx, _change(ctx, key, lock=True), body, deployer)


@router.post(
    "/by-commit/{sha}/gate",
    response_model=GateByCommitOut,
    responses={404: {"description": "No change is linked to the commit (NoLinkedChange)"}},
    summary="Gate the change a commit belongs to, found and locked in one transaction "
    "(gate --git-sha)",
)
def gate_by_commit(sha: Sha, body: GateIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.scm.service import find_change_by_commit

    deployer = _deployer(ctx, body.deployer, field="deployer")
    ctx.require("gate.check", doing="run the deploy gate")
    match = find_change_by_commit(ctx.session, sha, lock=True)
    return _gate(ctx, match.change, body, deployer) | _commit(match)


def _gate(ctx: Ctx, change: Change, body: GateIn, deployer: str) -> dict[str, Any]:
    from changegate.deployments.service import gate as gate_service

    return gate_service(ctx.session, ctx.policy, change, env=body.env, deployer=deployer).to_dict()


def _commit(match: Any) -> dict[str, Any]:
    return {"commit": {"sha": match.sha, "linked_as": match.via}}


@router.post(
    "/{key}/deploy",
    status_code=201,
    response_model=DeployOut,
    responses={409: {"model": DeployRefusedOut, "description": "Refused by the gate (recorded)"}},
    summary="Record a deployment if the gate passes (deploy)",
)
def deploy(key: Key, body: DeployIn, ctx: WriteCtx) -> Any:
    actor = _deployer(ctx, body.by, field="by")
    ctx.require("deploy", doing="deploy changes")
    return _deploy(ctx, _change(ctx, key, lock=True), body, actor, {})


@router.post(
    "/by-commit/{sha}/deploy",
    status_code=201,
    response_model=DeployByCommitOut,
    responses={
        404: {"description": "No change is linked to the commit (NoLinkedChange)"},
        409: {"model": DeployRefusedOut, "description": "Refused by the gate (recorded)"},
    },
    summary="Deploy the change a commit belongs to if its gate passes, found and locked in one "
    "transaction (deploy --git-sha)",
)
def deploy_by_commit(sha: Sha, body: DeployIn, ctx: WriteCtx) -> Any:
    from changegate.scm.service import find_change_by_commit

    actor = _deployer(ctx, body.by, field="by")
    ctx.require("deploy", doing="deploy changes")
    match = find_change_by_commit(ctx.session, sha, lock=True)
    return _deploy(ctx, match.change, body, actor, _commit(match))


def _deploy(ctx: Ctx, change: Change, body: DeployIn, actor: str, extra: dict[str, Any]) -> Any:
    from changegate.deployments.service import deploy as deploy_service

    result = deploy_service(
        ctx.session, ctx.policy, change, env=body.env, version=body.version, actor=actor
    )
    out: dict[str, Any] = {
        "deployed": result.deployment is not None,
        "deployment": None if result.deployment is None else result.deployment.audit_state(),
        "gate": result.gate.to_dict(),
        "state": change.state,
        **extra,
    }
    if result.deployment is None:
        unmet = "; ".join(f"{r['rule']}: {r['reason']}" for r in out["gate"]["unmet"])
        message = f"deployment of {change.key} to {body.env} refused by the gate: {unmet}"
        # a refusal is recorded: this response commits the gate decision, it is not an error
        return JSONResponse(
            out | {"error": "GateClosed", "message": message, "field": "change"}, status_code=409
        )
    return out


@router.post(
    "/{key}/rollback",
    status_code=201,
    response_model=RollbackOut,
    summary="Record a rollback (rollback)",
)
def rollback(key: Key, body: RollbackIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.deployments.service import rollback as rollback_service

    actor = ctx.acting_as(body.by, field="by")
    change = _change(ctx, key, lock=True)
    dep = rollback_service(
        ctx.session,
        ctx.policy,
        change,
        env=body.env,
        to_version=body.to,
        reason=body.reason,
        actor=actor,
    )
    return dep.audit_state() | {"state": change.state}


@router.post(
    "/{key}/emergency-review",
    status_code=201,
    response_model=EmergencyReviewOut,
    summary="Retrospective and post-incident review of an emergency change (review-emergency)",
)
def review_emergency(key: Key, body: EmergencyReviewIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.incidents.service import review_emergency as review

    actor = ctx.acting_as(body.by, field="by")
    change = _change(ctx, key, lock=True)
    return review(
        ctx.session,
        ctx.policy,
        change,
        actor=actor,
        root_cause=body.root_cause,
        actions_taken=body.actions,
        preventive_controls=body.preventive,
    ).audit_state()
