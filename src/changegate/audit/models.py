from __future__ import annotations

from sqlalchemy import BigInteger, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from changegate.db import Base


class AuditEvent(Base):
    """One event: canonical JSON bytes plus their RFC 9162 leaf hash and the chain hash.

    ``entity_key`` is an index for lookups; verification never trusts it without checking it
    against the hashed bytes.
    """

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entity_key: Mapped[str] = mapped_column(String(200), index=True)
    #: lookup index for timelines; never trusted: timeline() re-checks the hashed bytes
    change_key: Mapped[str | None] = mapped_column(String(30), index=True, default=None)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditHead(Base):
    """The single row holding the last sequence number and chain hash; locked on append."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    chain_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
