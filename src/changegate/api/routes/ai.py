"""AI/GenAI governance over HTTP (policy §10.2): the provider register and its DPAs, the
security impact assessment, and the evidence of `ai regress`, `isolation`, `injection` and
`import`. A check's body carries what the target answered; the server judges it under the
policy in force (``ai.checks``), the same functions the local CLI calls. Who may do what is
decided there: the register by ``ai.provider.manage``, the assessment by
``ai.security_assessor_roles``, evidence by ``evidence.add``; the actor is the token's user.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi import Path as PathParam

from changegate.ai import checks, register
from changegate.api.deps import ReadCtx, WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.routes.ai_schemas import (
    AssessIn,
    DpaIn,
    ImportIn,
    ObservationIn,
    PreflightIn,
    ProviderIn,
    RegressIn,
)
from changegate.api.routes.common import Key, change_for, creates, record_on

router = APIRouter(route_class=OneCallRoute, tags=["ai"], responses=COMMON_ERRORS)
created = creates(router)
ON_CHANGE = "/api/changes/{key}/ai"
PROVIDERS = "/api/ai/providers"


@router.post(f"{ON_CHANGE}/preflight", summary="May this caller store AI evidence on the change?")
def preflight(key: Key, body: PreflightIn, ctx: ReadCtx) -> dict[str, Any]:
    actor = ctx.acting_as(body.by, field="by")
    change = change_for(ctx, key)
    return checks.preflight(
        ctx.session, ctx.policy, change, actor=actor, baseline_for=body.baseline_for
    )


@created(f"{ON_CHANGE}/regress", None, "Judge and store a behavioural regression run (ai regress)")
def regress(key: Key, body: RegressIn, ctx: WriteCtx) -> dict[str, Any]:
    return record_on(ctx, key, body, checks.record_regression)


@created(f"{ON_CHANGE}/isolation", None, "Judge and store a tenant-isolation run (ai isolation)")
def isolation(key: Key, body: ObservationIn, ctx: WriteCtx) -> dict[str, Any]:
    return _judged(key, body, ctx, "isolation")


@created(
    f"{ON_CHANGE}/injection",
    None,
    "Judge and store the prompt-injection probes' answers (ai injection)",
)
def injection(key: Key, body: ObservationIn, ctx: WriteCtx) -> dict[str, Any]:
    return _judged(key, body, ctx, "injection")


def _judged(key: str, body: ObservationIn, ctx: WriteCtx, check: str) -> dict[str, Any]:
    return record_on(ctx, key, body, checks.record_check, check=check)


@created(f"{ON_CHANGE}/import", None, "Import promptfoo, DeepEval or garak results (ai import)")
def import_results(key: Key, body: ImportIn, ctx: WriteCtx) -> dict[str, Any]:
    return record_on(ctx, key, body, checks.record_import)


@created(
    f"{ON_CHANGE}/assess",
    None,
    "Record the security impact assessment (ai assess; ai.security_assessor_roles)",
)
def assess(key: Key, body: AssessIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.ai.security import record_assessment

    return record_on(ctx, key, body, record_assessment).to_dict()


@router.get(PROVIDERS, summary="The LLM provider register with DPA states (ai provider list)")
def providers(ctx: ReadCtx) -> dict[str, Any]:
    return register.listing(ctx.session, ctx.policy)


@created(PROVIDERS, None, "Register an LLM provider (ai provider add; ai.provider.manage)")
def provider_add(body: ProviderIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.ai.providers import add_provider

    actor = ctx.acting_as(body.by, field="by")
    return add_provider(ctx.session, ctx.policy, actor=actor, **body.fields()).audit_state()


@router.post(
    f"{PROVIDERS}/{{name}}/dpa",
    summary="Record a provider's DPA (ai provider dpa; ai.provider.manage)",
)
def provider_dpa(
    body: DpaIn,
    ctx: WriteCtx,
    name: str = PathParam(max_length=100, description="e.g. anthropic"),
) -> dict[str, Any]:
    actor = ctx.acting_as(body.by, field="by")
    return register.record_dpa(ctx.session, ctx.policy, name, actor=actor, **body.fields())
