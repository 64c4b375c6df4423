"""Logging in and out, and changing one's own password (a one-time one included)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response

from changegate.api.deps import app_state
from changegate.api.errors import client_address
from changegate.api.one_call import OneCallRoute
from changegate.db import session_scope
from changegate.errors import InvalidInput
from changegate.web.render import FormInvalid, redirect, render, safe_next
from changegate.web.session import (
    WebCtx,
    WebRead,
    WebWrite,
    clear_cookie,
    login_cookie,
    login_csrf,
    new_login_nonce,
    session_cookie,
    set_cookie,
)

router = APIRouter(route_class=OneCallRoute, include_in_schema=False)

#: form fields: a name or token, and a password or a target URL
ShortField = Annotated[str, Form(max_length=200)]
LongField = Annotated[str, Form(max_length=2000)]


def _login_page(
    request: Request, *, next_url: str, error: str = "", user_name: str = "", status: int = 200
) -> HTMLResponse:
    from changegate.auth.service import has_any_password

    state = app_state(request)
    nonce = new_login_nonce()
    with session_scope(state.engine, write=False) as s:
        bootstrap = not has_any_password(s)
    response = render(
        request,
        "login.html",
        {
            "login_csrf": login_csrf(state, nonce),
            "next": next_url,
            "error": error,
            "user_name": user_name,
            "bootstrap": bootstrap,
        },
        status=status,
    )
    set_cookie(response, state.settings, login_cookie(state.settings), nonce, 3600)
    return response


@router.get("/login")
def login_form(
    request: Request, next: str | None = Query(default=None, max_length=2000)
) -> Response:
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: ShortField = "",
    password: LongField = "",
    csrf: ShortField = "",
    next: LongField = "/",
) -> Response:
    import hmac

    from changegate.auth.errors import RateLimited
    from changegate.auth.service import attempt_login

    state = app_state(request)
    next_url = safe_next(next)
    nonce = request.cookies.get(login_cookie(state.settings), "")
    if not nonce or not hmac.compare_digest(csrf, login_csrf(state, nonce)):
        return _login_page(
            request,
            next_url=next_url,
            user_name=username,
            error="The login form expired; please try again.",
            status=400,
        )
    ttl = dt.timedelta(hours=state.settings.session_hours)
    try:
        with session_scope(state.engine) as s:
            result = attempt_login(
                s,
                user_name=username,
                password=password,
                address=client_address(request),
                limits=state.limits,
                ttl=ttl,
            )
    except RateLimited as exc:
        page = _login_page(
            request, next_url=next_url, user_name=username, error=exc.message, status=429
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if not result.ok or result.cookie is None:
        return _login_page(
            request,
            next_url=next_url,
            user_name=username,
            error="Wrong user name or password.",
            status=401,
        )
    target = f"/password?next={quote(next_url)}" if result.must_change else next_url
    response = redirect(target)
    set_cookie(
        response,
        state.settings,
        session_cookie(state.settings),
        result.cookie,
        int(ttl.total_seconds()),
    )
    clear_cookie(response, state.settings, login_cookie(state.settings))
    return response


def _password_page(
    request: Request, ctx: WebCtx, *, next_url: str, error: str = "", status: int = 200
) -> HTMLResponse:
    from changegate.auth.service import must_change_password

    context = {
        "next": next_url,
        "error": error,
        "one_time": must_change_password(ctx.session, ctx.user.name),
    }
    return render(request, "password.html", context, ctx=ctx, status=status)


@router.get("/password")
def password_form(
    request: Request, ctx: WebRead, next: str | None = Query(default=None, max_length=2000)
) -> Response:
    return _password_page(request, ctx, next_url=safe_next(next))


@router.post("/password")
def change_password(
    request: Request,
    ctx: WebWrite,
    current: LongField = "",
    password: LongField = "",
    confirm: LongField = "",
    next: LongField = "/",
) -> Response:
    """Replace your own password (a one-time one included): every session of yours ends, and
    this browser gets a new one."""
    from changegate.auth.errors import RateLimited
    from changegate.auth.service import WRONG_CURRENT_PASSWORD, change_own_password, open_session

    next_url = safe_next(next)
    if password != confirm:
        raise FormInvalid(
            "password.html",
            _password_context(ctx, next_url, "The two new passwords differ."),
        )
    try:
        cred = change_own_password(
            ctx.session,
            user=ctx.user,
            current=current,
            password=password,
            address=client_address(request),
            limits=ctx.app.limits,
        )
    except InvalidInput as exc:
        raise FormInvalid("password.html", _password_context(ctx, next_url, exc.message)) from exc
    except RateLimited as exc:
        context = _password_context(ctx, next_url, exc.message)
        raise FormInvalid("password.html", context, status=429) from exc
    if cred is None:  # a failed login, recorded: this answer commits it
        return _password_page(
            request, ctx, next_url=next_url, error=WRONG_CURRENT_PASSWORD, status=400
        )
    ttl = dt.timedelta(hours=ctx.app.settings.session_hours)
    _, raw = open_session(ctx.session, ctx.user, address=client_address(request), ttl=ttl)
    response = redirect(next_url)
    set_cookie(
        response,
        ctx.app.settings,
        session_cookie(ctx.app.settings),
        raw,
        int(ttl.total_seconds()),
    )
    return response


def _password_context(ctx: WebCtx, next_url: str, error: str) -> dict[str, Any]:
    """Plain data for re-showing the form after the transaction rolled back."""
    from changegate.auth.service import must_change_password

    return {
        "next": next_url,
        "error": error,
        "one_time": must_change_password(ctx.session, ctx.user.name),
        "user": {"name": ctx.user.name, "roles": list(ctx.user.roles)},
        "csrf": ctx.csrf,
        "granted": set(),
    }


@router.post("/logout")
def logout(ctx: WebWrite) -> Response:
    from changegate.auth.service import end_session

    end_session(ctx.session, ctx.web, actor=ctx.user.name)
    response = redirect("/login")
    clear_cookie(response, ctx.app.settings, session_cookie(ctx.app.settings))
    return response
