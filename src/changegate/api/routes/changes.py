"""Change requests: list, create, show, edit, submit, close, and finding one by a commit.

Each endpoint is the API face of one CLI command and returns what that command prints with
``--json``. What is done to a change lives beside: ``status``, ``reviews``, ``evidence`` and
``deploys``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response
from pydantic import ValidationError

from changegate.api.deps import ReadCtx, WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.list_query import ChangeQuery, change_query, query_parameters
from changegate.api.one_call import OneCallRoute
from changegate.api.responses import ChangeByCommitOut, ChangeDetailOut, ChangeOut
from changegate.api.routes.common import (
    Key,
    Sha,
    acting_on,
    change_for,
    commit_of,
    creates,
    require_read,
)
from changegate.api.schemas import ActorIn, ChangeEdit, ChangeNew
from changegate.changes import service as changes
from changegate.errors import InvalidInput

router = APIRouter(
    route_class=OneCallRoute, prefix="/api/changes", tags=["changes"], responses=COMMON_ERRORS
)
created = creates(router)


@router.get(
    "",
    response_model=list[ChangeOut],
    summary="List changes (change list)",
    openapi_extra={"parameters": query_parameters(ChangeQuery)},
)
def list_changes(
    ctx: ReadCtx,
    request: Request,
    filters: Annotated[ChangeQuery, Depends(change_query)],
) -> Response:
    """A page of changes, newest first unless ``sort`` says otherwise. The next and previous
    pages' URLs are in the ``Link`` header (``rel="next"``, ``rel="prev"``, as GitHub's API
    does); no ``rel="next"`` on the last page.

    The rows are ``Change.audit_state()``, which is ``ChangeOut`` field for field: they are
    sent as they are rather than validated again (half the time of a 50-row page), written by
    orjson (the bytes Starlette's ``JSONResponse`` writes, a tenth of the time)."""
    import orjson

    from changegate.changes.listing import list_states

    require_read(ctx)
    page = list_states(
        ctx.session,
        filters.to_filter(),
        sort=filters.sort,
        limit=filters.limit,
        cursor=filters.cursor,
    )
    links = [
        f'<{request.url.include_query_params(cursor=c)}>; rel="{rel}"'
        for rel, c in (("next", page.next), ("prev", page.prev))
        if c
    ]
    headers = {"Link": ", ".join(links)} if links else None
    return Response(orjson.dumps(page.rows), media_type="application/json", headers=headers)


@created("", ChangeOut, "Create a change as a draft (change new)")
def create_change(body: ChangeNew, ctx: WriteCtx, response: Response) -> dict[str, Any]:
    from changegate.changes.schemas import ChangeCreate

    author = ctx.acting_as(body.author, field="author")
    try:
        fields = body.model_dump(exclude_none=True, exclude={"author", "fixes", "triggered_by"})
        data = ChangeCreate(**fields, author=author)
    except ValidationError as exc:  # pragma: no cover - ChangeNew already enforces these
        raise InvalidInput(str(exc), field="change") from exc
    change = changes.create_change(ctx.session, ctx.policy, data)
    if body.fixes or body.triggered_by:
        from changegate.findings.links import link_new_change

        link_new_change(
            ctx.session,
            ctx.policy,
            change,
            fixes=body.fixes,
            triggered_by=body.triggered_by,
            actor=author,
        )
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
    from changegate.changes.by_commit import find_change_by_commit
    from changegate.changes.status import change_report

    require_read(ctx)
    match = find_change_by_commit(ctx.session, sha)
    return change_report(ctx.session, ctx.policy, match.change) | commit_of(match)


@router.get(
    "/{key}",
    response_model=ChangeDetailOut,
    summary="A change, its reviews and evidence (change show)",
)
def show_change(key: Key, ctx: ReadCtx) -> dict[str, Any]:
    from changegate.changes.status import change_report

    require_read(ctx)
    return change_report(ctx.session, ctx.policy, change_for(ctx, key))


@router.patch("/{key}", response_model=ChangeOut, summary="Edit a change (change edit)")
def edit_change(key: Key, body: ChangeEdit, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.changes.schemas import ChangeUpdate

    actor, change = acting_on(ctx, key, body.by)
    data = ChangeUpdate(**body.model_dump(exclude_none=True, exclude={"by"}))
    changes.edit_change(ctx.session, ctx.policy, change, data, actor=actor)
    return change.audit_state()


@router.post("/{key}/submit", response_model=ChangeOut, summary="Submit for review (change submit)")
def submit_change(
    key: Key, ctx: WriteCtx, body: Annotated[ActorIn, Body(default_factory=ActorIn)]
) -> dict[str, Any]:
    actor, change = acting_on(ctx, key, body.by)
    return changes.submit_change(ctx.session, ctx.policy, change, actor=actor).audit_state()


@router.post("/{key}/close", response_model=ChangeOut, summary="Close a change (change close)")
def close_change(
    key: Key, ctx: WriteCtx, body: Annotated[ActorIn, Body(default_factory=ActorIn)]
) -> dict[str, Any]:
    actor, change = acting_on(ctx, key, body.by)
    changes.close_change(ctx.session, ctx.policy, change, actor=actor)
    return change.audit_state()
