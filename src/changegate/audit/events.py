"""The catalogue of everything changegate records in its audit log.

Each event type is a small frozen class with a one-line docstring: plain subclasses of the
frozen ``Event`` dataclass, so importing the catalogue stays cheap on the CLI's hot path.
``docs/audit-events.md`` is generated from this module: it is the list of auditable actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Event:
    """Base of audit event types."""

    action: ClassVar[str]
    entity_type: ClassVar[str]


class PolicyLoaded(Event):
    """A policy version was first used against this database; its full text is recorded."""

    action = "policy.loaded"
    entity_type = "policy"


class PolicyReviewed(Event):
    """The policy in force was reviewed (§9): who, when, the version and digest, the notes."""

    action = "policy.reviewed"
    entity_type = "policy-review"


class UserAdded(Event):
    """A user was added with roles."""

    action = "user.added"
    entity_type = "user"


class UserUpdated(Event):
    """A user's roles, GitHub login or password changed."""

    action = "user.updated"
    entity_type = "user"


class ChangeCreated(Event):
    """A change request was created as a draft."""

    action = "change.created"
    entity_type = "change"


class ChangeEdited(Event):
    """A change's content was edited; approvals bound to the old content become stale, and so
    does evidence when a field the policy binds it to (``evidence.stale_when_changed``) changed."""

    action = "change.edited"
    entity_type = "change"


class ChangeSubmitted(Event):
    """A change was submitted for review (standard changes are pre-approved on submit)."""

    action = "change.submitted"
    entity_type = "change"


class ChangeStateChanged(Event):
    """A change moved through its lifecycle (approved, deployed, rolled back, closed...)."""

    action = "change.state_changed"
    entity_type = "change"


class ApprovalRecorded(Event):
    """A reviewer approved a change, bound to the digest of its content."""

    action = "review.approved"
    entity_type = "review"


class RejectionRecorded(Event):
    """A reviewer rejected a change."""

    action = "review.rejected"
    entity_type = "review"


class BlobStored(Event):
    """A file's content was stored under its SHA-256."""

    action = "blob.stored"
    entity_type = "blob"


class EvidenceAdded(Event):
    """Evidence (JUnit results, a validation, a document) was attached to a change."""

    action = "evidence.added"
    entity_type = "evidence"


class GateEvaluated(Event):
    """The deploy gate was evaluated for a change, environment and deployer."""

    action = "gate.evaluated"
    entity_type = "gate_decision"


class DeploymentRecorded(Event):
    """A deployment of a change to an environment was recorded (after the gate passed)."""

    action = "deployment.recorded"
    entity_type = "deployment"


class RollbackRecorded(Event):
    """A rollback of an environment to an earlier version was recorded."""

    action = "deployment.rolled_back"
    entity_type = "deployment"


class EmergencyReviewed(Event):
    """An emergency change's retrospective and post-incident review was recorded."""

    action = "emergency.reviewed"
    entity_type = "emergency_review"


class TokenCreated(Event):
    """An API token was issued to a user (only its SHA-256 is stored)."""

    action = "token.created"
    entity_type = "api_token"


class TokenRevoked(Event):
    """An API token was revoked; it is refused from then on."""

    action = "token.revoked"
    entity_type = "api_token"


class PasswordSet(Event):
    """A user's web login password was set or changed (only an argon2 hash is stored)."""

    action = "auth.password_set"
    entity_type = "password"


class RoleGrantRequested(Event):
    """An administrator granted roles that can decide the gate; they wait for a second
    administrator's confirmation (policy ``segregation_of_duties.second_admin_for``)."""

    action = "user.grant_requested"
    entity_type = "role_grant"


class RoleGrantConfirmed(Event):
    """A second administrator confirmed a pending role grant; the roles took effect."""

    action = "user.grant_confirmed"
    entity_type = "role_grant"


class RoleGrantSuperseded(Event):
    """A pending role grant was replaced by a later grant for the same user."""

    action = "user.grant_superseded"
    entity_type = "role_grant"


class SessionEnded(Event):
    """A web session was ended because its user's password changed."""

    action = "auth.session_ended"
    entity_type = "session"


class LoggedIn(Event):
    """A user logged in to the web UI; a session was opened."""

    action = "auth.login"
    entity_type = "session"


class LoggedOut(Event):
    """A user logged out of the web UI; the session was ended."""

    action = "auth.logout"
    entity_type = "session"


class AuthenticationFailed(Event):
    """A login failed, or an expired or revoked API token was presented."""

    action = "auth.failed"
    entity_type = "auth"


class AccessDenied(Event):
    """An authenticated user was refused an action (role, ownership or segregation of duties)."""

    action = "access.denied"
    entity_type = "access"


class AiProviderAdded(Event):
    """An LLM provider was added to the provider register (policy §10.2)."""

    action = "ai_provider.added"
    entity_type = "ai_provider"


class AiProviderDpaRecorded(Event):
    """A provider's Data Processing Agreement was recorded: status, dates, document by hash."""

    action = "ai_provider.dpa_recorded"
    entity_type = "ai_provider"


class ChangeClassified(Event):
    """A change was classified from the files its pull request or commit range changes."""

    action = "change.classified"
    entity_type = "change_classification"


class ApprovalWithdrawn(Event):
    """An approval was withdrawn (changes requested or review dismissed on GitHub)."""

    action = "review.withdrawn"
    entity_type = "review"


class GitHubDeliveryProcessed(Event):
    """A signed GitHub webhook delivery was accepted; what it did (or why not) is recorded."""

    action = "github.delivery"
    entity_type = "github_delivery"


class GitHubProtectionRuleAnswered(Event):
    """changegate answered GitHub's deployment protection rule for a held deploy job."""

    action = "github.protection_rule_answered"
    entity_type = "github_delivery"


class PullRequestLinked(Event):
    """A pull request was linked to its change, or its head, template or state changed."""

    action = "github.pull_request"
    entity_type = "github_pull_request"


class CommitLinked(Event):
    """A commit that landed on a branch (merge commit, pushed commit) was linked to a change."""

    action = "github.commit_linked"
    entity_type = "commit_link"


class CommitReferenced(Event):
    """A pushed commit whose message names a change or its pull request was recorded as a
    reference: shown on the change, never covered by its approvals and evidence."""

    action = "github.commit_referenced"
    entity_type = "commit_link"


class CommitAuthorRecorded(Event):
    """Who authored, committed or pushed one of a change's commits was recorded; they count
    as authors of the change for segregation of duties."""

    action = "change.commit_author"
    entity_type = "commit_author"


class GitHubDeploymentViolation(Event):
    """A deployment GitHub reported broke the policy (its creator maps to no user, lacks the
    deployer role, or is barred by segregation of duties, or no gate passed)."""

    action = "github.deployment_violation"
    entity_type = "github_deployment"


class GitHubDeploymentRecorded(Event):
    """A deployment GitHub reported was recorded with its status and whether a gate passed."""

    action = "github.deployment"
    entity_type = "github_deployment"


class CheckpointSigned(Event):
    """A signed checkpoint of the audit log (C2SP tlog-checkpoint: tree size and Merkle root)
    was issued; the note is kept in the event, so the next one must be consistent with it."""

    action = "audit.checkpoint_signed"
    entity_type = "checkpoint"


class LegalHoldPlaced(Event):
    """A legal hold was placed on a change: nothing of its record is purged while it holds."""

    action = "retention.hold_placed"
    entity_type = "legal_hold"


class LegalHoldReleased(Event):
    """A legal hold on a change was released (the hold's row stays, with who and why)."""

    action = "retention.hold_released"
    entity_type = "legal_hold"


class BlobPurged(Event):
    """An evidence file's bytes were erased past the policy's retention period; its SHA-256
    and size stay, and `audit verify` reports it as purged, not as tampered with."""

    action = "retention.blob_purged"
    entity_type = "blob"


class AccessReviewCreated(Event):
    """An access review campaign was created as a draft: name, scope, period, due date, owner."""

    action = "access_review.created"
    entity_type = "access_review"


class AccessReviewOpened(Event):
    """An access review was opened: its population was snapshotted, with the row count and the
    SHA-256 of the canonical population (policy §7)."""

    action = "access_review.opened"
    entity_type = "access_review"


class AccessReviewClosed(Event):
    """An access review was signed off and closed, every item decided and carried out."""

    action = "access_review.closed"
    entity_type = "access_review"


class AccessItemAdded(Event):
    """An entitlement (subject, system, entitlement) joined an access review's population."""

    action = "access_item.added"
    entity_type = "access_item"


class AccessItemDecided(Event):
    """A reviewer decided an access review item: keep, revoke or modify, with a justification."""

    action = "access_item.decided"
    entity_type = "access_item"


class AccessRevocationApplied(Event):
    """A revoke or modify decision was carried out (changegate roles and tokens through their
    own audited services; other systems with a reference and a verification date)."""

    action = "access_item.applied"
    entity_type = "access_item"


class AlertRaised(Event):
    """A violation the policy's monitoring.alert_on names raised an alert and opened an investigation (§8)."""

    action = "alert.raised"
    entity_type = "alert"


class AlertAcknowledged(Event):
    """A person acknowledged an alert: its investigation has an owner."""

    action = "alert.acknowledged"
    entity_type = "alert"


class AlertResolved(Event):
    """An alert's investigation was resolved, with notes and a link (e.g. the remediating change)."""

    action = "alert.resolved"
    entity_type = "alert"


class EmergencyReviewOverdue(Event):
    """An emergency change passed its retrospective review deadline without one (§5, §8)."""

    action = "emergency.review_overdue"
    entity_type = "emergency_overdue"


class AuditVerificationFailed(Event):
    """`audit verify` found the record altered or inconsistent; the problems are recorded."""

    action = "audit.verification_failed"
    entity_type = "audit"


class FindingsImported(Event):
    """A scanner's file was imported into a scope (§6): its SHA-256 and what it changed."""

    action = "findings.imported"
    entity_type = "finding_import"


class FindingOpened(Event):
    """A finding was first seen by an import, with its SLA start and due date (§6)."""

    action = "finding.opened"
    entity_type = "finding"


class FindingUpdated(Event):
    """A re-import changed what a finding says (severity, versions, VEX state) or its due date."""

    action = "finding.updated"
    entity_type = "finding"


class FindingFixed(Event):
    """A finding was resolved: absent from a re-import of its scope, or its fixing change was
    deployed to production (the change is recorded)."""

    action = "finding.fixed"
    entity_type = "finding"


class FindingReopened(Event):
    """A fixed finding came back in a re-import, or its risk acceptance lapsed; its SLA runs."""

    action = "finding.reopened"
    entity_type = "finding"


class FindingRiskAccepted(Event):
    """A finding's risk was accepted until an expiry date by an approver the policy names."""

    action = "finding.risk_accepted"
    entity_type = "finding"


class RiskAcceptanceRecorded(Event):
    """A risk acceptance decision (justification, expiry, approver) was recorded."""

    action = "risk_acceptance.recorded"
    entity_type = "risk_acceptance"


class RiskAcceptanceLapsed(Event):
    """A risk acceptance reached its expiry date and lapsed."""

    action = "risk_acceptance.lapsed"
    entity_type = "risk_acceptance"


class FindingLinked(Event):
    """A change was linked to a finding it fixes, or that triggered it (emergency change)."""

    action = "finding.linked"
    entity_type = "finding_link"


class FindingPastSla(Event):
    """An open vulnerability finding passed its SLA due date (§6, §8); recorded once per due date."""

    action = "finding.past_sla"
    entity_type = "finding_overdue"


class AccessReviewOverdue(Event):
    """The periodic access review passed its due date (§7, §8); recorded once per due date."""

    action = "access_review.overdue"
    entity_type = "access_review_overdue"


ALL_EVENTS: tuple[type[Event], ...] = tuple(
    cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
)
