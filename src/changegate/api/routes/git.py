"""What the commands that read a repository ask of the record: a change created from a range
the client read (`change from-git`), and the history audit's lookup (`audit git`).

The repository is where the CLI runs, not on the server: the client sends what it read and
the server does the rest under its policy, as local mode does in one process.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import Field, StringConstraints, ValidationError

from changegate.api.deps import ReadCtx, WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.routes.common import creates
from changegate.api.schemas import Body, Name
from changegate.changes.schemas import RiskEntry
from changegate.errors import InvalidInput
from changegate.scm.history_wire import MAX_LOOKUP
from changegate.scm.range_read import MAX_RANGE_COMMITS

router = APIRouter(route_class=OneCallRoute, tags=["git"], responses=COMMON_ERRORS)
created = creates(router)

#: a full commit object name, as git prints it
FullSha = Annotated[str, StringConstraints(pattern=r"^([0-9a-f]{40}|[0-9a-f]{64})$")]
GitPath = Annotated[str, StringConstraints(min_length=1, max_length=4096)]
Text = Annotated[str, StringConstraints(max_length=320)]
#: paths in one range; a larger range does not fit the request size limit anyway
MAX_PATHS = 50_000


class RangeFileIn(Body):
    status: Annotated[str, StringConstraints(pattern=r"^[A-Z]$")]
    path: GitPath
    old_path: GitPath | None = None


class RangeIn(Body):
    """What the client read of the range (``scm.range_read.RangeRead.to_dict``)."""

    git_range: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    base: FullSha
    head: FullSha
    files: list[RangeFileIn] = Field(max_length=MAX_PATHS)
    commit_paths: list[GitPath] = Field(max_length=MAX_PATHS)
    commits: list[FullSha] = Field(max_length=MAX_RANGE_COMMITS)
    identities: list[tuple[FullSha, Text, Text, Text, Text]] = Field(max_length=MAX_RANGE_COMMITS)


class FromGitIn(Body):
    """A change for a range, fields as in `changegate change from-git`."""

    range: RangeIn
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    author: str | None = Name
    change_class: str | None = Field(default=None, max_length=20)
    description: str | None = None
    risk: dict[str, RiskEntry] | None = None
    rollback_plan: str | None = None
    justification: str | None = None
    links: list[str] | None = None


class LookupIn(Body):
    shas: list[FullSha] = Field(max_length=MAX_LOOKUP)


@created(
    "/api/git/changes",
    None,
    "Create a change from a commit range the client read (change from-git)",
)
def change_from_git(body: FromGitIn, ctx: WriteCtx, response: Response) -> dict[str, Any]:
    """Classified by the server's policy from the files the client reports. A reported range
    never makes a pre-approved (standard) change: the server cannot check the files against
    the commits, so such a range is refused with the way out (a pull request, or --class
    normal)."""
    from changegate.changes.from_git import create_change_from_read
    from changegate.scm.range_read import RangeRead

    author = ctx.acting_as(body.author, field="author")
    fields = body.model_dump(exclude_none=True, exclude={"range", "author", "change_class"})
    read = RangeRead.from_dict(body.range.model_dump())
    try:
        change, result = create_change_from_read(
            ctx.session,
            ctx.policy,
            read,
            author=author,
            requested_class=body.change_class,
            fields=fields,
            reported=True,
        )
    except ValidationError as exc:
        raise InvalidInput(str(exc), field="change") from exc
    response.headers["Location"] = f"/api/changes/{change.key}"
    return change.audit_state() | {"classification": result.to_dict()}


@router.post(
    "/api/audit/commit-lookup",
    summary="The change record behind each commit of a batch (audit git)",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "scm.history_wire"}},
)
def commit_lookup(body: LookupIn, ctx: ReadCtx) -> Response:
    """For each SHA linked to a change or deployed as GitHub reported: the change, its
    author, who approved it as the policy counts approval, and the deployments; SHAs with
    nothing recorded are absent. The client walks the history and judges each commit.
    Serialised here in one ``json.dumps`` (thousands of plain lists: FastAPI's generic
    encoder would walk each value)."""
    import json

    from changegate.scm.history_db import DatabaseLookup
    from changegate.scm.history_wire import links_to_json

    ctx.require("audit.read", doing="audit a branch's history")
    links = DatabaseLookup(ctx.session, ctx.policy)(body.shas)
    return Response(json.dumps(links_to_json(links)), media_type="application/json")
