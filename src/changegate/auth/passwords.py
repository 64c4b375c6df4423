"""Passwords: argon2id hashes, one-time passwords an administrator sets, a user's own
password change (which needs the current one), and the first administrator's password."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.auth.failures import LoginLimits, record_failed_login, throttle
from changegate.auth.models import PasswordCredential, WebSession
from changegate.db import utcnow
from changegate.errors import InvalidInput
from changegate.users.models import User
from changegate.users.service import get_user

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

_hasher: Any = None
_DUMMY_HASH: str | None = None


def hasher() -> Any:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile); imported on use."""
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher

        _hasher = PasswordHasher()
    return _hasher


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password too short: use at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password too long: at most {MAX_PASSWORD_LENGTH} characters", field="password"
        )


def set_password(session: Session, *, user: str, password: str, actor: str) -> PasswordCredential:
    """Set ``user``'s password and end every web session they have.

    Set by an administrator account for someone else, it is a one-time password
    (``must_change``): it opens only the "choose a new password" step. Set by its owner, or by
    the database's operator (the local CLI without --by), it is an ordinary password. API
    tokens are separate credentials and stay valid (see docs/server.md).
    """
    owner = get_user(session, user, field="name")
    _check_password(password)
    admin_reset = actor != owner.name and (
        session.scalar(select(User.id).where(User.name == actor)) is not None
    )
    cred = store_password(session, owner.name, password, actor=actor, must_change=admin_reset)
    end_sessions(session, owner.name, actor=actor)
    return cred


#: the refusal of a password change whose current password is missing or wrong
WRONG_CURRENT_PASSWORD = (
    "changing your password needs your current password (current_password); the one given "
    "is missing or wrong"
)


def change_own_password(
    session: Session,
    *,
    user: User,
    current: str | None,
    password: str,
    address: str = "",
    limits: LoginLimits | None = None,
) -> PasswordCredential | None:
    """A user replaces their own password, proving they know the current one.

    Required whenever a password is set: a stolen API token (or an open session) must not be
    enough to take over the account's web login. A wrong current password is a failed login:
    throttled like one (``RateLimited``, nothing written), recorded like one (a throttle row
    and an ``auth.failed`` event) and *returned* as None, so the entry point commits the record
    and refuses with ``WRONG_CURRENT_PASSWORD``.
    """
    cred = session.get(PasswordCredential, user.name)
    if cred is not None:
        now = utcnow()
        address = address[:100]
        throttle(
            session, user_name=user.name, address=address, limits=limits or LoginLimits(), now=now
        )
        if not verify_password(cred.hash, current or ""):
            record_failed_login(
                session,
                user_name=user.name,
                address=address,
                via="password-change",
                reason="wrong current password",
                now=now,
                actor=user.name,
            )
            return None
        if current == password:
            raise InvalidInput("choose a password different from the current one", field="password")
    return set_password(session, user=user.name, password=password, actor=user.name)


_MUST_CHANGE = select(PasswordCredential.must_change).where(  # asked on every API request
    PasswordCredential.user_name == bindparam("user_name")
)


def must_change_password(session: Session, user_name: str) -> bool:
    """Whether ``user_name`` holds a one-time password an administrator set."""
    return bool(session.scalar(_MUST_CHANGE, {"user_name": user_name}))


def store_password(
    session: Session, user_name: str, password: str, *, actor: str, must_change: bool
) -> PasswordCredential:
    cred = session.get(PasswordCredential, user_name)
    before = cred.audit_state() if cred is not None else None
    if cred is None:
        cred = PasswordCredential(user_name=user_name)
        session.add(cred)
    cred.hash = hasher().hash(password)
    cred.updated_by = actor
    cred.updated_at = utcnow()
    cred.must_change = must_change
    record(session, events.PasswordSet, actor=actor, before=before, after=cred)
    return cred


def end_sessions(session: Session, user_name: str, *, actor: str) -> int:
    """End every open web session of ``user_name`` (after a password change); returns how many."""
    now = utcnow()
    open_ = session.scalars(
        select(WebSession).where(
            WebSession.user_name == user_name,
            WebSession.ended_at.is_(None),
            WebSession.expires_at > now,
        )
    ).all()
    for web in open_:
        before = web.audit_state()
        web.ended_at = now
        record(session, events.SessionEnded, actor=actor, before=before, after=web)
    return len(open_)


def verify_password(hash_: str | None, password: str) -> bool:
    """Verify against the stored hash, or against a dummy one so timing does not tell."""
    global _DUMMY_HASH
    from argon2.exceptions import InvalidHashError, VerificationError

    if hash_ is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = hasher().hash(secrets.token_hex(16))
        hash_ = _DUMMY_HASH
        ok = False
    else:
        ok = True
    try:
        return bool(hasher().verify(hash_, password)) and ok
    except (VerificationError, InvalidHashError):
        return False


def has_any_password(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(PasswordCredential)))


def bootstrap_admin(session: Session, policy: Any, *, name: str = "admin") -> str | None:
    """On a database where nobody can log in yet, give ``name`` (role admin) a random password.

    Returns the password to show once, or None when some user already has a password.
    """
    from changegate.users.service import add_user

    if has_any_password(session):
        return None
    if session.scalar(select(User).where(User.name == name)) is None:
        add_user(session, policy, name=name, roles=["admin"], actor="system")
    password = secrets.token_urlsafe(15)
    set_password(session, user=name, password=password, actor="system")
    return password
