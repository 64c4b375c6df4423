"""Issuing and checking credentials: API tokens, passwords, web sessions, login throttling.

Services flush, never commit. A refused login is *returned* (not raised) so that the failure
row and its audit event commit with the request; a refused token is raised as
``Unauthenticated`` and the entry point records it in a transaction of its own.

Passwords live in :mod:`changegate.auth.passwords`, throttling and the records of failed
logins in :mod:`changegate.auth.failures`; the names callers use are re-exported here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, delete, select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.auth.errors import Unauthenticated
from changegate.auth.failures import LoginLimits as LoginLimits
from changegate.auth.failures import record_auth_failure as record_auth_failure
from changegate.auth.failures import record_failed_login, throttle
from changegate.auth.models import ApiToken, LoginFailure, PasswordCredential, WebSession
from changegate.auth.passwords import WRONG_CURRENT_PASSWORD as WRONG_CURRENT_PASSWORD
from changegate.auth.passwords import bootstrap_admin as bootstrap_admin
from changegate.auth.passwords import change_own_password as change_own_password
from changegate.auth.passwords import has_any_password as has_any_password
from changegate.auth.passwords import hasher, store_password, verify_password
from changegate.auth.passwords import must_change_password as must_change_password
from changegate.auth.passwords import set_password as set_password
from changegate.db import iso, utcnow
from changegate.errors import Conflict, InvalidInput, NotFound
from changegate.users.models import User
from changegate.users.service import get_user, remember

TOKEN_PREFIX = "cg"
_TOKEN = re.compile(r"^cg_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_EXPIRES = re.compile(r"^(\d{1,5})([hdw])$")


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


_Credential = TypeVar("_Credential", ApiToken, WebSession)


def _caller_of(credential: type[_Credential], key: Any) -> Select[_Credential, User, bool | None]:
    """The credential whose ``key`` is the ``key`` parameter, with its user and their
    one-time-password flag, in one statement (every request asks all three)."""
    return (
        select(credential, User, PasswordCredential.must_change)
        .outerjoin(User, User.name == credential.user_name)
        .outerjoin(PasswordCredential, PasswordCredential.user_name == credential.user_name)
        .where(key == bindparam("key"))
    )


#: built once: they run on every API request and every page
_CALLER = _caller_of(ApiToken, ApiToken.public_id)
_SESSION_CALLER = _caller_of(WebSession, WebSession.token_sha256)


@dataclass(frozen=True)
class TokenCaller:
    """Who a bearer token stands for, and whether they hold a one-time password (read in the
    same statement: the API asks both on every request)."""

    user: User
    token: ApiToken
    must_change_password: bool


def token_caller(session: Session, raw: str, *, now: dt.datetime | None = None) -> TokenCaller:
    """Who a bearer token stands for, with their one-time-password flag. Every failure says
    why, never which secret was wrong."""
    m = _TOKEN.match(raw.strip())
    if not m:
        raise Unauthenticated(
            "malformed API token: expected cg_<id>_<secret> as issued by `changegate token create`",
            field="Authorization",
        )
    found = session.execute(_CALLER, {"key": m.group(1)}).first()
    token, user, must_change = (None, None, None) if found is None else found
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
    if user is None or not user.active:
        raise Unauthenticated(
            f"API token {token.id} belongs to {token.user_name}, who is not an active user",
            field="Authorization",
        )
    remember(session, user)  # the service the request calls asks for its caller again
    return TokenCaller(user, token, bool(must_change))


# --- web sessions and login --------------------------------------------------------------------


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
    throttle(session, user_name=user_name, address=address, limits=limits, now=now)
    user = session.scalar(select(User).where(User.name == user_name)) if user_name else None
    cred = session.get(PasswordCredential, user_name) if user is not None else None
    ok = verify_password(cred.hash if cred is not None else None, password)
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
        record_failed_login(
            session, user_name=user_name, address=address, via="password", reason=reason, now=now
        )
        return LoginResult(None, None, None, reason)
    assert cred is not None
    if hasher().check_needs_rehash(cred.hash):
        store_password(session, user.name, password, actor=user.name, must_change=cred.must_change)
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


@dataclass(frozen=True)
class SessionCaller:
    """Who a web session cookie stands for, and whether they hold a one-time password (read
    in the same statement, as :class:`TokenCaller`: every page asks both)."""

    user: User
    web: WebSession
    must_change: bool


def session_caller(session: Session, raw: str, *, now: dt.datetime | None = None) -> SessionCaller:
    if not raw or len(raw) > 100:
        raise Unauthenticated("not logged in", field="session")
    found = session.execute(_SESSION_CALLER, {"key": sha256_hex(raw)}).first()
    web, user, must_change = (None, None, None) if found is None else found
    now = now or utcnow()
    if web is None or web.ended_at is not None or web.expires_at <= now:
        raise Unauthenticated("your session has ended; log in again", field="session")
    if user is None or not user.active:
        raise Unauthenticated("your account is not active", field="session")
    remember(session, user)  # the service the page calls asks for its caller again
    return SessionCaller(user, web, bool(must_change))


def end_session(session: Session, web: WebSession, *, actor: str) -> None:
    if web.ended_at is not None:
        return
    before = web.audit_state()
    web.ended_at = utcnow()
    record(session, events.LoggedOut, actor=actor, before=before, after=web)


# --- records of refusals -----------------------------------------------------------------------


def record_denied(
    session: Session,
    *,
    actor: str,
    method: str,
    path: str,
    message: str,
    field: str | None,
    sod: bool = False,
) -> None:
    """An authenticated user was refused an action (403); ``sod``: the refusal is one of
    segregation of duties (:class:`~changegate.errors.SegregationOfDuties`)."""
    extra = {"method": method, "path": path[:500], "reason": message[:2000], "field": field}
    record(
        session,
        events.AccessDenied,
        actor=actor,
        entity=f"access:{actor}",
        extra=extra | ({"sod": True} if sod else {}),
    )
