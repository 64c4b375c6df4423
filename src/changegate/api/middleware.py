"""Plain ASGI middleware (no per-request task overhead): body size limits, security headers."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOADS = re.compile(
    r"^/api/changes/[^/]+/(evidence/(junit|document)|ai/(import|regress|isolation|injection))$"
    r"|^/api/ai/providers/[^/]+/dpa$"
)


class _HttpMiddleware:
    """Hands HTTP requests to :meth:`http` and everything else (lifespan) straight to the app."""

    app: ASGIApp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class BodyLimit(_HttpMiddleware):
    """Refuse request bodies over the limit with 413, before or while they are read."""

    def __init__(self, app: ASGIApp, *, default: int, uploads: int) -> None:
        self.app = app
        self.default = default
        self.uploads = uploads

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.uploads if UPLOADS.match(scope.get("path", "")) else self.default
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > limit:
                    await _too_large(send, limit)
                    return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"request body over the limit of {limit} bytes")
            return message

        await self.app(scope, limited, send)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": "PayloadTooLarge",
            "message": f"request body over the limit of {limit} bytes",
            "field": "body",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


class SecurityHeaders(_HttpMiddleware):
    """nosniff, no framing, same-origin referrers; a strict CSP on the web UI's HTML."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        strict = not path.startswith(("/docs", "/redoc"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if strict:
                    headers += [(b"x-frame-options", b"DENY")]
                    ctype = next((v for k, v in headers if k == b"content-type"), b"")
                    if ctype.startswith(b"text/html"):
                        headers.append((b"content-security-policy", CSP.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


_JSON_SUSPECT = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_FORM_NUL = re.compile(rb"%00|\x00")
NUL_MESSAGE = (
    "{where} contains a NUL character (\\x00) or a lone UTF-16 surrogate, which no text field "
    "can store; remove it and send the request again"
)


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character no database text column can store: NUL (PostgreSQL
    refuses it, SQLite would keep it and truncate it in C APIs) or a lone surrogate (not
    encodable as UTF-8 on either)."""
    return "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text)


def _json_unstorable(body: bytes) -> bool:
    if not _JSON_SUSPECT.search(body):  # the usual case: a cheap scan, no second parse
        return False
    try:
        data = json.loads(body)
    except ValueError:
        return False  # not JSON: the endpoint's own parsing answers 422
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if unstorable(value):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def _body_unstorable(content_type: bytes, body: bytes) -> bool:
    kind = content_type.split(b";")[0].strip().lower()
    if kind == b"application/x-www-form-urlencoded":
        return _FORM_NUL.search(body) is not None
    if kind == b"multipart/form-data":  # forms here upload no files: a NUL is never wanted
        return b"\x00" in body
    if kind == b"application/json" or kind.endswith(b"+json"):
        return _json_unstorable(body)
    return False


class TextGuard(_HttpMiddleware):
    """Refuse, in one place, text that the database cannot store: NUL bytes and lone
    surrogates in the path, the query string, form fields and JSON bodies.

    Without it such text reaches the database, where PostgreSQL refuses NUL (an HTTP 500) and
    SQLite stores it. A bad path or query string is answered here by ``refuse`` (a JSON error
    for the API, an error page for the web UI); a bad body is refused when the endpoint reads
    it, with a 400 that the app's error handlers render the same way.
    """

    def __init__(self, app: ASGIApp, *, refuse: Callable[[Scope, str], Awaitable[Any]]) -> None:
        self.app = app
        self.refuse = refuse

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        from urllib.parse import unquote_to_bytes

        query = bytes(scope.get("query_string", b""))
        if "\x00" in scope.get("path", "") or b"\x00" in unquote_to_bytes(query):
            where = "the query string" if b"\x00" in unquote_to_bytes(query) else "the path"
            response = await self.refuse(scope, NUL_MESSAGE.format(where=where))
            await response(scope, receive, send)
            return
        content_type = next((v for k, v in scope.get("headers", []) if k == b"content-type"), b"")
        if scope.get("method") in ("GET", "HEAD", "OPTIONS") or not content_type:
            await self.app(scope, receive, send)
            return
        done = False

        async def checked() -> Message:
            nonlocal done
            if done:
                return await receive()
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return message
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
            done = True
            body = b"".join(chunks)
            if _body_unstorable(content_type, body):
                raise HTTPException(400, NUL_MESSAGE.format(where="the request body"))
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, checked, send)
