"""The auditor's area (issue 13 §4): choose a period, read its population with filters, the
exceptions and the control matrix, draw a sample with a seed, download the signed package,
and see the latest checkpoint and the verifier key to keep. Every row is what the package
itself holds (audit/package/overview.py), so the page and the zip cannot disagree."""

from __future__ import annotations

import datetime as dt
import io
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from changegate.api.one_call import OneCallRoute
from changegate.db import utcnow
from changegate.errors import ChangegateError
from changegate.web.render import render
from changegate.web.session import WebCtx, WebRead, WebWrite

router = APIRouter(route_class=OneCallRoute, include_in_schema=False)

#: the population's columns the page shows (the CSV in the package has them all)
SHOWN = [
    "id",
    "title",
    "class",
    "category",
    "author",
    "approvers",
    "tests",
    "deployed_at",
    "gate_decision",
    "emergency_bypass",
    "exceptions",
]


def _default_period() -> tuple[str, str]:
    today = utcnow().date()
    return (today - dt.timedelta(days=90)).isoformat(), today.isoformat()


@router.get("/auditor")
def auditor_page(
    request: Request,
    ctx: WebRead,
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
    change_class: Annotated[str, Query(alias="class", max_length=20)] = "",
    category: Annotated[str, Query(max_length=100)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    with_exceptions: Annotated[bool, Query(alias="exceptions")] = False,
    size: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    seed: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    from changegate.audit.checkpoint_service import latest_note
    from changegate.audit.package.overview import overview
    from changegate.audit.package.service import period, sample_of

    ctx.require("audit.verify", doing="use the auditor's area")
    start, end = _default_period()
    form: dict[str, Any] = {
        "from": date_from or start,
        "to": date_to or end,
        "class": change_class,
        "category": category,
        "q": q,
        "exceptions": with_exceptions,
        "size": size,
        "seed": seed,
    }
    context: dict[str, Any] = {"form": form, "shown": SHOWN, "error": None, "data": None}
    context["sample"] = None
    try:
        p = period(form["from"], form["to"])
        data = overview(ctx.session, ctx.policy, p)
        if size is not None and seed:
            context["sample"] = sample_of(data["ids"], size, seed)
    except ChangegateError as exc:
        context["error"] = exc.message
        return render(request, "auditor.html", context, ctx=ctx, status=400)
    context |= {
        "data": data,
        "rows": _filtered(data["population"], form),
        "checkpoint": latest_note(ctx.session),
        "classes": sorted({r["class"] for r in data["population"]}),
        "categories": sorted({r["category"] for r in data["population"] if r["category"]}),
    }
    context["vkey"], context["key_problem"] = _vkey(ctx)
    return render(request, "auditor.html", context, ctx=ctx)


def _filtered(population: list[dict[str, str]], form: dict[str, Any]) -> list[dict[str, str]]:
    text = str(form["q"]).strip().lower()
    return [
        r
        for r in population
        if (not form["class"] or r["class"] == form["class"])
        and (not form["category"] or r["category"] == form["category"])
        and (not text or text in r["title"].lower() or text == r["id"].lower())
        and (not form["exceptions"] or r["exceptions"] not in ("", "0"))
    ]


def _vkey(ctx: WebCtx) -> tuple[str | None, str | None]:
    """The verifier key of the server's signing key, or why there is none."""
    from changegate.audit.package.overview import verifier_key

    try:
        return verifier_key(ctx.app.settings), None
    except ChangegateError as exc:
        return None, exc.message


@router.post("/auditor/package")
def auditor_package(
    ctx: WebWrite,
    date_from: Annotated[str, Form(alias="from", max_length=10)],
    date_to: Annotated[str, Form(alias="to", max_length=10)],
    size: Annotated[str, Form(max_length=10)] = "",
    seed: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The signed package of the period (or of the sample drawn with size and seed)."""
    from changegate.audit.package.overview import server_package
    from changegate.audit.package.service import period
    from changegate.errors import InvalidInput

    ctx.require("audit.verify", doing="download the auditor evidence package")
    p = period(date_from, date_to)
    sample = None
    if size.strip() or seed.strip():
        if not size.strip().isdigit() or not seed.strip():
            raise InvalidInput("a sample needs a size (a number) and a seed", field="size")
        sample = (int(size), seed.strip())
    out = io.BytesIO()
    server_package(
        ctx.session, ctx.policy, ctx.app.settings, p, out, actor=ctx.user.name, sample=sample
    )
    name = f"changegate-{'sample' if sample else 'package'}-{date_from}-{date_to}.zip"
    return Response(
        out.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
