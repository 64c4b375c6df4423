from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from changegate.changes.keys import change_key
from changegate.db import Base, UTCDateTime, iso


class Review(Base):
    """An approval or rejection, bound to the digest of the change content it was given on."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(20))  # approve | reject
    comment: Mapped[str] = mapped_column(Text, default="")
    content_digest: Mapped[str] = mapped_column(String(64))
    roles: Mapped[str] = mapped_column(String(300), default="")  # roles held when given
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    def audit_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "change": change_key(self.change_id),
            "reviewer": self.reviewer,
            "verdict": self.verdict,
            "comment": self.comment,
            "content_digest": self.content_digest,
            "roles": self.roles,
            "created_at": iso(self.created_at),
        }
