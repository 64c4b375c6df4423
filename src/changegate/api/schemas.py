"""Request bodies and response shapes of the API.

Request bodies forbid unknown fields, so a client cannot set state, approver, author or
timestamps (mass assignment). Fields naming an actor (``by``, ``author``, ``deployer``) exist
only so that a client repeating the CLI's options is checked: they must name the caller.

Response shapes are exactly what the CLI prints with ``--json``; they allow extra keys so a
field added to a record shows up in both without a schema change here.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from changegate.changes.schemas import ChangeFields

Name = Field(default=None, max_length=100, description="Must be the authenticated user, if given")


def _clean(value: Any, path: str = "") -> None:
    """Refuse text no database column can hold: NUL characters and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path or 'value'}: NUL characters are not allowed")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{path or 'value'}: not valid Unicode text") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _clean(k, path)
            _clean(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _clean(v, f"{path}[{i}]")


def _strip(model: BaseModel, keep: tuple[str, ...] = ()) -> None:
    """Trim text fields *after* validation, so length limits apply to what was sent."""
    for name, value in model.__dict__.items():
        if isinstance(value, str) and name not in keep:
            object.__setattr__(model, name, value.strip())


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: Any) -> Any:
        _clean(data)
        return data

    @model_validator(mode="after")
    def _trimmed(self) -> Body:
        _strip(self, keep=("password",))
        return self


class ActorIn(Body):
    by: str | None = Name


class ChangeNew(ChangeFields):
    """A new change (a draft). Fields as in `changegate change new`."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    change_class: str = Field(max_length=20, description="standard | normal | emergency")
    author: str | None = Name

    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: Any) -> Any:
        _clean(data)
        return data

    @model_validator(mode="after")
    def _trimmed(self) -> ChangeNew:
        _strip(self)
        if not self.title:
            raise ValueError("title: must not be blank")
        return self


class ChangeEdit(ChangeFields):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    by: str | None = Name

    @model_validator(mode="after")
    def _trimmed(self) -> ChangeEdit:
        _strip(self)
        if self.title is not None and not self.title:
            raise ValueError("title: must not be blank")
        return self

    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: Any) -> Any:
        _clean(data)
        return data


class ApproveIn(Body):
    comment: str = Field(default="", max_length=10_000)
    by: str | None = Name


class RejectIn(Body):
    comment: str = Field(min_length=1, max_length=10_000, description="What must change")
    by: str | None = Name


class FileIn(Body):
    filename: str = Field(min_length=1, max_length=255)
    content_base64: str = Field(description="The file's bytes, base64-encoded")

    def content(self) -> bytes:
        try:
            return base64.b64decode(self.content_base64, validate=True)
        except (binascii.Error, ValueError):
            from changegate.errors import InvalidInput

            raise InvalidInput(
                "content_base64 is not valid base64", field="content_base64"
            ) from None


class JunitIn(FileIn):
    by: str | None = Name


class ValidationIn(Body):
    name: str = Field(min_length=1, max_length=100, description="e.g. staging, tls")
    result: Literal["pass", "fail"]
    details: str = Field(default="", max_length=10_000)
    by: str | None = Name
    report_filename: str | None = Field(default=None, min_length=1, max_length=255)
    report_base64: str | None = Field(
        default=None, description="The report the validation was decided on, base64-encoded"
    )

    def report(self) -> bytes | None:
        if self.report_base64 is None:
            return None
        try:
            return base64.b64decode(self.report_base64, validate=True)
        except (binascii.Error, ValueError):
            from changegate.errors import InvalidInput

            raise InvalidInput("report_base64 is not valid base64", field="report_base64") from None


class DocumentIn(FileIn):
    kind: str = Field(min_length=1, max_length=100, description="e.g. design, staging-report")
    details: str = Field(default="", max_length=10_000)
    by: str | None = Name


class GateIn(Body):
    env: str = Field(min_length=1, max_length=100)
    deployer: str | None = Name


class DeployIn(Body):
    env: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=200)
    by: str | None = Name


class RollbackIn(Body):
    env: str = Field(min_length=1, max_length=100)
    to: str = Field(min_length=1, max_length=200, description="Version to return to")
    reason: str = Field(min_length=1, max_length=10_000)
    by: str | None = Name


class EmergencyReviewIn(Body):
    root_cause: str = Field(min_length=1, max_length=20_000)
    actions: str = Field(min_length=1, max_length=20_000, description="Actions taken")
    preventive: str = Field(min_length=1, max_length=20_000, description="Preventive controls")
    by: str | None = Name


class UserIn(Body):
    name: str = Field(min_length=1, max_length=100)
    roles: list[str] = Field(min_length=1, max_length=50)
    github: str | None = Field(default=None, max_length=100)
    by: str | None = Name


class RolesIn(Body):
    roles: list[str] = Field(min_length=1, max_length=50)
    by: str | None = Name


class PasswordIn(Body):
    password: str = Field(min_length=1, max_length=1024)
    current_password: str | None = Field(
        default=None,
        max_length=1024,
        description="Required to change your own password when one is set",
    )


class TokenIn(Body):
    user: str | None = Field(
        default=None, max_length=100, description="Whose token (default: the caller)"
    )
    expires: str = Field(default="90d", max_length=20, description="90d, 12h, 2w or never")
    label: str = Field(default="", max_length=200)


class PolicyCheckIn(Body):
    text: str = Field(max_length=1_000_000, description="The policy document (YAML)")
    file: str = Field(default="<request>", max_length=500)


# --- responses -----------------------------------------------------------------------------


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class RiskOut(Out):
    level: str
    note: str = ""


class ChangeOut(Out):
    id: str
    title: str
    description: str
    change_class: str
    category: str | None
    components: list[str]
    providers: list[str]
    ai_component: str | None
    risk: dict[str, RiskOut]
    rollback_plan: str
    justification: str
    links: list[str]
    commits: list[str]
    security_flag: bool
    author: str
    state: str
    revision: int
    created_at: str
    updated_at: str
    submitted_at: str | None


class ReviewOut(Out):
    id: int
    change: str
    reviewer: str
    verdict: str
    comment: str
    content_digest: str
    roles: str
    created_at: str


class ReviewStateOut(ReviewOut):
    state: str


class ReviewShownOut(ReviewOut):
    stale: bool


class EvidenceOut(Out):
    id: int
    change: str
    kind: str
    name: str
    passed: bool | None
    details: str
    blob_sha256: str | None
    filename: str | None
    summary: dict[str, Any] | None
    added_by: str
    created_at: str


class EvidenceShownOut(EvidenceOut):
    stale: bool = Field(description="attached before an edit the policy binds evidence to")
    stale_fields: list[str] = Field(description="the fields changed since it was attached")


class ViolationOut(Out):
    """A deployment GitHub reported that broke the policy (its creator is the deployer)."""

    github_deployment: int
    change: str | None
    sha: str
    environment: str
    creator: str = Field(description="GitHub login of the deployment's creator")
    reason: str
    at: str


class ReferenceOut(Out):
    """A commit whose message names the change: not covered by its review, opens no gate."""

    sha: str
    repository: str
    reason: str
    created_at: str


class CommitAuthorOut(Out):
    """A user who authored, committed or pushed one of the change's commits (an author for
    segregation of duties)."""

    user: str
    why: str


class ChangeDetailOut(ChangeOut):
    content_digest: str
    reviews: list[ReviewShownOut]
    evidence: list[EvidenceShownOut]
    references: list[ReferenceOut] = []
    commit_authors: list[CommitAuthorOut] = []
    violations: list[ViolationOut] = []


class CommitMatchOut(Out):
    sha: str = Field(description="The commit, in full as given (lower case)")
    linked_as: str = Field(
        description="merge (its pull request's merge commit) | commit (one of its commits)"
    )


class ChangeByCommitOut(ChangeDetailOut):
    """``change show --json`` of the change a commit belongs to, and how it was found."""

    commit: CommitMatchOut


class RequirementOut(Out):
    rule: str
    section: str
    description: str
    kind: str
    stage: str
    met: bool
    reason: str
    policy: str
    bypassed: bool
    due: str | None
    overdue: bool


class StatusOut(Out):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    change: str
    title: str
    state: str
    change_class: str = Field(alias="class")
    category: str | None
    policy: str
    high_risk: bool
    security_impacting: bool
    ai: bool
    ready_to_deploy: bool
    requirements: list[RequirementOut]
    unmet: list[RequirementOut]
    violations: list[ViolationOut] = []


class GateOut(Out):
    change: str
    environment: str
    deployer: str
    passed: bool
    bypass: bool
    policy: str
    high_risk: bool
    security_impacting: bool
    decision: int | None
    requirements: list[RequirementOut]
    unmet: list[RequirementOut]


class DeploymentOut(Out):
    id: int
    change: str
    environment: str
    version: str
    kind: str
    actor: str
    reason: str
    bypass: bool
    gate_decision: int | None
    created_at: str


class RollbackOut(DeploymentOut):
    state: str


class DeployOut(Out):
    deployed: bool
    deployment: DeploymentOut | None
    gate: GateOut
    state: str


class GateByCommitOut(GateOut):
    commit: CommitMatchOut


class DeployByCommitOut(DeployOut):
    commit: CommitMatchOut


class DeployRefusedOut(DeployOut):
    """The gate refused the deployment; the refusal is recorded."""

    error: str
    message: str
    field: str | None


class EmergencyReviewOut(Out):
    id: int
    change: str
    reviewer: str
    root_cause: str
    actions_taken: str
    preventive_controls: str
    created_at: str


class OverdueItemOut(Out):
    change: str
    title: str
    author: str
    due: str
    state: str


class OverdueOut(Out):
    overdue: list[OverdueItemOut]
    count: int


class AnchorOut(Out):
    seq: int
    hash: str
    ok: bool


class VerifyOut(Out):
    ok: bool
    events: int
    rows_checked: int
    head_seq: int
    head_hash: str
    first_broken_event: int | None
    problems: list[str]
    anchors: list[AnchorOut] = Field(description="each --anchor given, and whether it matched")


class TimelineOut(Out):
    seq: int
    ts: str
    actor: str
    action: str
    entity: str
    summary: str
    event: dict[str, Any]


class UserOut(Out):
    id: int
    name: str
    roles: list[str]
    github_login: str | None
    active: bool
    created_at: str
    pending_roles: list[str] = Field(
        default=[], description="Granted roles waiting for a second administrator's confirmation"
    )


class GrantOut(Out):
    id: int
    user: str
    roles: list[str]
    requested_by: str
    requested_at: str
    state: str
    decided_by: str | None
    decided_at: str | None


class MeOut(UserOut):
    permissions: list[str]


class PasswordOut(Out):
    user: str
    updated_at: str
    updated_by: str
    must_change: bool = Field(
        default=False, description="A one-time password: the user must replace it"
    )


class TokenOut(Out):
    id: int
    public_id: str
    user: str
    label: str
    created_by: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    revoked_by: str | None
    status: str


class TokenCreatedOut(TokenOut):
    token: str = Field(description="The token itself: shown this once, stored only as SHA-256")


class PolicyProblemOut(Out):
    path: str
    message: str


class PolicyCheckOut(Out):
    file: str
    valid: bool
    errors: list[PolicyProblemOut]
    policy: str | None


class HealthOut(Out):
    status: str
    schema_revision: str
    policy: str
    policy_digest: str
    database: str
    version: str
