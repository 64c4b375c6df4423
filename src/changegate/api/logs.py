"""Structured logs: one JSON line per request (request id, actor, method, path, status, ms) and
per alert delivery (``changegate.alerts.delivery``), on stderr, for a log pipeline to parse.

``changegate serve --log-format json`` (the default) configures them; ``text`` keeps uvicorn's
human access log. The request id is the caller's ``X-Request-ID`` when it is a short plain
token, else a new one; it is sent back in the response's ``X-Request-ID``.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from changegate.api.middleware import Message, Receive, Scope, Send, _HttpMiddleware
from changegate.db import iso, utcnow

log = logging.getLogger("changegate.request")

_GIVEN_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class JsonFormatter(logging.Formatter):
    """A record as one JSON object: time, level, logger, message and its ``cg`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": iso(utcnow()),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "cg", None)
        if isinstance(fields, dict):
            out |= fields
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, separators=(",", ":"))


def configure(fmt: str) -> None:
    """Send changegate's records to stderr, as JSON lines (``json``) or plain text."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(levelname)s %(name)s %(message)s")
    )
    root = logging.getLogger("changegate")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


class RequestLog(_HttpMiddleware):
    """Logs each HTTP request once, when its response has started (status known) or failed."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _GIVEN_ID.match(given) else uuid.uuid4().hex
        start = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            state = scope.get("state") or {}
            fields = {
                "kind": "request",
                "request_id": request_id,
                "actor": state.get("actor"),
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "ms": round((time.perf_counter() - start) * 1000, 1),
            }
            log.info("request", extra={"cg": fields})
