"""The pages of change requests: the dashboard, the list, a change with its review, and the
forms that create, edit and submit one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from changegate.api.list_query import ChangeQuery, change_query
from changegate.api.one_call import OneCallRoute
from changegate.changes import permissions
from changegate.changes import service as changes
from changegate.changes.models import Change
from changegate.errors import InvalidInput
from changegate.reviews import service as reviews
from changegate.web.forms import FormValues, errors_from, missing_errors
from changegate.web.render import FormBody, FormInvalid, form_dict, granted, redirect, render
from changegate.web.session import WebCtx, WebRead, WebWrite

router = APIRouter(route_class=OneCallRoute, include_in_schema=False)

DONE = {
    "created": "Draft saved.",
    "submitted": "Submitted for review.",
    "edited": "Changes saved.",
    "approved": "Approved.",
    "rejected": "Rejected; the author can edit and resubmit.",
    "password": "Password changed.",
    "assessed": "Security impact assessment recorded.",
}


@router.get("/")
def dashboard(request: Request, ctx: WebRead) -> Response:
    from changegate.obligations.service import obligations
    from changegate.web.views import dashboard as gather

    ctx.require("change.read", doing="read changes")
    owed = obligations(ctx.session, ctx.policy, ctx.app.loaded.digest, may=ctx.allowed)
    context = gather(ctx.session, ctx.policy, ctx.user) | {"obligations": owed}
    return render(request, "dashboard.html", context, ctx=ctx)


#: what the list's table (macros.html ``change_table``) shows of each change
LIST_COLUMNS = ("title", "change_class", "category", "state", "author", "updated_at")


@router.get("/changes")
def change_list(
    request: Request,
    ctx: WebRead,
    query: Annotated[ChangeQuery, Depends(change_query)],
    mine: bool = False,
) -> Response:
    """A page of changes with the filters form; the page links keep the filters."""
    from urllib.parse import urlencode

    from changegate.changes.listing import DEFAULT_LIMIT, list_page

    ctx.require("change.read", doing="read changes")
    if mine:
        query = query.model_copy(update={"author": ctx.user.name})
    filters = query.to_filter()
    page = list_page(
        ctx.session,
        filters,
        sort=query.sort,
        limit=query.limit,
        cursor=query.cursor,
        columns=LIST_COLUMNS,
    )
    kept: dict[str, Any] = filters.given()
    kept |= {"sort": query.sort} if query.sort != "-created" else {}
    kept |= {"limit": query.limit} if query.limit != DEFAULT_LIMIT else {}
    if mine:
        kept = {k: v for k, v in kept.items() if k != "author"} | {"mine": "true"}

    def link(cursor: str | None) -> str | None:
        return "/changes?" + urlencode(kept | {"cursor": cursor}) if cursor else None

    context = {
        "changes": page.rows,
        "state": query.state or "",
        "mine": mine,
        "q": query.model_dump(by_alias=True, exclude={"cursor"}),
        "next": link(page.next),
        "prev": link(page.prev),
        "first": "/changes?" + urlencode(kept) if query.cursor else None,
    }
    return render(request, "changes.html", context, ctx=ctx)


def _change(ctx: WebCtx, key: str, *, lock: bool = False) -> Change:
    """The change ``key`` names; the key is parsed and bounded by ``changes.keys``."""
    return changes.get_change(ctx.session, key, lock=lock)


def _form_context(
    ctx: WebCtx, values: FormValues, errors: dict[str, list[str]], **extra: Any
) -> dict[str, Any]:
    """Everything the form page needs, as plain data: a re-render after the transaction rolled
    back cannot touch ORM objects any more."""
    change = extra.pop("change", None)
    return {
        "values": values,
        "errors": errors,
        "user": {"name": ctx.user.name, "roles": list(ctx.user.roles)},
        "csrf": ctx.csrf,
        "granted": granted(ctx),
        "required_by": _required_by(ctx.policy),
        "change": None
        if change is None
        else {"key": change.key, "state": change.state, "title": change.title},
    } | extra


def _required_by(policy: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cls, spec in policy.classes.items():
        for name in spec.required_fields:
            out.setdefault(name, []).append(cls)
    return out


@router.get("/changes/new")
def new_change_form(request: Request, ctx: WebRead) -> Response:
    ctx.require("change.create", doing="create changes")
    return render(
        request, "change_form.html", _form_context(ctx, FormValues(), {}, change=None), ctx=ctx
    )


@router.post("/changes/new")
def new_change(request: Request, ctx: WebWrite, form: FormBody) -> Response:
    from changegate.changes.schemas import ChangeCreate

    values = FormValues.from_form(ctx.policy, form_dict(form))
    submit = form.get("action") == "submit"

    def invalid(errors: dict[str, list[str]]) -> FormInvalid:
        return FormInvalid("change_form.html", _form_context(ctx, values, errors, change=None))

    fields = values.fields(ctx.policy)
    try:
        data = ChangeCreate(
            **{k: v for k, v in fields.items() if v not in ("", None)}, author=ctx.user.name
        )
    except ValidationError as exc:
        raise invalid(errors_from(exc)) from exc
    try:
        change = changes.create_change(ctx.session, ctx.policy, data)
        if submit:
            _submit_complete(ctx, change, invalid)
    except InvalidInput as exc:
        raise invalid(errors_from(exc)) from exc
    return redirect(f"/changes/{change.key}?done={'submitted' if submit else 'created'}")


def _submit_complete(
    ctx: WebCtx, change: Change, invalid: Callable[[dict[str, list[str]]], FormInvalid]
) -> None:
    """Submit a change just saved, or show the form again with what the policy still asks."""
    missing = changes.missing_fields(ctx.policy, change)
    if missing:
        raise invalid(missing_errors(missing))
    changes.submit_change(ctx.session, ctx.policy, change, actor=ctx.user.name)


@router.get("/changes/{key}")
def change_page(
    request: Request, key: str, ctx: WebRead, done: str | None = Query(default=None, max_length=20)
) -> Response:
    from changegate.web.views import change_page as gather

    ctx.require("change.read", doing="read changes")
    change = _change(ctx, key)
    context = gather(ctx.session, ctx.policy, change, ctx.user) | {"done": DONE.get(done or "")}
    return render(request, "change.html", context, ctx=ctx)


def _may_edit(ctx: WebCtx, change: Change) -> None:
    """Show the edit form only to whom ``changes.permissions`` lets edit the change."""
    permissions.require(ctx.policy, change, ctx.user, "edit")


@router.get("/changes/{key}/edit")
def edit_change_form(request: Request, key: str, ctx: WebRead) -> Response:
    change = _change(ctx, key)
    _may_edit(ctx, change)
    values = FormValues.from_change(change)
    return render(
        request, "change_form.html", _form_context(ctx, values, {}, change=change), ctx=ctx
    )


@router.post("/changes/{key}/edit")
def edit_change(request: Request, key: str, ctx: WebWrite, form: FormBody) -> Response:
    from changegate.changes.schemas import ChangeUpdate

    change = _change(ctx, key, lock=True)
    _may_edit(ctx, change)
    values = FormValues.from_form(ctx.policy, form_dict(form))
    submit = form.get("action") == "submit" and change.state == "draft"

    def invalid(errors: dict[str, list[str]]) -> FormInvalid:
        return FormInvalid("change_form.html", _form_context(ctx, values, errors, change=change))

    current = change.content()
    fields = {
        k: v
        for k, v in values.fields(ctx.policy).items()
        if v not in ("", None) and v != current.get(k)
    }
    try:
        if fields:
            data = ChangeUpdate(**fields)
            changes.edit_change(ctx.session, ctx.policy, change, data, actor=ctx.user.name)
        if submit:
            _submit_complete(ctx, change, invalid)
    except (ValidationError, InvalidInput) as exc:
        raise invalid(errors_from(exc)) from exc
    return redirect(f"/changes/{change.key}?done={'submitted' if submit else 'edited'}")


@router.post("/changes/{key}/submit")
def submit_change(request: Request, key: str, ctx: WebWrite) -> Response:
    change = _change(ctx, key, lock=True)
    missing = changes.missing_fields(ctx.policy, change) if change.state == "draft" else []
    if missing:
        _may_edit(ctx, change)
        raise FormInvalid(
            "change_form.html",
            _form_context(
                ctx, FormValues.from_change(change), missing_errors(missing), change=change
            ),
        )
    changes.submit_change(ctx.session, ctx.policy, change, actor=ctx.user.name)
    return redirect(f"/changes/{change.key}?done=submitted")


#: a review's comment as the form sends it
Comment = Annotated[str, Form(max_length=10_000)]


@router.post("/changes/{key}/approve")
def approve_change(key: str, ctx: WebWrite, comment: Comment = "") -> Response:
    return _review(ctx, key, reviews.approve, comment, done="approved")


@router.post("/changes/{key}/reject")
def reject_change(key: str, ctx: WebWrite, comment: Comment = "") -> Response:
    return _review(ctx, key, reviews.reject, comment, done="rejected")


def _review(ctx: WebCtx, key: str, act: Callable[..., object], comment: str, done: str) -> Response:
    """Approve or reject as the signed-in user; ``reviews.service`` decides who may."""
    change = _change(ctx, key, lock=True)
    act(ctx.session, ctx.policy, change, actor=ctx.user.name, comment=comment.strip())
    return redirect(f"/changes/{change.key}?done={done}")
