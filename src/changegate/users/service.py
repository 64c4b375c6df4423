from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.db import utcnow
from changegate.errors import Conflict, InvalidInput, NotFound, PolicyDenied, SegregationOfDuties
from changegate.users.models import RoleGrant, User

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
#: the actor of grants made by the database's operator (the local CLI without --by), who is not
#: an administrator account: the operator's grants are direct
OPERATOR = "system"


def _check_roles(policy: Policy, roles: list[str]) -> list[str]:
    if not roles:
        raise InvalidInput(
            f"at least one --role is required; roles: {', '.join(policy.roles)}", field="role"
        )
    unknown = [r for r in roles if r not in policy.roles]
    if unknown:
        raise InvalidInput(
            f"unknown role {', '.join(repr(r) for r in unknown)}: the policy's roles are "
            f"{', '.join(policy.roles)}",
            field="role",
        )
    return sorted(set(roles))


def add_user(
    session: Session,
    policy: Policy,
    *,
    name: str,
    roles: list[str],
    github_login: str | None = None,
    actor: str = OPERATOR,
    gitlab_login: str | None = None,
) -> User:
    if not _NAME.match(name):
        raise InvalidInput(
            f"user name {name!r} is invalid: use letters, digits, '.', '_', '-' or '@' "
            "(up to 100 characters)",
            field="name",
        )
    roles = _check_roles(policy, roles)
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise Conflict(
            f"user {name} already exists; change roles with `user set-roles`", field="name"
        )
    if github_login and session.scalar(select(User).where(User.github_login == github_login)):
        raise Conflict(
            f"GitHub login {github_login} is already mapped to another user", field="github"
        )
    if gitlab_login and session.scalar(select(User).where(User.gitlab_login == gitlab_login)):
        raise Conflict(
            f"GitLab login {gitlab_login} is already mapped to another user", field="gitlab"
        )
    admin = _acting_admin(session, policy, actor)
    direct, waiting = _split_grant(policy, admin, current=[], wanted=roles)
    user = User(
        name=name,
        roles=direct,
        github_login=github_login,
        gitlab_login=gitlab_login,
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    record(session, events.UserAdded, actor=actor, after=user)
    if waiting:
        _request_grant(session, user, waiting, actor=actor)
    return user


def set_roles(
    session: Session, policy: Policy, user: User, *, roles: list[str], actor: str
) -> User:
    """Replace a user's roles. Removals take effect at once; added roles that can decide the
    gate wait for a second administrator when an administrator account grants them (see
    :func:`gate_roles`); nobody adds roles to themselves."""
    wanted = _check_roles(policy, roles)
    admin = _acting_admin(session, policy, actor)
    added = sorted(set(wanted) - set(user.roles))
    if added and actor == user.name:
        raise SegregationOfDuties(
            f"nobody grants roles to themselves: {actor} may not give themselves "
            f"{', '.join(added)}; another administrator must",
            field="by",
        )
    direct, waiting = _split_grant(policy, admin, current=list(user.roles), wanted=wanted)
    for grant in pending_grants(session, user=user.name):
        _supersede(session, grant, actor=actor)
    if direct != list(user.roles):
        before = user.audit_state()
        user.roles = direct
        record(session, events.UserUpdated, actor=actor, before=before, after=user)
    if waiting:
        _request_grant(session, user, waiting, actor=actor)
    return user


# --- grants that need a second administrator (policy §7 for administrators) -------------------


def gate_roles(policy: Policy) -> set[str]:
    """Roles that can decide the gate, from the policy: the roles allowed any action listed in
    ``segregation_of_duties.second_admin_for``, the deployer roles, and the roles rules require
    (approvals, and whose attachments count)."""
    out: set[str] = set()
    for action in policy.segregation_of_duties.second_admin_for:
        out.update(policy.permissions.get(action, []))
    out.update(policy.deploy.deployer_roles)
    for rule in policy.rules:
        if rule.require.role:
            out.add(rule.require.role)
        out.update(getattr(rule.require, "attached_by", None) or [])
    return out


def _acting_admin(session: Session, policy: Policy, actor: str) -> User | None:
    """The administrator account making a grant, or None for the database's operator."""
    from changegate.policy.service import require

    user = session.scalar(select(User).where(User.name == actor))
    if user is None and actor == OPERATOR:
        return None
    if user is None or not user.active:
        raise NotFound(
            f"unknown user {actor!r} as the administrator making this change: name an active "
            "user who holds user.manage (or leave --by out to act as the database's operator)",
            field="by",
        )
    require(policy, user, "user.manage", doing="change roles")
    return user


def _split_grant(
    policy: Policy, admin: User | None, *, current: list[str], wanted: list[str]
) -> tuple[list[str], list[str]]:
    """(the roles that take effect now, the added roles that wait for a second admin)."""
    added = set(wanted) - set(current)
    waiting: set[str] = set()
    if admin is not None and policy.segregation_of_duties.role_grants_need_second_admin:
        waiting = added & gate_roles(policy)
    return sorted(set(wanted) - waiting), sorted(waiting)


def _request_grant(session: Session, user: User, roles: list[str], *, actor: str) -> RoleGrant:
    grant = RoleGrant(
        user_name=user.name,
        roles=roles,
        requested_by=actor,
        requested_at=utcnow(),
        state="pending",
    )
    session.add(grant)
    record(session, events.RoleGrantRequested, actor=actor, after=grant)
    return grant


def _supersede(session: Session, grant: RoleGrant, *, actor: str) -> None:
    before = grant.audit_state()
    grant.state = "superseded"
    grant.decided_by = actor
    grant.decided_at = utcnow()
    record(session, events.RoleGrantSuperseded, actor=actor, before=before, after=grant)


def pending_grants(session: Session, *, user: str | None = None) -> list[RoleGrant]:
    stmt = select(RoleGrant).where(RoleGrant.state == "pending").order_by(RoleGrant.id)
    if user is not None:
        stmt = stmt.where(RoleGrant.user_name == user)
    return list(session.scalars(stmt))


def user_view(session: Session, user: User) -> dict[str, Any]:
    """A user as the API returns and `--json` prints it: roles, and roles still pending."""
    pending = sorted({r for g in pending_grants(session, user=user.name) for r in g.roles})
    return user.audit_state() | {"pending_roles": pending}


def list_grants(session: Session, *, pending_only: bool = False) -> list[RoleGrant]:
    stmt = select(RoleGrant).order_by(RoleGrant.id)
    if pending_only:
        stmt = stmt.where(RoleGrant.state == "pending")
    return list(session.scalars(stmt))


def confirm_grant(session: Session, policy: Policy, grant_id: int, *, actor: str) -> RoleGrant:
    """A second administrator confirms a pending grant: its roles are added to the user's.

    Refused to the administrator who made the grant and to the grantee, and to anyone without
    ``user.manage``; the operator (no administrator account) may not confirm either, since a
    confirmation is one administrator checking another.
    """
    from changegate.policy.service import require

    grant = session.scalar(select(RoleGrant).where(RoleGrant.id == grant_id).with_for_update())
    if grant is None:
        raise NotFound(
            f"no role grant {grant_id}; `changegate user grants` lists them", field="grant"
        )
    admin = session.scalar(select(User).where(User.name == actor))
    if admin is None or not admin.active:
        raise PolicyDenied(
            f"a grant is confirmed by an administrator account: {actor!r} is not an active user "
            "(pass --by NAME)",
            field="by",
        )
    require(policy, admin, "user.manage", doing="confirm role grants")
    if grant.state != "pending":
        raise Conflict(
            f"role grant {grant.id} is {grant.state} (by {grant.decided_by}); nothing to confirm",
            field="grant",
        )
    if actor == grant.requested_by:
        raise SegregationOfDuties(
            f"{actor} made grant {grant.id}: a second administrator must confirm it",
            field="by",
        )
    if actor == grant.user_name:
        raise SegregationOfDuties(
            f"nobody grants roles to themselves: {actor} may not confirm a grant to {actor}",
            field="by",
        )
    user = get_user(session, grant.user_name, field="grant")
    before_grant = grant.audit_state()
    grant.state = "confirmed"
    grant.decided_by = actor
    grant.decided_at = utcnow()
    record(session, events.RoleGrantConfirmed, actor=actor, before=before_grant, after=grant)
    before = user.audit_state()
    user.roles = sorted(set(user.roles) | set(grant.roles))
    record(session, events.UserUpdated, actor=actor, before=before, after=user)
    return grant


_BY_NAME = select(User).where(User.name == bindparam("name"))  # built once: every write asks
#: session.info key: the users this session has loaded, by name (see :func:`remember`)
_LOADED = "changegate.users.loaded"


def remember(session: Session, user: User) -> None:
    """Note ``user`` as loaded in ``session``, so :func:`get_user` finds it without a query
    (a token check loads the caller, and the service it calls asks for them again)."""
    session.info.setdefault(_LOADED, {})[user.name] = user


def get_user(session: Session, name: str, *, field: str = "by") -> User:
    """The active user ``name``. A user this session loaded already is that same object (a
    query would return it from the identity map too, unchanged), so it is not read again."""
    user: User | None = session.info.get(_LOADED, {}).get(name)
    if user is None or user not in session or user.name != name:
        user = session.scalar(_BY_NAME, {"name": name})
        if user is not None:
            remember(session, user)
    if user is None or not user.active:
        raise NotFound(
            f"unknown user {name!r}: add them with `changegate user add {name} --role ROLE`",
            field=field,
        )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def user_for_login(session: Session, login: str | None, *, platform: str = "github") -> User | None:
    """The active changegate user mapped to a GitHub login (`user add NAME --github LOGIN`) or,
    with ``platform="gitlab"``, a GitLab login (`--gitlab LOGIN`); logins ignore case."""
    if not login:
        return None
    column = User.gitlab_login if platform == "gitlab" else User.github_login
    user = session.scalar(select(User).where(column == login))
    if user is None:
        user = session.scalar(select(User).where(column.ilike(login)))
    return user if user is not None and user.active else None


def resolve_person(session: Session, name: str) -> str:
    """A changegate user name, or the user mapped to ``name`` as a GitHub login; else as is."""
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        return name
    user = user_for_login(session, name)
    return user.name if user is not None else name
