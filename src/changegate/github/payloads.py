"""Typed GitHub webhook payloads, for the events changegate acts on.

The models follow GitHub's documented payload shapes ("Webhook events and payloads") and
declare the fields changegate reads; every other field GitHub sends is kept (extra fields
are allowed) and never causes a rejection. A field changegate needs that is missing or of
the wrong type is a malformed delivery: ``parse_event`` raises ``PayloadError`` naming it.

Events handled (``EVENT_MODELS``): ``ping``, ``pull_request``, ``pull_request_review``,
``push``, ``deployment``, ``deployment_status`` and ``deployment_protection_rule``. Any
other event name gives ``None``: acknowledge it and ignore it. Within a handled event the
``action`` is kept as a string, since GitHub adds actions over time; ``HANDLED_ACTIONS``
lists the ones changegate acts on.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from changegate.github.errors import PayloadError


class GitHubModel(BaseModel):
    """Base of every payload model: immutable, unknown fields kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


class User(GitHubModel):
    login: str
    id: int
    type: str | None = None


class Installation(GitHubModel):
    id: int


class Repository(GitHubModel):
    id: int
    name: str
    full_name: str
    owner: User
    default_branch: str | None = None
    html_url: str | None = None
    private: bool | None = None

    @property
    def owner_login(self) -> str:
        return self.owner.login


class RepositoryEvent(GitHubModel):
    """The fields every repository webhook event carries."""

    repository: Repository
    sender: User
    installation: Installation | None = None


class GitRef(GitHubModel):
    """``pull_request.head`` / ``pull_request.base``."""

    ref: str
    sha: str
    label: str | None = None
    repo: Repository | None = None


class PullRequest(GitHubModel):
    """A pull request; review events carry a simpler shape without ``merged``."""

    id: int
    number: int
    state: str
    title: str
    body: str | None = None
    user: User
    html_url: str
    head: GitRef
    base: GitRef
    draft: bool | None = None
    merged: bool | None = None
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    merged_by: User | None = None


class PullRequestEvent(RepositoryEvent):
    """``pull_request``: opened, edited, synchronize, reopened, closed, and others."""

    action: str
    number: int
    pull_request: PullRequest
    before: str | None = None  # synchronize: the head before the push
    after: str | None = None  # synchronize: the new head
    changes: dict[str, Any] | None = None  # edited: the previous title/body

    @property
    def is_merged(self) -> bool:
        """Closed by merging (``closed`` with ``pull_request.merged`` true)."""
        return self.action == "closed" and self.pull_request.merged is True


class Review(GitHubModel):
    id: int
    user: User | None = None  # null when the reviewer's account was deleted
    body: str | None = None
    commit_id: str
    submitted_at: str | None = None
    state: str
    html_url: str

    @field_validator("state")
    @classmethod
    def _lowercase_state(cls, value: str) -> str:
        # Webhooks send 'approved'; the REST API sends 'APPROVED'. Accept both.
        return value.lower()


class PullRequestReviewEvent(RepositoryEvent):
    """``pull_request_review``: submitted (approved, changes_requested, commented),
    edited, dismissed."""

    action: str
    review: Review
    pull_request: PullRequest

    @property
    def is_approval(self) -> bool:
        return self.action == "submitted" and self.review.state == "approved"

    @property
    def is_dismissal(self) -> bool:
        return self.action == "dismissed"


class CommitIdentity(GitHubModel):
    name: str
    email: str | None = None
    username: str | None = None


class PushCommit(GitHubModel):
    id: str
    tree_id: str | None = None
    distinct: bool | None = None
    message: str
    timestamp: str
    url: str | None = None
    author: CommitIdentity
    committer: CommitIdentity
    added: list[str] = []
    removed: list[str] = []
    modified: list[str] = []


class Pusher(GitHubModel):
    name: str
    email: str | None = None


class PushEvent(RepositoryEvent):
    """``push``: a ref was updated."""

    ref: str
    before: str
    after: str
    created: bool
    deleted: bool
    forced: bool
    base_ref: str | None = None
    compare: str | None = None
    commits: list[PushCommit]
    head_commit: PushCommit | None = None
    pusher: Pusher

    @property
    def branch(self) -> str | None:
        """The branch name for ``refs/heads/...`` pushes, else None (tags)."""
        prefix = "refs/heads/"
        return self.ref[len(prefix) :] if self.ref.startswith(prefix) else None

    @property
    def to_default_branch(self) -> bool:
        default = self.repository.default_branch
        return default is not None and self.branch == default


class Deployment(GitHubModel):
    id: int
    sha: str
    ref: str
    task: str | None = None
    environment: str
    original_environment: str | None = None
    description: str | None = None
    creator: User | None = None
    created_at: str | None = None
    updated_at: str | None = None
    url: str | None = None
    statuses_url: str | None = None
    production_environment: bool | None = None
    transient_environment: bool | None = None
    payload: dict[str, Any] | str | None = None


class WorkflowRun(GitHubModel):
    id: int
    head_sha: str | None = None
    name: str | None = None
    html_url: str | None = None


class DeploymentFields(RepositoryEvent):
    """What the ``deployment`` and ``deployment_status`` events both carry."""

    action: str
    deployment: Deployment
    workflow_run: WorkflowRun | None = None


class DeploymentEvent(DeploymentFields):
    """``deployment``: created."""


class DeploymentStatus(GitHubModel):
    id: int
    state: str  # error, failure, inactive, pending, success, queued, in_progress
    description: str | None = None
    environment: str | None = None
    target_url: str | None = None
    log_url: str | None = None
    environment_url: str | None = None
    creator: User | None = None
    created_at: str | None = None
    updated_at: str | None = None


class DeploymentStatusEvent(DeploymentFields):
    """``deployment_status``: created."""

    deployment_status: DeploymentStatus


_CALLBACK_PATH = re.compile(
    r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)/actions/runs/(?P<run_id>\d+)"
    r"/deployment_protection_rule\Z"
)


class DeploymentProtectionRuleEvent(GitHubModel):
    """``deployment_protection_rule``: requested.

    GitHub holds the job until the app answers at ``deployment_callback_url`` (the
    ``POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule``
    endpoint). The commit is ``deployment.sha`` (or the top-level ``sha``).
    """

    action: str
    environment: str
    event: str | None = None
    deployment_callback_url: str
    deployment: Deployment | None = None
    sha: str | None = None
    ref: str | None = None
    pull_requests: list[dict[str, Any]] = []
    repository: Repository | None = None
    sender: User | None = None
    installation: Installation | None = None

    @model_validator(mode="after")
    def _has_commit_and_run(self) -> DeploymentProtectionRuleEvent:
        if self.commit_sha is None:
            raise ValueError(
                "deployment.sha: missing; the event must name the commit being deployed"
            )
        if _CALLBACK_PATH.search(urlsplit(self.deployment_callback_url).path) is None:
            raise ValueError(
                "deployment_callback_url: expected .../repos/{owner}/{repo}/actions/runs/"
                "{run_id}/deployment_protection_rule"
            )
        return self

    @property
    def commit_sha(self) -> str | None:
        if self.deployment is not None:
            return self.deployment.sha
        return self.sha

    def _callback_part(self, name: str) -> str:
        match = _CALLBACK_PATH.search(urlsplit(self.deployment_callback_url).path)
        assert match is not None  # checked at validation
        return match.group(name)

    @property
    def run_id(self) -> int:
        """The workflow run held by the rule, from the callback URL."""
        return int(self._callback_part("run_id"))

    @property
    def owner(self) -> str:
        return self._callback_part("owner")

    @property
    def repo(self) -> str:
        return self._callback_part("repo")


class PingEvent(GitHubModel):
    """``ping``: sent when a webhook is created."""

    zen: str | None = None
    hook_id: int | None = None


WebhookEvent = (
    PingEvent
    | PullRequestEvent
    | PullRequestReviewEvent
    | PushEvent
    | DeploymentEvent
    | DeploymentStatusEvent
    | DeploymentProtectionRuleEvent
)

EVENT_MODELS: dict[str, type[WebhookEvent]] = {
    "ping": PingEvent,
    "pull_request": PullRequestEvent,
    "pull_request_review": PullRequestReviewEvent,
    "push": PushEvent,
    "deployment": DeploymentEvent,
    "deployment_status": DeploymentStatusEvent,
    "deployment_protection_rule": DeploymentProtectionRuleEvent,
}

HANDLED_ACTIONS: dict[str, frozenset[str]] = {
    "pull_request": frozenset({"opened", "edited", "synchronize", "reopened", "closed"}),
    "pull_request_review": frozenset({"submitted", "dismissed"}),
    "deployment": frozenset({"created"}),
    "deployment_status": frozenset({"created"}),
    "deployment_protection_rule": frozenset({"requested"}),
}


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "body"


def _decode_body(body: bytes) -> object:
    """The JSON document of a delivery (``application/json`` or the form-encoded
    ``payload=`` variant GitHub offers as a webhook content type)."""
    if body.startswith(b"payload="):
        values = parse_qs(body.decode("utf-8", "replace")).get("payload")
        if not values:
            raise PayloadError("body: the 'payload' form field is empty", field="body")
        text = values[0]
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PayloadError(
                f"body: not UTF-8 (byte {exc.start}); send GitHub's JSON body unmodified",
                field="body",
            ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(
            f"body: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "set the webhook's content type to application/json",
            field="body",
        ) from exc


def parse_event(event_name: str, body: bytes) -> WebhookEvent | None:
    """Parse a delivery's body for the event named by its ``X-GitHub-Event`` header.

    Returns the typed payload, or None for an event changegate does not handle. Raises
    ``PayloadError`` for a body that is not JSON, not an object, or lacks a field
    changegate needs; the message lists every such field (``pull_request.head.sha: Field
    required``).
    """
    model = EVENT_MODELS.get(event_name)
    if model is None:
        return None
    document = _decode_body(body)
    if not isinstance(document, dict):
        raise PayloadError(
            f"body: expected a JSON object for a {event_name} event, got {type(document).__name__}",
            field="body",
        )
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        problems: list[str] = []
        fields: list[str] = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            if error["loc"]:
                where = _location(error["loc"])
                problems.append(f"{where}: {message}")
            else:  # a whole-model check, whose message starts with the field it is about
                where = message.partition(":")[0]
                problems.append(message)
            fields.append(where)
        raise PayloadError(
            f"{event_name} payload: " + "; ".join(problems),
            field=fields[0] if fields else "body",
        ) from exc
