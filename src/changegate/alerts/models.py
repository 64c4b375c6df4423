"""Alerts (each one an investigation) and their outbox of deliveries, one per target."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime
from changegate.row_state import AuditedRow


class Alert(AuditedRow, Base):
    """A violation the policy's ``monitoring.alert_on`` names, raised in the transaction of the
    audit event that recorded it; open until a person acknowledges and resolves it (§8)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    #: the audit event that caused it (its sequence number and action)
    event_seq: Mapped[int] = mapped_column(Integer)
    event_action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(200))
    change_key: Mapped[str | None] = mapped_column(String(20), default=None)
    actor: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: open -> acknowledged -> resolved
    state: Mapped[str] = mapped_column(String(20), index=True)
    acked_by: Mapped[str | None] = mapped_column(String(100), default=None)
    acked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(100), default=None)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    link: Mapped[str | None] = mapped_column(String(500), default=None)

    audit_columns = (
        "id kind event_seq event_action entity change=change_key actor summary created_at state "
        "acked_by acked_at resolved_by resolved_at notes link"
    )


class AlertDelivery(Base):
    """One alert for one configured target: the outbox row a worker claims, sends and settles.

    Not audited row by row (attempts change it often); the alert it carries is. A claim is a
    lease (``claimed_until``): a worker killed mid-delivery leaves a row another worker takes
    once the lease expires, with the same ``webhook_id`` so the receiver can de-duplicate.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "target"),
        Index("ix_alert_deliveries_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    target: Mapped[str] = mapped_column(String(100))
    webhook_id: Mapped[str] = mapped_column(String(64), unique=True)
    #: pending -> delivered | dead (dead letter: out of attempts)
    state: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(100), default=None)
    last_status: Mapped[int | None] = mapped_column(Integer, default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
