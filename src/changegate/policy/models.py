from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime, iso


class PolicyVersion(Base):
    """The full text of every policy version used against this database."""

    __tablename__ = "policy_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: the validated policy as plain JSON (changegate.policy.snapshot), so commands read it
    #: without validating the text again; derived from ``text``, which `audit verify` checks
    snapshot: Mapped[str | None] = mapped_column(Text, default=None)
    snapshot_format: Mapped[int | None] = mapped_column(Integer, default=None)

    def audit_state(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "digest": self.digest,
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "loaded_at": iso(self.loaded_at),
        }
