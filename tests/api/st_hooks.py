"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.api.st_hooks): our own check on every response."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def json_error_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx says what is wrong, as JSON ``{error, message, field}``."""
    if 400 <= response.status_code < 500:
        ctype = response.headers.get("content-type", [""])
        ctype = ctype[0] if isinstance(ctype, list) else ctype
        if "application/json" not in ctype:
            raise AssertionError(f"{response.status_code} answered with {ctype!r}, not JSON")
        body = response.json()
        if not (isinstance(body, dict) and {"error", "message", "field"} <= set(body)):
            raise AssertionError(f"{response.status_code} body lacks error/message/field: {body!r}")
        if not body["message"]:
            raise AssertionError(f"{response.status_code} body has an empty message")
    return None
