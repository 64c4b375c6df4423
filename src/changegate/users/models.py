from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime
from changegate.row_state import AuditedRow


class User(AuditedRow, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    github_login: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    gitlab_login: Mapped[str | None] = mapped_column(String(100), unique=True, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = "id name roles github_login gitlab_login active created_at"


class RoleGrant(AuditedRow, Base):
    """Roles one administrator granted that wait for a second one's confirmation.

    Only a role that can decide the gate (``segregation_of_duties.second_admin_for``) waits; it
    is added to the user's roles when a different administrator, who is not the grantee,
    confirms. A later grant for the same user supersedes a pending one.
    """

    __tablename__ = "role_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: pending, confirmed or superseded
    state: Mapped[str] = mapped_column(String(20), default="pending")
    decided_by: Mapped[str | None] = mapped_column(String(100), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    audit_columns = "id user=user_name roles requested_by requested_at state decided_by decided_at"
