from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.db import utcnow
from changegate.errors import Conflict, InvalidInput, NotFound
from changegate.users.models import User

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


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
    actor: str = "system",
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
    user = User(name=name, roles=roles, github_login=github_login, active=True, created_at=utcnow())
    session.add(user)
    record(session, events.UserAdded, actor=actor, after=user)
    return user


def set_roles(
    session: Session, policy: Policy, user: User, *, roles: list[str], actor: str
) -> User:
    before = user.audit_state()
    user.roles = _check_roles(policy, roles)
    record(session, events.UserUpdated, actor=actor, before=before, after=user)
    return user


def get_user(session: Session, name: str, *, field: str = "by") -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None or not user.active:
        raise NotFound(
            f"unknown user {name!r}: add them with `changegate user add {name} --role ROLE`",
            field=field,
        )
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.name)))


def user_for_login(session: Session, login: str | None) -> User | None:
    """The active changegate user mapped to a GitHub login (`user add NAME --github LOGIN`)."""
    if not login:
        return None
    user = session.scalar(select(User).where(User.github_login == login))
    if user is None:
        user = session.scalar(select(User).where(User.github_login.ilike(login)))
    return user if user is not None and user.active else None


def resolve_person(session: Session, name: str) -> str:
    """A changegate user name, or the user mapped to ``name`` as a GitHub login; else as is."""
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        return name
    user = user_for_login(session, name)
    return user.name if user is not None else name
