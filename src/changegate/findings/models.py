"""Findings (§6): what scanners found, per scope, with their SLA clocks; the risk acceptances
that defer them; the changes that fix them; and each import.

``last_seen`` is the one column outside a finding's audited state: every import refreshes it
for every finding it sees, and recording that as an event per finding per scan would bury the
log. The import's own row (``finding_imports``) records what each scan saw; every other column
of a finding is checked by ``audit verify`` against its last event.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base, UTCDateTime
from changegate.row_state import AuditedRow

#: every status a finding may have; ``open`` is the only one whose SLA clock runs
STATUSES = ("open", "fixed", "risk_accepted", "false_positive", "not_affected", "duplicate")


class Finding(AuditedRow, Base):
    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("scope", "fingerprint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    source_format: Mapped[str] = mapped_column(String(20))
    tool: Mapped[str] = mapped_column(String(100))
    rule_id: Mapped[str] = mapped_column(String(300))
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    title: Mapped[str] = mapped_column(Text, default="")
    severity: Mapped[str] = mapped_column(String(10), index=True)
    source_severity: Mapped[str] = mapped_column(String(50), default="")
    cvss: Mapped[float | None] = mapped_column(Float, default=None)
    component: Mapped[str] = mapped_column(String(300), default="")
    purl: Mapped[str | None] = mapped_column(String(500), default=None)
    location: Mapped[str] = mapped_column(Text, default="")
    installed_version: Mapped[str | None] = mapped_column(String(200), default=None)
    fixed_version: Mapped[str | None] = mapped_column(String(200), default=None)
    vex_state: Mapped[str | None] = mapped_column(String(40), default=None)
    status: Mapped[str] = mapped_column(String(20), index=True)
    #: who first imported it: the finding's owner, who may not accept its risk
    owner: Mapped[str] = mapped_column(String(100))
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sla_start: Mapped[dt.date] = mapped_column(Date)
    due: Mapped[dt.date | None] = mapped_column(Date, default=None)
    #: the due date CISA's KEV catalogue gave it, when one was imported and listed it
    kev_due: Mapped[dt.date | None] = mapped_column(Date, default=None)
    #: the change whose production deployment resolved it
    change_id: Mapped[int | None] = mapped_column(ForeignKey("changes.id"), default=None)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = (
        "id scope fingerprint source_format tool rule_id aliases title severity source_severity "
        "cvss component purl location installed_version fixed_version vex_state status owner "
        "first_seen sla_start due kev_due change_id updated_at"
    )


class RiskAcceptance(AuditedRow, Base):
    """A decision to carry a finding's risk until ``expires``; it lapses then (state
    ``lapsed``) and the finding re-opens."""

    __tablename__ = "risk_acceptances"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    justification: Mapped[str] = mapped_column(Text)
    expires: Mapped[dt.date] = mapped_column(Date)
    approver: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20))  # active | lapsed
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = (
        "id finding=finding_id justification expires approver state created_at updated_at"
    )


class FindingLink(AuditedRow, Base):
    """A change that fixes a finding (``fixes``), or the emergency change it triggered
    (``trigger``, which fixes it too)."""

    __tablename__ = "finding_links"
    __table_args__ = (UniqueConstraint("finding_id", "change_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"), index=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("changes.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = "id finding=finding_id change_id kind created_by created_at"


class FindingImport(AuditedRow, Base):
    """One scan file imported into a scope: what it held and what it changed."""

    __tablename__ = "finding_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(100), index=True)
    source_format: Mapped[str] = mapped_column(String(20))
    sha256: Mapped[str] = mapped_column(String(64))
    kev_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    total: Mapped[int] = mapped_column(Integer)
    new: Mapped[int] = mapped_column(Integer)
    reopened: Mapped[int] = mapped_column(Integer)
    fixed: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    audit_columns = (
        "id scope source_format sha256 kev_sha256 total new reopened fixed imported_by created_at"
    )
