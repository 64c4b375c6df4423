from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime
from changegate.row_state import AuditedRow


class Blob(Base):
    """File content addressed by its SHA-256; never a path that could change later."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)

    def audit_state(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size}


class Evidence(AuditedRow, Base):
    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # junit | validation | document
    name: Mapped[str] = mapped_column(String(200))
    passed: Mapped[bool | None] = mapped_column(Boolean, default=None)
    details: Mapped[str] = mapped_column(Text, default="")
    blob_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), default=None)
    filename: Mapped[str | None] = mapped_column(String(500), default=None)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    added_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: the change's fields the policy binds evidence to, as they were when attached
    #: (policy ``evidence.stale_when_changed``); None on rows from before schema 0005
    bound_to: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    # bound_to is absent from the state of rows recorded before binding existed
    audit_columns = (
        "id change_id kind name passed details blob_sha256 filename summary added_by "
        "created_at ?bound_to"
    )
