from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from changegate.changes.keys import change_key
from changegate.db import Base, UTCDateTime, iso

#: the fields an approval is bound to; editing any of them makes earlier approvals stale
CONTENT_FIELDS = (
    "title",
    "description",
    "change_class",
    "category",
    "components",
    "providers",
    "ai_component",
    "risk",
    "rollback_plan",
    "justification",
    "links",
    "commits",
    "security_flag",
)


class Change(Base):
    __tablename__ = "changes"
    #: the change list's keyset pages (changes/listing.py), newest or oldest first, with the
    #: title for its search on SQLite (migration 0018), and on PostgreSQL its title search (a
    #: trigram index: migration 0017)
    __table_args__ = (
        Index("ix_changes_created_at_id_title", "created_at", "id", "title"),
        Index("ix_changes_updated_at_id_title", "updated_at", "id", "title"),
        Index(
            "ix_changes_title_trgm",
            "title",
            postgresql_using="gin",
            postgresql_ops={"title": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    change_class: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(String(100), default=None)
    components: Mapped[list[str]] = mapped_column(JSON, default=list)
    providers: Mapped[list[str]] = mapped_column(JSON, default=list)
    ai_component: Mapped[str | None] = mapped_column(String(100), default=None)
    #: {dimension: {"level": low|medium|high, "note": str}}
    risk: Mapped[dict[str, dict[str, str]]] = mapped_column(JSON, default=dict)
    rollback_plan: Mapped[str] = mapped_column(Text, default="")
    justification: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    commits: Mapped[list[str]] = mapped_column(JSON, default=list)
    security_flag: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)

    @property
    def key(self) -> str:
        return change_key(self.id)

    def content(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in CONTENT_FIELDS}

    def content_digest(self) -> str:
        from changegate.audit.chain import canonical_json

        return hashlib.sha256(canonical_json(self.content())).hexdigest()

    def risk_levels(self) -> dict[str, str]:
        return {dim: v.get("level", "") for dim, v in (self.risk or {}).items()}

    def audit_state(self) -> dict[str, Any]:
        return change_state(self)


#: a change's state beyond its content, in the order :func:`change_state` gives it; the times
#: as ISO text (``changes/listing.py`` makes a page's states from rows in this order)
STATE_TIMES = ("created_at", "updated_at", "submitted_at")
STATE_FIELDS = (*CONTENT_FIELDS, "id", "author", "state", "revision", *STATE_TIMES)


def change_state(c: Any) -> dict[str, Any]:
    """A change as its events and the API show it, from a ``Change`` or a row of the
    ``changes`` table's columns with its ``key`` (``changes/listing.py`` reads pages as rows)."""
    state = {f: getattr(c, f) for f in CONTENT_FIELDS}
    state.update(id=c.key, author=c.author, state=c.state, revision=c.revision)
    state.update((f, iso(getattr(c, f))) for f in STATE_TIMES)
    return state
