"""Errors on the wire: every ChangegateError maps to its HTTP status once, here.

Every 4xx and 5xx answer of the API is ``{"error", "message", "field"}``. A 403 is also an
audit event (a denied action), and so is a refused expired or revoked token: both are written
in a transaction of their own, after the request's transaction has been rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from changegate.auth.errors import RateLimited, Unauthenticated
from changegate.errors import ChangegateError, PolicyDenied, SegregationOfDuties

log = logging.getLogger("changegate.api")


class ErrorOut(BaseModel):
    """What went wrong, which input is at fault, and the fix."""

    error: str
    message: str
    field: str | None


def _resp(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


#: error responses every authenticated API operation may give
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    400: _resp("Invalid input: the message names the field and the fix"),
    401: _resp("Missing, malformed, unknown, expired or revoked API token"),
    403: _resp("The policy does not allow the caller this action (recorded in the audit log)"),
    404: _resp("No such object"),
    409: _resp("Not allowed in the object's current state"),
    413: _resp("Request body too large"),
    422: _resp("The request does not match the schema"),
}

_HTTP_NAMES = {
    400: "BadRequest",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "InvalidInput",
    429: "RateLimited",
}


def error_body(error: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": error, "message": message, "field": field}


#: paths of the web UI; errors there are pages, everywhere else JSON
WEB_PREFIXES = (
    "/login",
    "/logout",
    "/password",
    "/changes",
    "/policy",
    "/audit",
    "/ai/",
    "/findings",
    "/access",
    "/alerts",
    "/dora",
    "/static",
)


def is_api(request: Request) -> bool:
    path = request.url.path
    return not (path == "/" or path.startswith(WEB_PREFIXES))


def allowed_methods(request: Request) -> list[str] | None:
    """The methods the OpenAPI document gives the request's path: the truthful Allow header
    (Starlette names only the first route whose path matched)."""
    import re

    paths = request.app.openapi().get("paths", {})
    exact = paths.get(request.url.path)
    if exact is not None:  # a literal path wins over templates it also fits (/findings/import)
        return sorted(m.upper() for m in exact if m.lower() != "parameters") or None
    found: set[str] = set()
    for template, operations in paths.items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.path):
            found |= {m.upper() for m in operations if m.lower() != "parameters"}
    return sorted(found) or None


def client_address(request: Request) -> str:
    settings = request.app.state.cg.settings
    if settings.trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:100]
    return request.client.host if request.client else ""


def record_refusal(request: Request, exc: ChangegateError) -> None:
    """Append the audit event for a denied action or a refused expired/revoked credential."""
    from changegate.auth import service as auth
    from changegate.db import session_scope

    actor = getattr(request.state, "actor", None)
    subject = exc.subject if isinstance(exc, Unauthenticated) else None
    if not (isinstance(exc, PolicyDenied) and actor) and not subject:
        return
    try:
        with session_scope(request.app.state.cg.engine) as s:
            if isinstance(exc, PolicyDenied) and actor:
                auth.record_denied(
                    s,
                    actor=actor,
                    method=request.method,
                    path=request.url.path,
                    message=exc.message,
                    field=exc.field,
                    sod=isinstance(exc, SegregationOfDuties),
                )
            elif subject:
                auth.record_auth_failure(
                    s,
                    subject=subject,
                    via=getattr(request.state, "auth_via", "token"),
                    reason=exc.message,
                    address=client_address(request),
                )
    except Exception:  # the refusal stands even if its record cannot be written
        log.exception("could not record the refusal of %s %s", request.method, request.url.path)


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def _headers_for(exc: ChangegateError) -> dict[str, str]:
    if isinstance(exc, Unauthenticated):
        return {"WWW-Authenticate": 'Bearer realm="changegate"'}
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    return {}


def install(app: FastAPI, html_error: Callable[[Request, int, dict[str, Any]], Response]) -> None:
    """Register the handlers; ``html_error`` renders errors of web (non-API) pages."""

    def render(
        request: Request, status: int, body: dict[str, Any], headers: dict[str, str]
    ) -> Response:
        if is_api(request):
            return _json(status, body, headers)
        response = html_error(request, status, body)
        response.headers.update(headers)
        return response

    def on_domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ChangegateError)
        record_refusal(request, exc)
        return render(request, exc.http_status, exc.to_dict(), _headers_for(exc))

    def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        parts, field = [], None
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            name = ".".join(loc) or "body"
            field = field or (loc[0] if loc else "body")
            parts.append(f"{name}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
        message = "; ".join(parts) or "the request does not match the schema"
        return render(request, 422, error_body("InvalidInput", message, field), {})

    def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        name = _HTTP_NAMES.get(exc.status_code, "HTTPError")
        message = str(exc.detail)
        headers = dict(exc.headers or {})
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path}; see /docs for the API"
        if exc.status_code == 405:
            methods = allowed_methods(request)
            if methods:
                headers["Allow"] = ", ".join(methods)
            message = f"{request.method} is not allowed here; allowed: {headers.get('Allow', '?')}"
        return render(request, exc.status_code, error_body(name, message), headers)

    def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return _json(
            500, error_body("InternalError", "internal server error; the server log has details")
        )

    def on_unstorable(request: Request, exc: Exception) -> Response:
        """A value the database refused (PostgreSQL: NUL in text, a number out of range):
        bad input that got past validation, so a 400 naming the problem, never a 500."""
        log.warning("database refused a value on %s %s: %s", request.method, request.url, exc)
        orig = str(getattr(exc, "orig", exc)).splitlines()[0][:300]
        message = f"a value in the request cannot be stored ({orig}); correct it and try again"
        return render(request, 400, error_body("BadRequest", message), {})

    async def refuse_text(scope: Any, message: str) -> Response:
        return render(Request(scope), 400, error_body("BadRequest", message), {})

    from sqlalchemy.exc import DataError

    from changegate.api.middleware import TextGuard

    app.add_middleware(TextGuard, refuse=refuse_text)
    app.add_exception_handler(DataError, on_unstorable)
    app.add_exception_handler(ChangegateError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_crash)
