"""Recording the policy in force, and role-based permission checks from the policy."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.alerts.raising import POLICY_KEY
from changegate.audit import events
from changegate.audit.service import record
from changegate.db import utcnow
from changegate.errors import PolicyDenied
from changegate.policy.models import PolicyVersion

if TYPE_CHECKING:
    from changegate.policy.loader import LoadedPolicy
    from changegate.policy.schema import Policy


def ensure_recorded(
    session: Session, loaded: LoadedPolicy, *, actor: str = "system", rewrite: bool = False
) -> PolicyVersion:
    """Store the full text of the policy in force the first time it is used, with its
    validated snapshot (added to rows stored before snapshots or with an older format;
    ``rewrite`` replaces it from ``loaded``, as `changegate init` does)."""
    from changegate.policy.snapshot import SNAPSHOT_FORMAT, to_json

    session.info.setdefault(POLICY_KEY, loaded.policy)  # what alerts are raised under
    found = session.scalar(select(PolicyVersion).where(PolicyVersion.digest == loaded.digest))
    if found is not None:
        if rewrite or found.snapshot_format != SNAPSHOT_FORMAT:
            found.snapshot, found.snapshot_format = to_json(loaded.policy), SNAPSHOT_FORMAT
        return found
    row = PolicyVersion(
        digest=loaded.digest,
        name=loaded.policy.metadata.name,
        version=loaded.policy.metadata.version,
        source=loaded.source,
        text=loaded.text,
        loaded_at=utcnow(),
        snapshot=to_json(loaded.policy),
        snapshot_format=SNAPSHOT_FORMAT,
    )
    session.add(row)
    record(session, events.PolicyLoaded, actor=actor, after=row)
    return row


def policy_in_force(
    session: Session, text: str, source: str, *, write: bool = True
) -> LoadedPolicy:
    """The policy in force for one command (its text, as ``loader.read_policy_text`` read it),
    recorded when ``write``.

    A policy text recorded earlier is not validated again: its snapshot, stored beside the
    text (same digest), is read instead, without importing Pydantic. That is what keeps
    `changegate gate` in a pipeline fast on a fresh CI runner. ``CHANGEGATE_NO_POLICY_CACHE=1``
    validates every time.
    """
    import os

    from changegate.policy.loader import LoadedPolicy, parse_policy, policy_digest
    from changegate.policy.snapshot import SNAPSHOT_FORMAT, from_json

    digest = policy_digest(text)
    unreadable = False
    if not os.environ.get("CHANGEGATE_NO_POLICY_CACHE"):
        stored = session.execute(
            select(PolicyVersion.snapshot, PolicyVersion.snapshot_format).where(
                PolicyVersion.digest == digest
            )
        ).first()
        if stored is not None and stored[1] == SNAPSHOT_FORMAT and stored[0]:
            try:
                policy = from_json(stored[0])
            except ValueError:
                unreadable = True  # validate the text again, and rewrite the snapshot
            else:
                session.info[POLICY_KEY] = policy
                return LoadedPolicy(policy=policy, source=source, text=text, digest=digest)
    loaded = parse_policy(text, source)
    session.info[POLICY_KEY] = loaded.policy
    if write:
        ensure_recorded(session, loaded, rewrite=unreadable)
    return loaded


class RoleHolder(Protocol):
    """Whoever holds roles: a user, or a caller the API remembers between requests."""

    @property
    def roles(self) -> Collection[str]: ...


def allowed(policy: Policy, user: RoleHolder, action: str) -> bool:
    """Whether the policy grants ``action`` to one of the holder's roles: the one permission
    check of every entry point, the API's cached status read included."""
    return bool(set(user.roles) & set(policy.permissions.get(action, [])))


class Principal(RoleHolder, Protocol):
    """A role holder with a name: a user, or a pipeline acting as one (auth.trust)."""

    @property
    def name(self) -> str: ...


def require(policy: Policy, user: Principal, action: str, *, doing: str) -> None:
    if not allowed(policy, user, action):
        roles = ", ".join(policy.permissions.get(action, [])) or "none"
        raise PolicyDenied(
            f"{user.name} may not {doing}: the policy grants '{action}' to roles {roles}; "
            f"{user.name} holds {', '.join(user.roles) or 'no roles'}",
            field="by",
        )
