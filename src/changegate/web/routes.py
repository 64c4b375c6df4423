"""The web UI: server-rendered pages (Jinja2), forms that work without JavaScript, htmx
where it saves a page load (audit search, verify chain). The pages live by topic in
``account``, ``change_pages``, ``record_pages`` and ``ai_pages``; this module wires them into
the app."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from changegate.api.flat_routes import include_flat
from changegate.web import (
    access_pages,
    account,
    ai_pages,
    alert_pages,
    auditor_pages,
    change_pages,
    dora_pages,
    findings_pages,
    record_pages,
)
from changegate.web.render import HERE, FormInvalid, html_error, page, redirect, safe_next
from changegate.web.session import PasswordChangeRequired

__all__ = ["html_error", "mount"]


def mount(app: FastAPI) -> None:
    def on_form_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FormInvalid)
        return page(request, exc.template, dict(exc.context), exc.status)

    def on_password_change_required(request: Request, exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(f"/password?next={quote(safe_next(target))}")

    app.add_exception_handler(FormInvalid, on_form_invalid)
    app.add_exception_handler(PasswordChangeRequired, on_password_change_required)
    for pages in (
        account,
        change_pages,
        record_pages,
        ai_pages,
        findings_pages,
        access_pages,
        dora_pages,
        alert_pages,
        auditor_pages,
    ):
        include_flat(app, pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
