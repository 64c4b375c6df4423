"""What the endpoints about one change share: the path parameters, finding the change, and
who the caller acts as."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Path

from changegate.api.deps import Ctx
from changegate.changes import service as changes
from changegate.changes.keys import change_key, parse_key
from changegate.changes.models import Change

#: a change id as the CLI takes it: CHG-12 or 12
Key = Annotated[
    str,
    Path(pattern=r"^([Cc][Hh][Gg]-)?[0-9]{1,9}$", max_length=13, description="e.g. CHG-12"),
]

#: a commit as a pipeline names it
Sha = Annotated[
    str, Path(max_length=100, description="the full SHA, 40 or 64 hex digits, e.g. $GITHUB_SHA")
]


Route = TypeVar("Route", bound=Callable[..., Any])
T = TypeVar("T")


class Declare(Protocol):
    def __call__(
        self, path: str, model: Any, summary: str, **options: Any
    ) -> Callable[[Route], Route]: ...


def creates(router: APIRouter) -> Declare:
    """The declaration of ``router``'s POSTs that record something new: ``(path, response
    model or None, summary, **route options)`` gives a 201 Created route."""

    def declare(path: str, model: Any, summary: str, **options: Any) -> Callable[[Route], Route]:
        if model is not None:
            options["response_model"] = model
        return router.post(path, status_code=201, summary=summary, **options)

    return declare


def change_for(ctx: Ctx, key: str, *, lock: bool = False) -> Change:
    """The change ``key`` names, parsed and bounded by ``changes.keys`` (and named CHG-N in
    the answer whichever form the caller used)."""
    return changes.get_change(ctx.session, change_key(parse_key(key)), lock=lock)


def acting_on(ctx: Ctx, key: str, by: str | None) -> tuple[str, Change]:
    """The caller, who may not name anyone else as the actor, and the change, locked."""
    actor = ctx.acting_as(by, field="by")
    return actor, change_for(ctx, key, lock=True)


class ActingBody(Protocol):
    """A request body that names who acts (``by``) and the service's keyword arguments."""

    by: str | None

    def fields(self) -> dict[str, Any]: ...


def record_on(ctx: Ctx, key: str, body: ActingBody, service: Callable[..., T], **extra: Any) -> T:
    """What ``service`` records on the change as the caller: the call every write on a change
    shares, ``service(session, policy, change, actor=..., **body.fields(), **extra)``. Who acts
    and the change are settled before the body's fields are decoded."""
    actor, change = acting_on(ctx, key, body.by)
    return service(ctx.session, ctx.policy, change, actor=actor, **body.fields(), **extra)


def deployer(ctx: Ctx, named: str | None, *, field: str) -> str:
    """The caller, who may name themselves by their GitHub login, as `gate --deployer` and
    `deploy --by` take it (a pipeline passes $GITHUB_ACTOR); still never someone else. A CI
    job's ID token names its deployer: the person who triggered the job."""
    if ctx.pipeline is not None:
        from changegate.auth.trust import pipeline_deployer

        return pipeline_deployer(ctx.pipeline, named, field=field)
    if named is None or named == ctx.user.name:
        return ctx.acting_as(named, field=field)
    from changegate.users.service import resolve_person

    return ctx.acting_as(resolve_person(ctx.session, named), field=field)


def require_read(ctx: Ctx) -> None:
    ctx.require("change.read", doing="read changes")


def commit_of(match: Any) -> dict[str, Any]:
    """How a change was found by a commit: the commit and how it is linked."""
    return {"commit": {"sha": match.sha, "linked_as": match.via}}
