"""Access review campaigns and their items (policy §7, docs/access-reviews.md)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime
from changegate.row_state import AuditedRow


class AccessReview(AuditedRow, Base):
    """One campaign: draft, then open (the population is snapshotted), then closed (signed off)."""

    __tablename__ = "access_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str] = mapped_column(String(200), default="")
    period: Mapped[str] = mapped_column(String(100), default="")
    due_on: Mapped[dt.date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(100))
    #: draft, open or closed
    state: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    #: rows in the population and the SHA-256 of its canonical CSV (the export's before.csv)
    population_count: Mapped[int] = mapped_column(Integer, default=0)
    population_sha256: Mapped[str] = mapped_column(String(64), default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_by: Mapped[str | None] = mapped_column(String(100), default=None)

    audit_columns = (
        "id name scope period due_on owner state created_at opened_at population_count "
        "population_sha256 closed_at closed_by"
    )


class AccessItem(AuditedRow, Base):
    """One entitlement of one subject in one system, and what the review decided about it."""

    __tablename__ = "access_review_items"
    __table_args__ = (UniqueConstraint("review_id", "subject", "system", "entitlement"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("access_reviews.id"), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    system: Mapped[str] = mapped_column(String(100))
    entitlement: Mapped[str] = mapped_column(String(200))
    privileged: Mapped[bool] = mapped_column(Boolean, default=False)
    last_activity_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    #: login, approval, deployment or token (what the last activity was)
    last_activity: Mapped[str | None] = mapped_column(String(20), default=None)
    #: who must decide it, when one was assigned (never the subject)
    reviewer: Mapped[str | None] = mapped_column(String(100), default=None)
    #: undecided, keep, revoke or modify
    decision: Mapped[str] = mapped_column(String(20), default="undecided")
    justification: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str | None] = mapped_column(String(100), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    #: a revoke or modify decision carried out: by whom, when, the other system's reference
    #: (a ticket) and the day the removal was verified there
    applied_by: Mapped[str | None] = mapped_column(String(100), default=None)
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    reference: Mapped[str] = mapped_column(String(200), default="")
    verified_on: Mapped[dt.date | None] = mapped_column(Date, default=None)

    audit_columns = (
        "id review=review_id subject system entitlement privileged last_activity_at "
        "last_activity reviewer decision justification decided_by decided_at applied_by "
        "applied_at reference verified_on"
    )
