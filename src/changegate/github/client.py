"""The GitHub REST API calls changegate makes, over httpx.

- ``review_deployment_protection_rule``: answer a custom deployment protection rule
  (``POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`` with
  ``environment_name``, ``state`` approved or rejected, and ``comment``); GitHub holds the
  deploy job until this arrives. GitHub only accepts it from the GitHub App that owns the
  rule, authenticated with an installation access token.
- ``answer_deployment_callback``: the same answer, posted to the
  ``deployment_callback_url`` the ``deployment_protection_rule`` event carries. The URL
  must point at the configured API (``base_url``), so the token is never sent elsewhere.
- ``create_commit_status``: report the gate result on a commit
  (``POST /repos/{owner}/{repo}/statuses/{sha}``).

Every request carries ``Accept: application/vnd.github+json``, ``X-GitHub-Api-Version``
and ``Authorization: Bearer <token>``, as GitHub's REST documentation asks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx

from changegate.github.errors import GitHubApiError, GitHubError

DEFAULT_BASE_URL = "https://api.github.com"
DEFAULT_API_VERSION = "2022-11-28"
ACCEPT = "application/vnd.github+json"
STATUS_DESCRIPTION_LIMIT = 140  # GitHub refuses longer commit status descriptions
COMMENT_LIMIT = 1024  # keep protection rule comments short enough for the run's page

ProtectionState = Literal["approved", "rejected"]
CommitState = Literal["error", "failure", "pending", "success"]

_SHA = re.compile(r"\A[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?\Z")
_NAME = re.compile(r"\A[A-Za-z0-9_.-]+\Z")
_CALLBACK_PATH = re.compile(r"/repos/[^/]+/[^/]+/actions/runs/\d+/deployment_protection_rule\Z")


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _version() -> str:
    try:
        from changegate import __version__
    except ImportError:  # pragma: no cover - the package always defines it
        return "0"
    return str(__version__)


def format_gate_comment(
    *,
    passed: bool,
    environment: str,
    unmet: Sequence[str] = (),
    change_id: str | None = None,
    details_url: str | None = None,
) -> str:
    """The comment for a protection rule answer: the verdict, then each unmet requirement."""
    subject = f"{change_id} " if change_id else ""
    if passed:
        lines = [f"changegate: {subject}passed the gate for {environment}."]
    else:
        lines = [f"changegate: {subject}did not pass the gate for {environment}."]
        if not change_id:
            lines.append("- no change record is linked to this commit")
        lines += [f"- {requirement}" for requirement in unmet]
    if details_url:
        lines.append(f"Details: {details_url}")
    text = "\n".join(lines)
    if len(text) <= COMMENT_LIMIT:
        return text
    tail = f"\n… and more{f': {details_url}' if details_url else ''}"
    return text[: COMMENT_LIMIT - len(tail)].rsplit("\n", 1)[0] + tail


class GitHubClient:
    """A small synchronous client for the few REST calls changegate makes.

    ``token`` is an installation access token of changegate's GitHub App (a fine-grained
    token works for commit statuses). ``transport`` lets tests route requests elsewhere.
    Use it as a context manager, or call ``close()``.
    """

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = 10.0,
        user_agent: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not token or not token.strip():
            raise GitHubError(
                "token: empty; give a GitHub App installation access token",
                field="token",
            )
        parts = urlsplit(base_url)
        if parts.scheme not in {"https", "http"} or not parts.netloc:
            raise GitHubError(
                f"base_url: {base_url!r} is not an http(s) URL; use {DEFAULT_BASE_URL} or "
                "https://HOST/api/v3 for GitHub Enterprise Server",
                field="base_url",
            )
        self.base_url = base_url.rstrip("/")
        self._base = parts
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={
                "Accept": ACCEPT,
                "Authorization": f"Bearer {token.strip()}",
                "X-GitHub-Api-Version": api_version,
                "User-Agent": user_agent or f"changegate/{_version()}",
            },
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- requests -------------------------------------------------------------------------

    def _post(self, url: str, payload: dict[str, Any], *, what: str) -> httpx.Response:
        try:
            response = self._client.post(url, json=payload)
        except httpx.HTTPError as exc:
            raise GitHubApiError(
                f"{what}: could not reach GitHub at {self.base_url} ({exc}); check the "
                "network and base_url",
                field="base_url",
            ) from exc
        if response.is_success:
            return response
        message = None
        try:
            body = response.json()
            if isinstance(body, dict):
                message = body.get("message")
                errors = body.get("errors")
                if errors:
                    message = f"{message}: {errors}"
        except ValueError:
            message = response.text[:200] or None
        hint = {
            401: "the token is invalid or expired; mint a new installation access token",
            403: "the token lacks the permission for this call (deployments: write for "
            "protection rules, statuses: write for commit statuses)",
            404: "the repository, run or commit is not visible to this token",
            422: "GitHub rejected the request body",
        }.get(response.status_code, "GitHub refused the request")
        raise GitHubApiError(
            f"{what}: GitHub answered {response.status_code} ({message or 'no message'}); {hint}",
            status_code=response.status_code,
            response_message=message,
        )

    @staticmethod
    def _path_part(value: str, field: str) -> str:
        if not value or not _NAME.match(value):
            raise GitHubError(
                f"{field}: {value!r} is not a GitHub owner or repository name",
                field=field,
            )
        return quote(value, safe="")

    def _answer_protection(
        self, url: str, environment_name: str, state: ProtectionState, comment: str, what: str
    ) -> None:
        """Post a protection rule's answer (approved or rejected, with its comment) to ``url``."""
        self._post(url, self._protection_body(environment_name, state, comment), what=what)

    @staticmethod
    def _protection_body(
        environment_name: str, state: ProtectionState, comment: str
    ) -> dict[str, Any]:
        if state not in ("approved", "rejected"):
            raise GitHubError(f"state: {state!r} is not 'approved' or 'rejected'", field="state")
        if not environment_name:
            raise GitHubError(
                "environment_name: empty; give the environment named in the event",
                field="environment_name",
            )
        return {
            "environment_name": environment_name,
            "state": state,
            "comment": _truncate(comment, COMMENT_LIMIT),
        }

    def review_deployment_protection_rule(
        self,
        owner: str,
        repo: str,
        run_id: int,
        *,
        environment_name: str,
        state: ProtectionState,
        comment: str,
    ) -> None:
        """Approve or reject a deployment held by changegate's protection rule."""
        if isinstance(run_id, bool) or not isinstance(run_id, int) or run_id <= 0:
            raise GitHubError(f"run_id: {run_id!r} is not a workflow run id", field="run_id")
        path = (
            f"/repos/{self._path_part(owner, 'owner')}/{self._path_part(repo, 'repo')}"
            f"/actions/runs/{run_id}/deployment_protection_rule"
        )
        self._answer_protection(
            path, environment_name, state, comment, "deployment protection rule"
        )

    def answer_deployment_callback(
        self,
        callback_url: str,
        *,
        environment_name: str,
        state: ProtectionState,
        comment: str,
    ) -> None:
        """Post the answer to the event's ``deployment_callback_url``.

        The URL must be on the configured API host (same scheme, host and port, under
        ``base_url``'s path) and name a run's protection rule endpoint; anything else is
        refused, so a forged URL cannot collect the token.
        """
        parts = urlsplit(callback_url)
        base_path = self._base.path.rstrip("/")
        if (
            parts.scheme != self._base.scheme
            or parts.netloc.lower() != self._base.netloc.lower()
            or not parts.path.startswith(base_path + "/")
            or _CALLBACK_PATH.search(parts.path) is None
            or parts.query
            or parts.fragment
        ):
            raise GitHubError(
                f"deployment_callback_url: {callback_url!r} is not a deployment protection "
                f"rule endpoint under {self.base_url}; refusing to send the token there",
                field="deployment_callback_url",
            )
        self._answer_protection(
            callback_url, environment_name, state, comment, "deployment protection rule callback"
        )

    def create_commit_status(
        self,
        owner: str,
        repo: str,
        sha: str,
        *,
        state: CommitState,
        context: str = "changegate/gate",
        description: str | None = None,
        target_url: str | None = None,
    ) -> dict[str, Any]:
        """Create a commit status; returns GitHub's JSON for the new status."""
        if state not in ("error", "failure", "pending", "success"):
            raise GitHubError(
                f"state: {state!r} is not one of error, failure, pending, success",
                field="state",
            )
        if not _SHA.match(sha):
            raise GitHubError(f"sha: {sha!r} is not a full commit SHA", field="sha")
        payload: dict[str, Any] = {"state": state, "context": context}
        if description is not None:
            payload["description"] = _truncate(description, STATUS_DESCRIPTION_LIMIT)
        if target_url is not None:
            payload["target_url"] = target_url
        path = (
            f"/repos/{self._path_part(owner, 'owner')}/{self._path_part(repo, 'repo')}"
            f"/statuses/{sha.lower()}"
        )
        response = self._post(path, payload, what="commit status")
        try:
            result = response.json()
        except ValueError:
            return {}
        return result if isinstance(result, dict) else {}
