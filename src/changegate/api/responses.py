"""Response shapes of the API: exactly what the CLI prints with ``--json``. They allow extra
keys, so a field added to a record shows up in both without a schema change here."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
    already_recorded: bool = Field(
        default=False,
        description="A re-run: this version was already recorded; the answer is that record",
    )


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
    purged: list[str] = Field(
        default=[],
        description="evidence files whose bytes were purged per retention, and by which event",
    )


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
    gitlab_login: str | None = None
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
