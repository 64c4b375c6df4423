"""The delivery page: the DORA metrics of the recorded deployments, with weekly charts drawn
on the server as SVG by pygal (no JavaScript, no build step, nothing from a CDN)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from changegate.api.one_call import OneCallRoute
from changegate.errors import InvalidInput
from changegate.web.render import render
from changegate.web.session import WebRead

router = APIRouter(route_class=OneCallRoute, include_in_schema=False)

#: chart name -> (title, the weekly member it draws, chart kind)
CHARTS = {
    "deployments": ("Deployments per week", "deployments", "bar"),
    "fail-rate": ("Change fail rate per week (%)", "change_fail_rate", "line"),
    "lead-time": ("Median change lead time per week (hours)", "median_lead_time_hours", "line"),
}


def _metrics(ctx: Any, env: str, start: str, end: str, service: str) -> dict[str, Any]:
    from changegate.dora.service import dora, window

    ctx.require("change.read", doing="read delivery metrics")
    return dora(
        ctx.session,
        ctx.policy,
        env=env or "production",
        span=window(start or None, end or None),
        service=service or None,
    )


@router.get("/dora")
def dora_page(
    request: Request,
    ctx: WebRead,
    env: str = Query(default="production", max_length=100),
    start: str = Query(default="", alias="from", max_length=40),
    end: str = Query(default="", alias="to", max_length=40),
    service: str = Query(default="", max_length=100),
) -> Response:
    form = {"env": env, "from": start, "to": end, "service": service}
    try:
        out, error = _metrics(ctx, env, start, end, service), None
    except InvalidInput as exc:
        out, error = None, exc
    query = urlencode({k: v for k, v in form.items() if v})
    context = {
        "m": out,
        "form": form,
        "error": error.message if error else None,
        "error_field": error.field if error else None,
        "charts": [
            (name, spec[0], f"/dora/chart/{name}.svg?{query}") for name, spec in CHARTS.items()
        ],
        "environments": ctx.policy.deploy.environments,
        "components": list(ctx.policy.components),
    }
    return render(request, "dora.html", context, ctx=ctx, status=400 if error else 200)


@router.get("/dora/chart/{name}.svg")
def dora_chart(
    ctx: WebRead,
    name: str,
    env: str = Query(default="production", max_length=100),
    start: str = Query(default="", alias="from", max_length=40),
    end: str = Query(default="", alias="to", max_length=40),
    service: str = Query(default="", max_length=100),
) -> Response:
    if name not in CHARTS:
        raise InvalidInput(f"no chart {name!r}; charts: {', '.join(CHARTS)}", field="name")
    out = _metrics(ctx, env, start, end, service)
    title, member, kind = CHARTS[name]
    return Response(
        _svg(title, member, kind, out["weekly"]),
        media_type="image/svg+xml",
        headers={"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


def _svg(title: str, member: str, kind: str, weekly: list[dict[str, Any]]) -> bytes:
    """One weekly chart; pygal's SVG without its script (js=[]), safe to load as an image."""
    import pygal
    from pygal.style import Style

    style = Style(background="white", plot_background="white", font_family="sans-serif")
    chart_type = pygal.Bar if kind == "bar" else pygal.Line
    chart = chart_type(
        js=[],
        style=style,
        title=title,
        show_legend=False,
        height=280,
        x_label_rotation=30,
        allow_interruptions=True,
    )
    chart.x_labels = [w["week"] for w in weekly]
    values = [w[member] for w in weekly]
    if member == "change_fail_rate":
        values = [None if v is None else round(v * 100, 1) for v in values]
    chart.add(title, values)
    return _without_scripts(chart.render())


def _without_scripts(svg: bytes) -> bytes:
    """pygal writes its tooltip configuration as a <script> even with ``js=[]``: removed, so
    the chart is inert wherever it is opened (it is also served with a script-less CSP)."""
    import xml.etree.ElementTree as ET

    ns = "http://www.w3.org/2000/svg"
    ET.register_namespace("", ns)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(svg)  # pygal's own output, not user input
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{{{ns}}}script", "script"):
                parent.remove(child)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))
