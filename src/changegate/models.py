"""Imports every slice's ORM models so metadata and the audit verifier see all tables."""

from changegate.access.models import AccessItem, AccessReview
from changegate.ai.models import AiProvider
from changegate.alerts.models import Alert, AlertDelivery
from changegate.audit.models import AuditEvent, AuditHead
from changegate.auth.models import ApiToken, LoginFailure, PasswordCredential, WebSession
from changegate.changes.models import Change
from changegate.deployments.models import Deployment, GateDecision
from changegate.evidence.models import Blob, Evidence
from changegate.findings.models import Finding, FindingImport, FindingLink, RiskAcceptance
from changegate.github.models import CommitLink, GitHubDeployment, PullRequestLink, WebhookDelivery
from changegate.incidents.models import EmergencyReview
from changegate.policy.models import PolicyVersion
from changegate.retention.models import LegalHold
from changegate.reviews.models import Review
from changegate.scm.models import ChangeClassification, ChangeCommit, ChangeIndex, CommitAuthor
from changegate.users.models import RoleGrant, User

#: entity type in audit events -> model whose rows the verifier checks against the log
AUDITED: dict[str, type] = {
    "policy": PolicyVersion,
    "user": User,
    "change": Change,
    "review": Review,
    "blob": Blob,
    "evidence": Evidence,
    "gate_decision": GateDecision,
    "deployment": Deployment,
    "emergency_review": EmergencyReview,
    "api_token": ApiToken,
    "password": PasswordCredential,
    "session": WebSession,
    "github_delivery": WebhookDelivery,
    "github_pull_request": PullRequestLink,
    "commit_link": CommitLink,
    "github_deployment": GitHubDeployment,
    "change_classification": ChangeClassification,
    "commit_author": CommitAuthor,
    "ai_provider": AiProvider,
    "role_grant": RoleGrant,
    "finding": Finding,
    "finding_import": FindingImport,
    "finding_link": FindingLink,
    "risk_acceptance": RiskAcceptance,
    "access_review": AccessReview,
    "access_item": AccessItem,
    "legal_hold": LegalHold,
    "alert": Alert,
}

__all__ = [
    "AUDITED",
    "AccessItem",
    "AccessReview",
    "AiProvider",
    "Alert",
    "AlertDelivery",
    "ApiToken",
    "AuditEvent",
    "AuditHead",
    "Blob",
    "Change",
    "ChangeClassification",
    "ChangeCommit",
    "ChangeIndex",
    "CommitAuthor",
    "CommitLink",
    "Deployment",
    "EmergencyReview",
    "Evidence",
    "Finding",
    "FindingImport",
    "FindingLink",
    "GateDecision",
    "GitHubDeployment",
    "LegalHold",
    "LoginFailure",
    "PasswordCredential",
    "PolicyVersion",
    "PullRequestLink",
    "Review",
    "RiskAcceptance",
    "RoleGrant",
    "User",
    "WebSession",
    "WebhookDelivery",
]
