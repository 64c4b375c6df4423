from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime
from changegate.row_state import AuditedRow


class GateDecision(AuditedRow, Base):
    __tablename__ = "gate_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    environment: Mapped[str] = mapped_column(String(100))
    deployer: Mapped[str] = mapped_column(String(100))
    passed: Mapped[bool] = mapped_column(Boolean)
    bypass: Mapped[bool] = mapped_column(Boolean, default=False)
    unmet: Mapped[list[str]] = mapped_column(JSON, default=list)
    policy: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = "id change_id environment deployer passed bypass unmet policy created_at"


class Deployment(AuditedRow, Base):
    """A deployment or a rollback of an environment; together they are its version history."""

    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    environment: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # deploy | rollback
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")
    bypass: Mapped[bool] = mapped_column(Boolean, default=False)
    gate_decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("gate_decisions.id"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = "id change_id environment version kind actor reason bypass gate_decision=gate_decision_id created_at"
