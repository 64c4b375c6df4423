"""The catalogue of everything changegate records in its audit log.

Each event type is a small frozen dataclass with a one-line docstring; ``docs/audit-events.md``
is generated from this module, so this file is the single list of auditable actions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class Event:
    """Base of audit event types."""

    action: ClassVar[str]
    entity_type: ClassVar[str]


@dataclass(frozen=True)
class PolicyLoaded(Event):
    """A policy version was first used against this database; its full text is recorded."""

    action = "policy.loaded"
    entity_type = "policy"


@dataclass(frozen=True)
class UserAdded(Event):
    """A user was added with roles."""

    action = "user.added"
    entity_type = "user"


@dataclass(frozen=True)
class UserUpdated(Event):
    """A user's roles, GitHub login or password changed."""

    action = "user.updated"
    entity_type = "user"


@dataclass(frozen=True)
class ChangeCreated(Event):
    """A change request was created as a draft."""

    action = "change.created"
    entity_type = "change"


@dataclass(frozen=True)
class ChangeEdited(Event):
    """A change's content was edited; approvals bound to the old content become stale."""

    action = "change.edited"
    entity_type = "change"


@dataclass(frozen=True)
class ChangeSubmitted(Event):
    """A change was submitted for review (standard changes are pre-approved on submit)."""

    action = "change.submitted"
    entity_type = "change"


@dataclass(frozen=True)
class ChangeStateChanged(Event):
    """A change moved through its lifecycle (approved, deployed, rolled back, closed...)."""

    action = "change.state_changed"
    entity_type = "change"


@dataclass(frozen=True)
class ApprovalRecorded(Event):
    """A reviewer approved a change, bound to the digest of its content."""

    action = "review.approved"
    entity_type = "review"


@dataclass(frozen=True)
class RejectionRecorded(Event):
    """A reviewer rejected a change."""

    action = "review.rejected"
    entity_type = "review"


@dataclass(frozen=True)
class BlobStored(Event):
    """A file's content was stored under its SHA-256."""

    action = "blob.stored"
    entity_type = "blob"


@dataclass(frozen=True)
class EvidenceAdded(Event):
    """Evidence (JUnit results, a validation, a document) was attached to a change."""

    action = "evidence.added"
    entity_type = "evidence"


@dataclass(frozen=True)
class GateEvaluated(Event):
    """The deploy gate was evaluated for a change, environment and deployer."""

    action = "gate.evaluated"
    entity_type = "gate_decision"


@dataclass(frozen=True)
class DeploymentRecorded(Event):
    """A deployment of a change to an environment was recorded (after the gate passed)."""

    action = "deployment.recorded"
    entity_type = "deployment"


@dataclass(frozen=True)
class RollbackRecorded(Event):
    """A rollback of an environment to an earlier version was recorded."""

    action = "deployment.rolled_back"
    entity_type = "deployment"


@dataclass(frozen=True)
class EmergencyReviewed(Event):
    """An emergency change's retrospective and post-incident review was recorded."""

    action = "emergency.reviewed"
    entity_type = "emergency_review"


ALL_EVENTS: tuple[type[Event], ...] = tuple(
    cls
    for cls in list(globals().values())
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
)
