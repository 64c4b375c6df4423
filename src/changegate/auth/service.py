"""Issuing and checking credentials: API tokens, passwords, web sessions, login throttling.

Services flush, never commit. A refused login is *returned* (not raised) so that the failure
row and its audit event commit with the request; a refused token is raised as
``Unauthenticated`` and the entry point records it in a transaction of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.auth.errors import RateLimited, Unauthenticated
from changegate.auth.models import ApiToken, LoginFailure, PasswordCredential, WebSession
from changegate.db import iso, utcnow
from changegate.errors import Conflict, InvalidInput, NotFound
from changegate.users.models import User
from changegate.users.service import get_user

TOKEN_PREFIX = "cg"
_TOKEN = re.compile(r"^cg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_EXPIRES = re.compile(r"^(\d{1,5})([hdw])$")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- API tokens --------------------------------------------------------------------------------


def parse_expires(value: str | None, *, now: dt.datetime | None = None) -> dt.datetime | None:
    """``90d``, ``12h``, ``2w`` or ``never``; the default is 90 days."""
    now = now or utcnow()
    text = (value or "90d").strip().lower()
    if text == "never":
        return None
    m = _EXPIRES.match(text)
    if not m or int(m.group(1)) == 0:
        raise InvalidInput(
            f"--expires {value!r}: use a duration like 90d, 12h or 2w, or 'never'",
            field="expires",
        )
    hours = int(m.group(1)) * {"h": 1, "d": 24, "w": 24 * 7}[m.group(2)]
    if hours > 24 * 3660:
        raise InvalidInput("--expires: at most ten years (or 'never')", field="expires")
    return now + dt.timedelta(hours=hours)


def create_token(
    session: Session, *, user: str, actor: str, expires: str | None = None, label: str = ""
) -> tuple[ApiToken, str]:
    """Issue a token for ``user``; returns the row and the token text, shown this once only."""
    owner = get_user(session, user, field="user")
    if len(label) > 200:
        raise InvalidInput("--label: at most 200 characters", field="label")
    now = utcnow()
    public_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    token = ApiToken(
        public_id=public_id,
        secret_sha256=sha256_hex(secret),
        user_name=owner.name,
        label=label.strip(),
        created_by=actor,
        created_at=now,
        expires_at=parse_expires(expires, now=now),
    )
    session.add(token)
    record(session, events.TokenCreated, actor=actor, after=token)
    return token, f"{TOKEN_PREFIX}_{public_id}_{secret}"


def token_dict(token: ApiToken, now: dt.datetime | None = None) -> dict[str, Any]:
    """The JSON shape of a token (never its secret)."""
    return {
        "id": token.id,
        "public_id": token.public_id,
        "user": token.user_name,
        "label": token.label,
        "created_by": token.created_by,
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "revoked_at": iso(token.revoked_at),
        "revoked_by": token.revoked_by,
        "status": token.status(now or utcnow()),
    }


def list_tokens(session: Session, *, user: str | None = None) -> list[ApiToken]:
    stmt = select(ApiToken).order_by(ApiToken.id)
    if user is not None:
        stmt = stmt.where(ApiToken.user_name == user)
    return list(session.scalars(stmt))


def get_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(
            f"no API token {token_id}; `changegate token list` shows them", field="token"
        )
    return token


def revoke_token(session: Session, token: ApiToken, *, actor: str) -> ApiToken:
    if token.revoked_at is not None:
        raise Conflict(f"token {token.id} was already revoked", field="token")
    before = token.audit_state()
    token.revoked_at = utcnow()
    token.revoked_by = actor
    record(session, events.TokenRevoked, actor=actor, before=before, after=token)
    return token


def authenticate_token(
    session: Session, raw: str, *, now: dt.datetime | None = None
) -> tuple[User, ApiToken]:
    """The user a bearer token stands for. Every failure says why, never which secret was wrong."""
    m = _TOKEN.match(raw.strip())
    if not m:
        raise Unauthenticated(
            "malformed API token: expected cg_<id>_<secret> as issued by `changegate token create`",
            field="Authorization",
        )
    token = session.scalar(select(ApiToken).where(ApiToken.public_id == m.group(1)))
    if token is None or not hmac.compare_digest(token.secret_sha256, sha256_hex(m.group(2))):
        raise Unauthenticated("unknown API token", field="Authorization")
    now = now or utcnow()
    status = token.status(now)
    if status != "active":
        when = iso(token.revoked_at if status == "revoked" else token.expires_at)
        raise Unauthenticated(
            f"API token {token.id} of {token.user_name} was {status} at {when}; "
            "ask an admin for a new one (`changegate token create`)",
            field="Authorization",
            subject=token.user_name,
        )
    user = session.scalar(select(User).where(User.name == token.user_name))
    if user is None or not user.active:
        raise Unauthenticated(
            f"API token {token.id} belongs to {token.user_name}, who is not an active user",
            field="Authorization",
        )
    return user, token


# --- passwords ---------------------------------------------------------------------------------

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
    cred = _store_password(session, owner.name, password, actor=actor, must_change=admin_reset)
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
        _throttle(
            session, user_name=user.name, address=address, limits=limits or LoginLimits(), now=now
        )
        if not _verify(cred.hash, current or ""):
            session.add(LoginFailure(user_name=user.name, address=address, at=now))
            record(
                session,
                events.AuthenticationFailed,
                actor=user.name,
                entity=f"auth:{user.name}",
                extra={
                    "via": "password-change",
                    "user": user.name,
                    "address": address,
                    "reason": "wrong current password",
                },
            )
            return None
        if current == password:
            raise InvalidInput("choose a password different from the current one", field="password")
    return set_password(session, user=user.name, password=password, actor=user.name)


def must_change_password(session: Session, user_name: str) -> bool:
    """Whether ``user_name`` holds a one-time password an administrator set."""
    return bool(
        session.scalar(
            select(PasswordCredential.must_change).where(PasswordCredential.user_name == user_name)
        )
    )


def _store_password(
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


def _verify(hash_: str | None, password: str) -> bool:
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


# --- web sessions and login --------------------------------------------------------------------


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per user name and per address within the window."""

    per_user: int = 10
    per_address: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)


def _serialise_attempts(session: Session, *keys: str) -> None:
    """Make concurrent attempts on the same user name or address take turns.

    Counting failures and adding one is a read-then-write: on PostgreSQL (read committed) 40
    parallel attempts each counted the failures committed so far, all saw fewer than the limit,
    and 38 passwords were checked. A transaction-scoped advisory lock per user name and per
    address (always in that order, so two attempts never wait on each other crosswise) makes
    each attempt see the failures of those before it. SQLite's write transactions already
    queue (``BEGIN IMMEDIATE``).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in keys:
        digest = hashlib.sha256(f"changegate-login:{key}".encode()).digest()
        session.execute(
            select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True)))
        )


def _throttle(
    session: Session, *, user_name: str, address: str, limits: LoginLimits, now: dt.datetime
) -> None:
    _serialise_attempts(session, f"user:{user_name}", f"address:{address}")
    since = now - limits.window
    session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    for column, value, limit, what in (
        (LoginFailure.user_name, user_name, limits.per_user, f"user {user_name}"),
        (LoginFailure.address, address, limits.per_address, f"address {address}"),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginFailure.at)).where(
                column == value, LoginFailure.at >= since
            )
        ).one()
        if count >= limit:
            if oldest is not None and oldest.tzinfo is None:
                oldest = oldest.replace(tzinfo=dt.UTC)
            wait = int(((oldest or now) + limits.window - now).total_seconds()) + 1
            raise RateLimited(
                f"too many failed logins for {what}; try again in {max(wait, 1) // 60 + 1} minutes",
                retry_after=max(wait, 1),
                field="username",
            )


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    web_session: WebSession | None
    cookie: str | None
    reason: str = ""
    #: logged in with a one-time password: only the "choose a new password" step is open
    must_change: bool = False

    @property
    def ok(self) -> bool:
        return self.user is not None


def attempt_login(
    session: Session,
    *,
    user_name: str,
    password: str,
    address: str,
    limits: LoginLimits,
    ttl: dt.timedelta,
) -> LoginResult:
    """Check a password. Throttled attempts raise ``RateLimited`` and write nothing; failures
    are written (throttle row and audit event) and returned; success opens a session."""
    user_name = user_name.strip()[:100]
    address = address[:100]
    now = utcnow()
    _throttle(session, user_name=user_name, address=address, limits=limits, now=now)
    user = session.scalar(select(User).where(User.name == user_name)) if user_name else None
    cred = session.get(PasswordCredential, user_name) if user is not None else None
    ok = _verify(cred.hash if cred is not None else None, password)
    if not ok or user is None or not user.active:
        reason = (
            "unknown user"
            if user is None
            else "user is not active"
            if not user.active
            else "no password set"
            if cred is None
            else "wrong password"
        )
        session.add(LoginFailure(user_name=user_name, address=address, at=now))
        record(
            session,
            events.AuthenticationFailed,
            actor="anonymous",
            entity=f"auth:{user_name or '-'}",
            extra={"via": "password", "user": user_name, "address": address, "reason": reason},
        )
        return LoginResult(None, None, None, reason)
    assert cred is not None
    if hasher().check_needs_rehash(cred.hash):
        _store_password(session, user.name, password, actor=user.name, must_change=cred.must_change)
    session.execute(delete(LoginFailure).where(LoginFailure.user_name == user.name))
    web, raw = open_session(session, user, address=address, ttl=ttl)
    return LoginResult(user, web, raw, must_change=cred.must_change)


def open_session(
    session: Session, user: User, *, address: str, ttl: dt.timedelta
) -> tuple[WebSession, str]:
    """A new web session for a user whose credentials were checked; returns the cookie value."""
    now = utcnow()
    raw = secrets.token_urlsafe(32)
    web = WebSession(
        token_sha256=sha256_hex(raw),
        csrf_token=secrets.token_urlsafe(32),
        user_name=user.name,
        address=address[:100],
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(web)
    record(session, events.LoggedIn, actor=user.name, after=web)
    return web, raw


def session_user(
    session: Session, raw: str, *, now: dt.datetime | None = None
) -> tuple[User, WebSession]:
    if not raw or len(raw) > 100:
        raise Unauthenticated("not logged in", field="session")
    web = session.scalar(select(WebSession).where(WebSession.token_sha256 == sha256_hex(raw)))
    now = now or utcnow()
    if web is None or web.ended_at is not None or web.expires_at <= now:
        raise Unauthenticated("your session has ended; log in again", field="session")
    user = session.scalar(select(User).where(User.name == web.user_name))
    if user is None or not user.active:
        raise Unauthenticated("your account is not active", field="session")
    return user, web


def end_session(session: Session, web: WebSession, *, actor: str) -> None:
    if web.ended_at is not None:
        return
    before = web.audit_state()
    web.ended_at = utcnow()
    record(session, events.LoggedOut, actor=actor, before=before, after=web)


# --- records of refusals -----------------------------------------------------------------------


def record_auth_failure(
    session: Session, *, subject: str, via: str, reason: str, address: str = ""
) -> None:
    """An expired or revoked token was presented (failed logins are recorded by attempt_login)."""
    record(
        session,
        events.AuthenticationFailed,
        actor="anonymous",
        entity=f"auth:{subject[:100]}",
        extra={"via": via, "user": subject[:100], "address": address[:100], "reason": reason},
    )


def record_denied(
    session: Session, *, actor: str, method: str, path: str, message: str, field: str | None
) -> None:
    """An authenticated user was refused an action (403)."""
    record(
        session,
        events.AccessDenied,
        actor=actor,
        entity=f"access:{actor}",
        extra={"method": method, "path": path[:500], "reason": message[:2000], "field": field},
    )


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
