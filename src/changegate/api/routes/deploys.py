"""The road to production of one change: the gate, deploying (by change or by commit),
rolling back, and the review an emergency change owes afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from changegate.api.deps import Ctx, WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.responses import (
    DeployByCommitOut,
    DeployOut,
    DeployRefusedOut,
    EmergencyReviewOut,
    GateByCommitOut,
    GateOut,
    RollbackOut,
)
from changegate.api.routes.common import (
    Key,
    Sha,
    acting_on,
    change_for,
    commit_of,
    creates,
    deployer,
    record_on,
)
from changegate.api.schemas import DeployIn, EmergencyReviewIn, GateIn, RollbackIn
from changegate.changes.models import Change

router = APIRouter(
    route_class=OneCallRoute, prefix="/api/changes", tags=["changes"], responses=COMMON_ERRORS
)
created = creates(router)

NO_LINKED_CHANGE: dict[int | str, dict[str, Any]] = {
    404: {"description": "No change is linked to the commit (NoLinkedChange)"}
}
REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"model": DeployRefusedOut, "description": "Refused by the gate (recorded)"}
}

#: finds the change to act on, locked, with what to add to the answer
Finder = Callable[[], tuple[Change, dict[str, Any]]]


def _by_key(ctx: Ctx, key: str) -> Finder:
    if ctx.pipeline is not None:  # a pipeline acts on the change of the commit it runs for
        return _by_commit(ctx, None, key=key)
    return lambda: (change_for(ctx, key, lock=True), {})


def _by_commit(ctx: Ctx, sha: str | None, *, key: str | None = None) -> Finder:
    def find() -> tuple[Change, dict[str, Any]]:
        from changegate.auth.trust import pipeline_change, pipeline_commit
        from changegate.changes.by_commit import find_change_by_commit

        commit = sha if ctx.pipeline is None else pipeline_commit(ctx.pipeline, sha)
        match = find_change_by_commit(ctx.session, commit or "", lock=True)
        if key is not None and ctx.pipeline is not None:
            pipeline_change(ctx.pipeline, match.change.key, change_for(ctx, key).key)
        return match.change, commit_of(match)

    return find


@router.post(
    "/{key}/gate",
    response_model=GateOut,
    summary="Evaluate the deploy gate for the caller as deployer (gate); the decision is recorded",
)
def gate(key: Key, body: GateIn, ctx: WriteCtx) -> dict[str, Any]:
    return _gate(ctx, body, _by_key(ctx, key))


@router.post(
    "/by-commit/{sha}/gate",
    response_model=GateByCommitOut,
    responses=NO_LINKED_CHANGE,
    summary="Gate the change a commit belongs to, found and locked in one transaction "
    "(gate --git-sha)",
)
def gate_by_commit(sha: Sha, body: GateIn, ctx: WriteCtx) -> dict[str, Any]:
    return _gate(ctx, body, _by_commit(ctx, sha))


def _gate(ctx: Ctx, body: GateIn, find: Finder) -> dict[str, Any]:
    from changegate.deployments.service import gate as gate_service

    who = deployer(ctx, body.deployer, field="deployer")
    ctx.require("gate.check", doing="run the deploy gate")
    _pipeline_env(ctx, body.env)
    change, extra = find()
    result = gate_service(
        ctx.session,
        ctx.policy,
        change,
        env=body.env,
        deployer=who,
        version=body.version,
        via=ctx.via,
    )
    return result.to_dict() | extra


@created(
    "/{key}/deploy", DeployOut, "Record a deployment if the gate passes (deploy)", responses=REFUSED
)
def deploy(key: Key, body: DeployIn, ctx: WriteCtx) -> Any:
    return _deploy(ctx, body, _by_key(ctx, key))


@created(
    "/by-commit/{sha}/deploy",
    DeployByCommitOut,
    "Deploy the change a commit belongs to if its gate passes, found and locked in one "
    "transaction (deploy --git-sha)",
    responses=NO_LINKED_CHANGE | REFUSED,
)
def deploy_by_commit(sha: Sha, body: DeployIn, ctx: WriteCtx) -> Any:
    return _deploy(ctx, body, _by_commit(ctx, sha))


def _deploy(ctx: Ctx, body: DeployIn, find: Finder) -> Any:
    from changegate.deployments.service import deploy as deploy_service

    actor = deployer(ctx, body.by, field="by")
    ctx.require("deploy", doing="deploy changes")
    _pipeline_env(ctx, body.env)
    change, extra = find()
    result = deploy_service(
        ctx.session,
        ctx.policy,
        change,
        env=body.env,
        version=body.version,
        actor=actor,
        via=ctx.via,
    )
    out: dict[str, Any] = {
        "deployed": result.deployment is not None,
        "deployment": None if result.deployment is None else result.deployment.audit_state(),
        "gate": result.gate.to_dict(),
        "state": change.state,
        "already_recorded": result.already_recorded,
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


def _pipeline_env(ctx: Ctx, env: str) -> None:
    if ctx.pipeline is not None:
        from changegate.auth.trust import pipeline_environment

        pipeline_environment(ctx.pipeline, env)


@created("/{key}/rollback", RollbackOut, "Record a rollback (rollback)")
def rollback(key: Key, body: RollbackIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.deployments.service import rollback as rollback_service

    actor, change = acting_on(ctx, key, body.by)
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


@created(
    "/{key}/emergency-review",
    EmergencyReviewOut,
    "Retrospective and post-incident review of an emergency change (review-emergency)",
)
def review_emergency(key: Key, body: EmergencyReviewIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.incidents.service import review_emergency as review

    return record_on(ctx, key, body, review).audit_state()
