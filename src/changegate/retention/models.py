from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime
from changegate.row_state import AuditedRow


class LegalHold(AuditedRow, Base):
    """A legal hold on a change: while it is not released, nothing of the change's record is
    purged, whatever the retention period says. Released holds stay (the database refuses to
    delete a row)."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    held_by: Mapped[str] = mapped_column(String(100))
    held_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(100), default=None)
    released_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    release_reason: Mapped[str | None] = mapped_column(Text, default=None)

    audit_columns = "id change_id reason held_by held_at released_by released_at release_reason"
