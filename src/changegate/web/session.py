"""Web sessions and CSRF.

The session cookie is random (stored as SHA-256), HTTP-only, SameSite=Lax and Secure (with the
``__Host-`` prefix) unless ``CHANGEGATE_COOKIE_SECURE=false``. Every form carries a CSRF token:
the session's synchronizer token once logged in, and an HMAC of a random cookie (keyed by the
server secret) on the login form. A cross-origin ``Origin`` header is refused as well.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Form, Request, Response

from changegate.api.deps import AppState, Ctx, app_state
from changegate.api.one_call import Deferred
from changegate.api.settings import ServerSettings
from changegate.auth.models import WebSession
from changegate.db import session_scope
from changegate.errors import PolicyDenied

MAX_AGE_LOGIN = 3600


def session_cookie(settings: ServerSettings) -> str:
    return "__Host-changegate" if settings.cookie_secure else "changegate_session"


def login_cookie(settings: ServerSettings) -> str:
    return "__Host-changegate-login" if settings.cookie_secure else "changegate_login"


def set_cookie(
    response: Response, settings: ServerSettings, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        secure=settings.cookie_secure,
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, settings: ServerSettings, name: str) -> None:
    response.delete_cookie(
        name, path="/", secure=settings.cookie_secure, httponly=True, samesite="lax"
    )


def login_csrf(state: AppState, nonce: str) -> str:
    return hmac.new(state.secret.encode(), f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def check_origin(request: Request) -> None:
    """Refuse a state-changing request whose Origin (when sent) is another site."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        if origin == "null":
            raise PolicyDenied("cross-site form submission refused", field="csrf")
        return
    hosts = {request.headers.get("host", "")}
    if app_state(request).settings.trust_proxy:  # behind a proxy that rewrites Host
        hosts.add(request.headers.get("x-forwarded-host", "").split(",")[0].strip())
    if urlsplit(origin).netloc not in hosts:
        raise PolicyDenied(
            f"form posted from {origin}, not from this site; reload the page and try again",
            field="csrf",
        )


class PasswordChangeRequired(Exception):
    """The session's user holds a one-time password: every page leads to the change step."""


#: the pages open to a user who holds a one-time password
ONE_TIME_PASSWORD_PAGES = ("/password", "/logout")


@dataclass
class WebCtx(Ctx):
    web: WebSession

    @property
    def csrf(self) -> str:
        return self.web.csrf_token


@contextmanager
def _web_ctx(request: Request, *, write: bool, csrf: str | None) -> Iterator[WebCtx]:
    from changegate.auth.service import session_caller

    state = app_state(request)
    raw = request.cookies.get(session_cookie(state.settings), "")
    request.state.auth_via = "session"
    with session_scope(state.engine, write=write) as s:
        caller = session_caller(s, raw)
        user, web = caller.user, caller.web
        request.state.actor = user.name
        if request.url.path not in ONE_TIME_PASSWORD_PAGES and caller.must_change:
            raise PasswordChangeRequired()
        if write:
            check_origin(request)
            if not csrf or not hmac.compare_digest(csrf, web.csrf_token):
                raise PolicyDenied(
                    "the form's security token is missing or stale; reload the page and try again",
                    field="csrf",
                )
        yield WebCtx(s, user, state, request, web)


async def web_read(request: Request) -> Deferred:
    return Deferred(functools.partial(_web_ctx, request, write=False, csrf=None))


async def web_write(request: Request, csrf: Annotated[str, Form(max_length=200)] = "") -> Deferred:
    return Deferred(
        functools.partial(_web_ctx, request, write=True, csrf=csrf), app_state(request).engine
    )


#: a logged-in user and a read transaction (opened with the page's call: ``api/one_call.py``)
WebRead = Annotated[WebCtx, Depends(web_read)]
#: a logged-in user, a checked CSRF token and a write transaction
WebWrite = Annotated[WebCtx, Depends(web_write)]
