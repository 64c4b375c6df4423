"""Errors raised by the GitHub integration.

Each is a ``ValueError`` and a ``ChangegateError``, so the API and the CLI map it once;
``http_status`` says what the webhook endpoint answers. Messages name the field and the fix.
"""

from __future__ import annotations

from changegate.errors import ChangegateError, InvalidInput


class GitHubError(InvalidInput, ValueError):
    """Base of the GitHub integration's input errors (HTTP 400, exit code 2)."""


class SignatureError(GitHubError):
    """A webhook delivery is unsigned or wrongly signed: answer 401 and store nothing."""

    http_status = 401


class WebhookSecretMissing(GitHubError):
    """The server has no webhook secret configured: a configuration error, not the sender's,
    so the endpoint is unavailable (503) until an operator sets the secret."""

    http_status = 503


class PayloadError(GitHubError):
    """A webhook delivery's headers or body are malformed: answer 400 and store nothing."""


class GitHubApiError(ChangegateError, ValueError):
    """GitHub's REST API refused a request or could not be reached."""

    exit_code = 1
    http_status = 502

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        status_code: int | None = None,
        response_message: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.status_code = status_code
        self.response_message = response_message
