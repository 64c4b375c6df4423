"""Authentication errors. Free of database imports, so the remote CLI can map them too."""

from __future__ import annotations

from changegate.errors import ChangegateError


class Unauthenticated(ChangegateError):
    """No credentials, or credentials that are malformed, unknown, expired or revoked."""

    http_status = 401

    def __init__(self, message: str, *, field: str | None = None, subject: str | None = None):
        super().__init__(message, field=field)
        #: the user the refused credentials belonged to, when known (recorded in the audit log)
        self.subject = subject


class RateLimited(ChangegateError):
    """Too many failed attempts; try again later."""

    exit_code = 1
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
