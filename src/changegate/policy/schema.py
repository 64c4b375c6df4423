"""Pydantic schema of the policy file. Unknown keys are errors, so typos never pass silently."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, model_validator

from changegate.policy.methods import PolicyMethods
from changegate.policy.names import CLASS_NAMES, FIELD_NAMES, PATH_RULE_FLAGS
from changegate.policy.pathrules import PathRule
from changegate.policy.sections import (
    AccessReview,
    AlertKind,
    AuditCheckpoints,
    Control,
    Controls,
    Findings,
    Monitoring,
    PolicyReview,
    Retention,
    Severity,
)
from changegate.policy.strict import Strict, unknown
from changegate.policy.trust import Oidc

__all__ = [
    "CLASS_NAMES",
    "FIELD_NAMES",
    "PATH_RULE_FLAGS",
    "AccessReview",
    "AlertKind",
    "AuditCheckpoints",
    "Control",
    "Controls",
    "Findings",
    "Monitoring",
    "Policy",
    "PolicyReview",
    "Retention",
    "Severity",
    "Strict",
]

ChangeClass = Literal["standard", "normal", "emergency"]

RequirementKind = Literal[
    "approval",
    "junit",
    "validation",
    "document",
    "field",
    "pre_approved",
    "retrospective_review",
    "post_incident_review",
    "dpa",
]


class HistoryEntry(Strict):
    version: str
    date: str
    author: str
    changes: str


class Metadata(Strict):
    name: str
    organization: str
    version: str
    effective_date: str
    last_updated: str
    owner: str
    review_frequency: str
    review_interval_days: int = Field(gt=0)
    classification: str = ""
    change_history: list[HistoryEntry] = []


class HighRisk(Strict):
    any_dimension_at_least: str


class Risk(Strict):
    dimensions: dict[str, str] = Field(min_length=1)
    levels: list[str] = Field(min_length=1)
    high_risk: HighRisk


class SecurityImpacting(Strict):
    risk_at_least: dict[str, str] = {}
    components: list[str] = []
    categories: list[str] = []


class RetrospectiveReview(Strict):
    due_within_hours: int = Field(gt=0)
    reviewer_roles: list[str] = Field(min_length=1)
    reviewer_may_be_author: bool = False


class ClassSpec(Strict):
    description: str
    section: str = ""
    pre_approved: bool = False
    bypass_approval: bool = False
    required_fields: list[str] = []
    retrospective_review: RetrospectiveReview | None = None
    post_incident_review_fields: list[str] = []


class SegregationOfDuties(Strict):
    section: str = "7"
    author_may_approve: bool = False
    distinct_approvers_per_requirement: bool = True
    high_risk_deployer_may_be_approver: bool = False
    author_may_deploy_high_risk: bool = True
    #: a role that may do any of ``second_admin_for`` (or deploy, or fill a rule's approval)
    #: is granted only when a second administrator confirms; nobody grants roles to themselves
    role_grants_need_second_admin: bool = True
    second_admin_for: list[str] = [
        "review.approve",
        "deploy",
        "rollback",
        "emergency.review",
        "user.manage",
        "token.manage",
    ]


class EvidenceBinding(Strict):
    """Evidence describes the change as it was when attached (§4c): an edit to any field listed
    here makes earlier evidence stale, so it no longer counts until attached again."""

    section: str = "4c"
    stale_when_changed: list[str] = []


class Deploy(Strict):
    section: str = "4d"
    deployer_roles: list[str] = Field(min_length=1)
    environments: list[str] = Field(min_length=1)


class CatalogueEntry(Strict):
    """A pre-approved procedure (§3a): what a standard change of its category may be."""

    #: the predefined procedure, as text or a link to it
    procedure: str = Field(min_length=1)
    #: the highest level allowed per risk dimension; every dimension is listed
    max_risk: dict[str, str]
    #: the components (and AI component) a change under this procedure may touch
    components: list[str] = []
    #: with the git integration: the files it may change (globs); any other file makes it normal
    paths: list[str] = []


class Category(Strict):
    name: str
    change_class: ChangeClass = Field(alias="class")
    section: str = ""
    examples: str = ""
    ai: bool = False
    component: str | None = None
    provider_relationship: bool = False
    requires_providers: bool = False
    notes: str = ""
    #: required for, and only for, categories of class standard: the catalogue entry
    catalogue: CatalogueEntry | None = None


class When(Strict):
    """Selector: a rule applies when every condition given here holds."""

    change_class: list[ChangeClass] | None = Field(default=None, alias="class")
    category: list[str] | None = None
    ai: bool | None = None
    security_impacting: bool | None = None
    high_risk: bool | None = None
    components: list[str] | None = None
    provider_relationship: bool | None = None


class Require(Strict):
    kind: RequirementKind
    role: str | None = None
    count: int = Field(default=1, ge=1)
    name: str | None = None
    field: str | None = None
    min_tests: int = Field(default=1, ge=0)
    #: validations only: the result counts only with the report it was decided on, stored by
    #: content (`changegate ai` commands attach theirs; by hand: `--report FILE`)
    report: bool = False
    #: junit and validations only: roles whose holders' attachments count (e.g. the ``ci``
    #: service accounts pipelines use); absent: anyone allowed to attach evidence
    attached_by: list[str] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _params(self) -> Require:
        needs = {"approval": "role", "validation": "name", "document": "name", "field": "field"}
        param = needs.get(self.kind)
        if param and not getattr(self, param):
            raise ValueError(f"requirement kind '{self.kind}' needs '{param}'")
        if self.kind == "field" and self.field not in FIELD_NAMES:
            raise ValueError(f"field must be one of {', '.join(FIELD_NAMES)}")
        if self.report and self.kind != "validation":
            raise ValueError("'report' applies to requirement kind 'validation' only")
        if self.attached_by is not None and self.kind not in ("junit", "validation"):
            raise ValueError("'attached_by' applies to requirement kinds 'junit' and 'validation'")
        return self


class Rule(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    section: str
    description: str
    when: When = When()
    require: Require
    stage: Literal["gate", "post_deploy"] = "gate"


class AiRegression(Strict):
    tolerance: float = Field(ge=0, le=1)
    similarity_threshold: float = Field(default=0.8, ge=0, le=1)


class AiConfigPaths(Strict):
    llm_routing: list[str] = []
    prompts: list[str] = []
    rag: list[str] = []
    content_filter: list[str] = []


class AiLiteLLM(Strict):
    """How a LiteLLM proxy/router configuration is classified (§10.1); nothing here is
    hard-coded in Python. A difference none of these lists places makes the change normal."""

    #: litellm_params keys holding a provider credential: credential-rotation only when nothing
    #: but these changed, each from one ``os.environ/`` reference to another
    credential_keys: list[str]
    #: litellm_params keys that point a deployment elsewhere: model-provider-switch
    endpoint_keys: list[str]
    #: fallback settings (litellm_settings, router_settings): model-provider-switch
    fallback_settings: list[str]
    #: settings whose change is security-impacting (authentication, redaction, guardrails, ...)
    security_settings: list[str]


class AiEvidenceNames(Strict):
    """Names under which `changegate ai` commands store evidence; the rules require these."""

    regression: str = "behavioral-regression"
    results_pre: str = "behavioral-results-pre"
    results_post: str = "behavioral-results-post"
    tenant_isolation: str = "tenant-isolation"
    tenant_isolation_report: str = "tenant-isolation-report"
    security_impact: str = "security-impact"
    security_assessment: str = "security-impact-assessment"
    injection_results: str = "prompt-injection-results"
    garak_results: str = "garak-results"


class Ai(Strict):
    section: str = "10"
    components: dict[str, str]
    review_steps: dict[str, str]
    documentation: list[str] = []
    regression: AiRegression
    config_paths: AiConfigPaths = AiConfigPaths()
    litellm: AiLiteLLM
    dpa_warning_days: int = Field(default=30, ge=0)
    security_assessor_roles: list[str] = ["security"]
    evidence: AiEvidenceNames = AiEvidenceNames()


class Policy(Strict, PolicyMethods):
    schema_version: Literal[1]
    metadata: Metadata
    roles: dict[str, str] = Field(min_length=1)
    risk: Risk
    security_impacting: SecurityImpacting
    components: dict[str, str]
    classes: dict[ChangeClass, ClassSpec]
    categories: dict[str, Category] = {}
    permissions: dict[str, list[str]] = {}
    segregation_of_duties: SegregationOfDuties
    deploy: Deploy
    evidence: EvidenceBinding = EvidenceBinding()
    ai: Ai
    rules: list[Rule]
    retention: Retention
    audit_checkpoints: AuditCheckpoints = AuditCheckpoints()
    vulnerability_sla_days: dict[str, int] = {}
    access_review_interval_days: int = Field(default=90, gt=0)
    access_review: AccessReview = AccessReview()
    findings: Findings = Findings()
    monitoring: Monitoring = Monitoring()
    controls: Controls = Controls()
    policy_review: PolicyReview = PolicyReview()
    #: which CI identity tokens are accepted and which pipelines act as whom (docs/pipelines.md)
    oidc: Oidc = Oidc()
    #: glob -> component, category, flags, minimum class (docs/git.md "Path rules")
    path_rules: list[PathRule] = []

    def _policy_review_problems(self) -> list[str]:
        review, where = self.policy_review, "policy_review"
        return (
            unknown(f"{where}.reviewer_roles", "role", review.reviewer_roles, self.roles)
            + unknown(
                f"{where}.significant_categories",
                "category",
                review.significant_categories,
                self.categories,
            )
            + unknown(
                f"{where}.significant_components",
                "component",
                review.significant_components,
                self.components,
            )
            + unknown(
                f"{where}.environments",
                "environment",
                review.environments,
                self.deploy.environments,
            )
        )

    @model_validator(mode="after")
    def _cross_references(self) -> Policy:
        problems: list[str] = []
        missing = [c for c in CLASS_NAMES if c not in self.classes]
        if missing:
            problems.append(f"classes: missing {', '.join(missing)}")
        level = set(self.risk.levels)
        if self.risk.high_risk.any_dimension_at_least not in level:
            problems.append("risk.high_risk.any_dimension_at_least: not one of risk.levels")
        for dim, lvl in self.security_impacting.risk_at_least.items():
            if dim not in self.risk.dimensions or lvl not in level:
                problems.append(
                    f"security_impacting.risk_at_least.{dim}: unknown dimension or level"
                )
        si = self.security_impacting
        problems += unknown(
            "security_impacting.components", "component", si.components, self.components
        )
        problems += unknown(
            "security_impacting.categories", "category", si.categories, self.categories
        )
        for name, spec in self.classes.items():
            for f in spec.required_fields:
                if f not in FIELD_NAMES:
                    problems.append(f"classes.{name}.required_fields: unknown field '{f}'")
            if spec.retrospective_review:
                where = f"classes.{name}.retrospective_review"
                problems += unknown(
                    where, "role", spec.retrospective_review.reviewer_roles, self.roles
                )
        for slug, category in self.categories.items():
            if category.component and category.component not in self.components:
                problems.append(
                    f"categories.{slug}.component: unknown component '{category.component}'"
                )
            problems.extend(self._catalogue_problems(slug, category))
        for action, roles in self.permissions.items():
            problems += unknown(f"permissions.{action}", "role", roles, self.roles)
        for action in self.segregation_of_duties.second_admin_for:
            if action not in self.permissions:
                problems.append(
                    f"segregation_of_duties.second_admin_for: unknown action '{action}' "
                    "(not in permissions)"
                )
        for f in self.evidence.stale_when_changed:
            if f not in FIELD_NAMES:
                problems.append(
                    f"evidence.stale_when_changed: unknown field '{f}' "
                    f"(fields: {', '.join(FIELD_NAMES)})"
                )
        problems += unknown("deploy.deployer_roles", "role", self.deploy.deployer_roles, self.roles)
        problems += unknown(
            "findings.production_environments",
            "environment",
            self.findings.production_environments,
            self.deploy.environments,
        )
        sla = self.vulnerability_sla_days
        problems += unknown("vulnerability_sla_days", "severity", sla, get_args(Severity))
        if sla and set(sla) != set(get_args(Severity)):
            problems.append("vulnerability_sla_days: give days for critical, high, medium and low")
        review = self.access_review
        for kind in ("reviewer_roles", "signoff_roles"):
            named = getattr(review, kind)
            problems += unknown(f"access_review.{kind}", "role", named, self.roles)
        problems += self._policy_review_problems()
        known_controls = {r.id for r in self.rules} | set(type(self).model_fields)
        problems += unknown("controls.rules", "rule", self.controls.rules, known_controls)
        assessors = self.ai.security_assessor_roles
        problems += unknown("ai.security_assessor_roles", "role", assessors, self.roles)
        problems.extend(self._rule_problems())
        problems.extend(self._path_rule_problems())
        problems.extend(self.oidc.problems(self.roles, self.deploy.environments))
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _rule_problems(self) -> list[str]:
        """Each rule's id is unique and names only roles, categories and components the
        policy defines."""
        problems: list[str] = []
        seen: set[str] = set()
        for i, rule in enumerate(self.rules):
            where = f"rules.{i} ({rule.id})"
            if rule.id in seen:
                problems.append(f"{where}.id: duplicate rule id")
            seen.add(rule.id)
            if rule.require.role and rule.require.role not in self.roles:
                problems.append(f"{where}.require.role: unknown role '{rule.require.role}'")
            attached_by = rule.require.attached_by or []
            problems += unknown(f"{where}.require.attached_by", "role", attached_by, self.roles)
            when = rule.when
            problems += unknown(
                f"{where}.when.category", "category", when.category or [], self.categories
            )
            problems += unknown(
                f"{where}.when.components", "component", when.components or [], self.components
            )
        return problems

    def _catalogue_problems(self, slug: str, category: Category) -> list[str]:
        where = f"categories.{slug}.catalogue"
        entry = category.catalogue
        if category.change_class != "standard":
            if entry is not None:
                return [f"{where}: only categories of class standard are pre-approved procedures"]
            return []
        if entry is None:
            return [
                f"{where}: missing; a standard category is a pre-approved procedure (§3a) and "
                "needs procedure, max_risk and components"
            ]
        problems: list[str] = []
        for dim in self.risk.dimensions:
            level = entry.max_risk.get(dim)
            if level is None:
                problems.append(f"{where}.max_risk: give the highest {dim} level allowed")
            elif level not in self.risk.levels:
                problems.append(f"{where}.max_risk.{dim}: '{level}' is not one of risk.levels")
        for dim in entry.max_risk:
            if dim not in self.risk.dimensions:
                problems.append(f"{where}.max_risk: unknown risk dimension '{dim}'")
        problems += unknown(f"{where}.components", "component", entry.components, self.components)
        if category.component and category.component not in entry.components:
            problems.append(
                f"{where}.components: must include the category's own component "
                f"'{category.component}'"
            )
        return problems

    def _path_rule_problems(self) -> list[str]:
        problems: list[str] = []
        for i, path_rule in enumerate(self.path_rules):
            where = f"path_rules.{i} ({path_rule.pattern})"
            if path_rule.component and path_rule.component not in self.components:
                problems.append(f"{where}.component: unknown component '{path_rule.component}'")
            if path_rule.category and path_rule.category not in self.categories:
                problems.append(f"{where}.category: unknown category '{path_rule.category}'")
            if path_rule.change_class and path_rule.change_class not in CLASS_NAMES:
                problems.append(
                    f"{where}.class: unknown class '{path_rule.change_class}' "
                    f"(classes: {', '.join(CLASS_NAMES)})"
                )
            for flag in path_rule.flags:
                if flag not in PATH_RULE_FLAGS:
                    problems.append(
                        f"{where}.flags: unknown flag '{flag}' (flags: {', '.join(PATH_RULE_FLAGS)})"
                    )
        return problems
