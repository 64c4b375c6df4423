"""The LLM provider register: each provider and its Data Processing Agreement (policy §10.2)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime
from changegate.row_state import AuditedRow

#: what a provider's DPA can be; "expired" is not stored, it follows from the expiry date
DPA_STATUSES = ("none", "pending", "signed", "terminated")


class AiProvider(AuditedRow, Base):
    """One LLM provider (OpenAI, Anthropic, Google, ...) and the DPA currently on file.

    Earlier DPAs stay in the audit log: every update records the row before and after.
    """

    __tablename__ = "ai_providers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the provider id as it appears on changes and in LiteLLM model strings ("openai")
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    dpa_status: Mapped[str] = mapped_column(String(20), default="none")
    dpa_signed_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    dpa_expires_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    dpa_sha256: Mapped[str | None] = mapped_column(ForeignKey("blobs.sha256"), default=None)
    dpa_filename: Mapped[str | None] = mapped_column(String(500), default=None)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = (
        "id name display_name notes dpa_status dpa_signed_on dpa_expires_on dpa_sha256 "
        "dpa_filename created_by created_at updated_by updated_at"
    )
