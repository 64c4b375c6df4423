"""Credentials. Secrets are never stored: tokens and session ids as SHA-256, passwords as argon2.

API tokens, passwords and web sessions are audited rows: every change to them appends an
audit event, and ``changegate audit verify`` checks each row against its last event. Their
audit state carries digests of the stored hashes, never a secret, so a row swapped behind the
log's back (say, a token hash replaced by one whose secret an attacker knows) is detected.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import Boolean, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime, iso


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: random public part of the token, used to find the row; the secret part is only hashed
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_by: Mapped[str | None] = mapped_column(String(100), default=None)

    def status(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def audit_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "public_id": self.public_id,
            "secret_sha256": self.secret_sha256,
            "user": self.user_name,
            "label": self.label,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "revoked_at": iso(self.revoked_at),
            "revoked_by": self.revoked_by,
        }


class PasswordCredential(Base):
    __tablename__ = "user_passwords"

    user_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    #: argon2id PHC string (salt and parameters included)
    hash: Mapped[str] = mapped_column(String(300))
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: set by an administrator for someone else: a one-time password, good only for choosing
    #: a new one (the web asks for it at login, the API refuses every other action)
    must_change: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    def audit_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "id": self.user_name,
            # a digest of the salted hash: detects a swapped hash, reveals nothing usable
            "hash_sha256": hashlib.sha256(self.hash.encode()).hexdigest(),
            "updated_by": self.updated_by,
            "updated_at": iso(self.updated_at),
        }
        if self.must_change:  # only when set, so rows recorded before 0008 still verify
            state["must_change"] = True
        return state

    def view(self) -> dict[str, Any]:
        """What `user set-password` and the API answer: who set it, when, one-time or not."""
        return {
            "user": self.user_name,
            "updated_at": iso(self.updated_at),
            "updated_by": self.updated_by,
            "must_change": self.must_change,
        }


class WebSession(Base):
    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: synchronizer token for the session's forms
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    def audit_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "token_sha256": self.token_sha256,
            "csrf_sha256": hashlib.sha256(self.csrf_token.encode()).hexdigest(),
            "user": self.user_name,
            "address": self.address,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "ended_at": iso(self.ended_at),
        }


class LoginFailure(Base):
    """A failed login, kept for throttling (the audit log keeps the permanent record)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
