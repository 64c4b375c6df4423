"""Recording the policy in force, and role-based permission checks from the policy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.db import utcnow
from changegate.errors import PolicyDenied
from changegate.policy.loader import LoadedPolicy
from changegate.policy.models import PolicyVersion
from changegate.users.models import User

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


def ensure_recorded(
    session: Session, loaded: LoadedPolicy, *, actor: str = "system"
) -> PolicyVersion:
    """Store the full text of the policy in force the first time it is used."""
    found = session.scalar(select(PolicyVersion).where(PolicyVersion.digest == loaded.digest))
    if found is not None:
        return found
    row = PolicyVersion(
        digest=loaded.digest,
        name=loaded.policy.metadata.name,
        version=loaded.policy.metadata.version,
        source=loaded.source,
        text=loaded.text,
        loaded_at=utcnow(),
    )
    session.add(row)
    record(session, events.PolicyLoaded, actor=actor, after=row)
    return row


def allowed(policy: Policy, user: User, action: str) -> bool:
    return bool(set(user.roles) & set(policy.permissions.get(action, [])))


def require(policy: Policy, user: User, action: str, *, doing: str) -> None:
    if not allowed(policy, user, action):
        roles = ", ".join(policy.permissions.get(action, [])) or "none"
        raise PolicyDenied(
            f"{user.name} may not {doing}: the policy grants '{action}' to roles {roles}; "
            f"{user.name} holds {', '.join(user.roles) or 'no roles'}",
            field="by",
        )
