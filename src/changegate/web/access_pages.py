"""The access review pages (§7): the campaigns with the next one due, and one campaign where a
reviewer decides item by item (htmx swaps the decided row in place; without JavaScript the form
posts and the page reloads). The services decide who may: ``access.service``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from changegate.access import service
from changegate.api.one_call import OneCallRoute
from changegate.errors import ChangegateError, PolicyDenied
from changegate.web.render import redirect, render
from changegate.web.session import WebCtx, WebRead, WebWrite

router = APIRouter(route_class=OneCallRoute, include_in_schema=False)


def _read(ctx: WebCtx) -> None:
    ctx.require("access.read", doing="read access reviews")


@router.get("/access")
def reviews_page(request: Request, ctx: WebRead) -> Response:
    from changegate.access.reports import due

    _read(ctx)
    rows = [
        service.review_view(ctx.session, r, with_items=False)
        for r in service.list_reviews(ctx.session)
    ]
    context = {"reviews": rows, "next": due(ctx.session, ctx.policy).to_dict()}
    return render(request, "access_reviews.html", context, ctx=ctx)


@router.get("/access/{review_id}")
def review_page(request: Request, ctx: WebRead, review_id: int) -> Response:
    _read(ctx)
    review = service.review_view(ctx.session, service.get_review(ctx.session, _id(review_id)))
    return render(request, "access_review.html", {"r": review, "errors": {}}, ctx=ctx)


@router.post("/access/{review_id}/items/{item_id}")
def decide_item(
    request: Request,
    ctx: WebWrite,
    review_id: int,
    item_id: int,
    decision: Annotated[str, Form(max_length=20)] = "",
    justification: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    """Decide one item; an htmx request gets the row back (with the service's message when it
    refused), a plain form post goes back to the page."""
    review, item = service.locked_item(ctx.session, _id(review_id), _id(item_id))
    error = ""
    try:
        service.decide(
            ctx.session, ctx.policy, review, item,
            decision=decision, justification=justification, actor=ctx.user.name,
        )  # fmt: skip
    except PolicyDenied:
        raise  # 403 on the error page
    except ChangegateError as exc:
        error = exc.message
    if request.headers.get("HX-Request") != "true":
        if error:
            view = service.review_view(ctx.session, review)
            context: dict[str, Any] = {"r": view, "errors": {item.id: error}}
            return render(request, "access_review.html", context, ctx=ctx, status=400)
        return redirect(f"/access/{review.id}#item-{item.id}")
    context = {"i": item.audit_state(), "r": {"id": review.id, "state": review.state}}
    return render(request, "access_item_row.html", context | {"error": error}, ctx=ctx)


def _id(value: int) -> int:
    from changegate.errors import NotFound

    if not 0 < value < 2**31:
        raise NotFound(f"no access review or item {value}", field="id")
    return value
