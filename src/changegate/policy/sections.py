"""The policy file's sections about keeping and proving the record and about obligations
over time: retention (§6), audit checkpoints, the policy's own review (§9), monitoring (§8),
vulnerability findings (§6), access reviews (§7) and the auditor's control matrix. Part of
the schema (:mod:`changegate.policy.schema` re-exports them)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from changegate.policy.strict import Strict


class Retention(Strict):
    audit_years: int = Field(gt=0)
    statement: str = ""


class AuditCheckpoints(Strict):
    """When the server signs a checkpoint of the audit log (with CHANGEGATE_AUDIT_KEY_FILE):
    once this many events were appended since the last one, or this many minutes passed
    since it with new events."""

    every_events: int = Field(default=1000, gt=0)
    every_minutes: int = Field(default=60, gt=0)


class PolicyReview(Strict):
    """§9: who reviews the policy itself, and which deployed changes are significant enough to
    make it due for review before its annual date (docs/policy.md "The policy's own review")."""

    section: str = "9"
    reviewer_roles: list[str] = []
    #: a deployment to one of ``environments`` of a change in one of these categories, or
    #: touching one of these components, makes the policy due for review
    significant_categories: list[str] = []
    significant_components: list[str] = []
    environments: list[str] = ["production"]


AlertKind = Literal[
    "gate-refused",
    "emergency-bypass",
    "emergency-review-overdue",
    "deployment-outside-gate",
    "sod-refusal",
    "audit-verify-failed",
    "finding-past-sla",
    "access-review-overdue",
    "ai-change-deployed",
    "policy-changed",
]


class Monitoring(Strict):
    """§8: which violations raise an alert (docs/alerts.md), how long an alert may wait for
    someone to acknowledge it, and how hard its delivery is retried before it is dead-lettered."""

    section: str = "8"
    alert_on: list[AlertKind] = []
    ack_within_hours: int = Field(default=24, gt=0)
    delivery_attempts: int = Field(default=8, gt=0, le=100)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    retry_max_seconds: float = Field(default=600.0, gt=0)


Severity = Literal["critical", "high", "medium", "low"]


class Findings(Strict):
    """§6: how vulnerability findings weigh on the gate and on risk acceptance (docs/findings.md)."""

    section: str = "6"
    #: deployments to ``production_environments`` while findings of ``gate_severities`` in the
    #: change's scope are past their SLA: off, warn (a met requirement with a warning) or
    #: refuse; a deployment there also resolves the findings the change fixes
    gate: Literal["off", "warn", "refuse"] = "warn"
    gate_severities: list[Severity] = ["critical"]
    production_environments: list[str] = ["production"]
    #: the scope of an import without --scope; its findings count for every change
    default_scope: str = Field(default="all", min_length=1, max_length=100)
    #: the longest a risk acceptance may run before the finding re-opens
    max_acceptance_days: int = Field(default=180, gt=0)


class AccessReview(Strict):
    """§7: who decides the items of an access review and who signs a campaign off
    (docs/access-reviews.md); with no roles named, nobody can."""

    section: str = "7"
    reviewer_roles: list[str] = []
    signoff_roles: list[str] = []


class Control(Strict):
    """How a policy rule (or section) answers the audit frameworks' change-management controls."""

    soc2: list[str] = []
    iso27001: list[str] = []
    #: how changegate enforces it, in a sentence (controls.csv of the auditor package)
    enforcement: str = ""
    #: kinds of the package's exceptions.csv rows counted against it (besides gate refusals
    #: naming the rule)
    exceptions: list[str] = []


class Controls(Strict):
    """§6 "auditable": the control matrix of the auditor evidence package (docs/auditors)."""

    section: str = "6"
    #: framework key -> the control it names (e.g. soc2: SOC 2 CC8.1)
    frameworks: dict[str, str] = {}
    #: rule id, or a top-level section of this file (segregation_of_duties...) -> its mapping
    rules: dict[str, Control] = {}
