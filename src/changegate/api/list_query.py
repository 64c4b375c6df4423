"""The query parameters of ``GET /api/changes``: filters, sort, limit and cursor."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from changegate.audit.timebounds import ISO_TIME
from changegate.changes.listing import DEFAULT_LIMIT, MAX_LIMIT, ChangeFilter


class ChangeQuery(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    state: str | None = Field(default=None, max_length=20, description="Only this state")
    change_class: str | None = Field(
        default=None, alias="class", max_length=20, description="standard, normal or emergency"
    )
    category: str | None = Field(default=None, max_length=100)
    author: str | None = Field(default=None, max_length=100)
    environment: str | None = Field(
        default=None, max_length=100, description="Only changes deployed to this environment"
    )
    since: str | None = Field(
        default=None, pattern=ISO_TIME, description="Created at or after (ISO 8601, UTC)"
    )
    until: str | None = Field(
        default=None, pattern=ISO_TIME, description="Created before (ISO 8601, UTC)"
    )
    q: str | None = Field(default=None, max_length=200, description="Text in the title")
    sort: Literal["-created", "created", "-updated", "updated"] = Field(
        default="-created", description="created or updated; a leading - is newest first"
    )
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Changes per page")
    cursor: str | None = Field(
        default=None, max_length=200, description="From the previous page's Link header"
    )

    @field_validator("*", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        if isinstance(value, str) and ("\x00" in value or not value.isprintable()):
            raise ValueError("control characters are not allowed")
        return value

    def to_filter(self) -> ChangeFilter:
        return ChangeFilter.from_query(self.model_dump(by_alias=True, exclude={"sort", "limit"}))
