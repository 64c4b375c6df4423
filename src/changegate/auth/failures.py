"""Failed authentication: throttling of login attempts and the records of failures.

A failed login or password check is written as a throttle row and an ``auth.failed`` event;
attempts over the policy's limits raise ``RateLimited`` and write nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.auth.errors import RateLimited
from changegate.auth.models import LoginFailure


@dataclass(frozen=True)
class LoginLimits:
    """Failed logins allowed per user name and per address within the window."""

    per_user: int = 10
    per_address: int = 20
    window: dt.timedelta = dt.timedelta(minutes=15)


def serialise_attempts(session: Session, *keys: str) -> None:
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


def throttle(
    session: Session, *, user_name: str, address: str, limits: LoginLimits, now: dt.datetime
) -> None:
    serialise_attempts(session, f"user:{user_name}", f"address:{address}")
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


def record_failed_login(
    session: Session,
    *,
    user_name: str,
    address: str,
    via: str,
    reason: str,
    now: dt.datetime,
    actor: str = "anonymous",
) -> None:
    """A wrong password: a throttle row and an ``auth.failed`` event."""
    session.add(LoginFailure(user_name=user_name, address=address, at=now))
    record(
        session,
        events.AuthenticationFailed,
        actor=actor,
        entity=f"auth:{user_name or '-'}",
        extra={"via": via, "user": user_name, "address": address, "reason": reason},
    )


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
