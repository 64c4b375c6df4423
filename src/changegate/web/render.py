"""Rendering the web pages (Jinja2) and what every page module shares: the form that comes
back with its errors, redirects, the whole form, safe local targets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import escape
from starlette.datastructures import FormData

from changegate import __version__
from changegate.api.deps import AppState, app_state
from changegate.web.session import WebCtx

HERE = Path(__file__).parent


class FormInvalid(Exception):
    """A form to show again with the user's input and errors; the transaction rolls back."""

    def __init__(self, template: str, context: dict[str, Any], status: int = 400) -> None:
        super().__init__(template)
        self.template = template
        self.context = context
        self.status = status


def jinja_env(state: AppState) -> Any:
    env = state.extra.get("jinja")
    if env is None:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            # the templates ship with the package: no stat() of three files per page
            auto_reload=False,
        )
        env.filters["when"] = when
        env.filters["label"] = lambda s: str(s).replace("_", " ")
        env.filters["text"] = text
        env.globals["version"] = __version__
        state.extra["jinja"] = env
    return env


try:  # markupsafe's escaping in C, without the Markup object escape() wraps it in
    from markupsafe._speedups import _escape_inner
except ImportError:  # pragma: no cover - a markupsafe without its C speedups

    def _escape_inner(s: str, /) -> str:
        return str(escape(s))


def text(value: Any) -> str:
    """``value`` as HTML text, as autoescaping writes it (quotes escaped too), but a ``str``:
    for a block of a template with autoescaping off, where ``markupsafe.escape`` would make
    a ``Markup`` object of each value (most of a 50-row table's time)."""
    return _escape_inner(str(value))


def when(value: Any) -> str:
    """A time as ``YYYY-MM-DD HH:MM UTC`` (never markup: digits and separators)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    value = value.astimezone(dt.UTC)
    if value.year < 1000:  # isoformat writes 4-digit years; strftime's %Y does not pad
        return str(value.strftime("%Y-%m-%d %H:%M UTC"))
    return f"{value.isoformat(' ', 'minutes')[:16]} UTC"  # half strftime's time


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    ctx: WebCtx | None = None,
    status: int = 200,
) -> HTMLResponse:
    base: dict[str, Any] = {"user": ctx.user if ctx else None, "csrf": ctx.csrf if ctx else ""}
    if ctx is not None:
        # the templates' can(): the policy asked for each action a page shows, not every
        # action the policy names for every page
        base["can"] = ctx.allowed
    return page(request, template, base | context, status)


def granted(ctx: WebCtx) -> set[str]:
    return {a for a in ctx.policy.permissions if ctx.allowed(a)}


def page(request: Request, template: str, context: dict[str, Any], status: int) -> HTMLResponse:
    state = app_state(request)
    granted = set(context.pop("granted", set()))
    base = {
        "request": request,
        "user": None,
        "csrf": "",
        "can": lambda action: action in granted,
        "policy": state.policy,
        "path": request.url.path,
    }
    html = jinja_env(state).get_template(template).render(base | context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def html_error(request: Request, status: int, body: dict[str, Any]) -> Response:
    """Errors of web pages: 401 goes to the login page, the rest to a readable error page."""
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    back = "/"
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if referer and parts.netloc == request.headers.get("host") and parts.path != request.url.path:
        back = parts.path + (f"?{parts.query}" if parts.query else "")
    context = {"status": status, "error": body, "back": back}
    return render(request, "error.html", context, status=status)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def form_data(request: Request) -> FormData:
    """The whole form (already parsed by FastAPI for the CSRF field, so no second read)."""
    return await request.form()


FormBody = Annotated[FormData, Depends(form_data)]


def form_dict(form: FormData) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    out["components"] = [v for v in form.getlist("components") if isinstance(v, str)]
    return out


def safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
