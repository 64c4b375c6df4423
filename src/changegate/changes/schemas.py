"""Pydantic shapes of change input and output. Policy-dependent checks live in the service."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RiskEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    level: str
    note: str = ""


class ChangeFields(BaseModel):
    """Fields shared by create and update; on update, None means "leave as is"."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    title: str | None = Field(default=None, max_length=300)
    description: str | None = None
    change_class: str | None = None
    category: str | None = None
    components: list[str] | None = None
    providers: list[str] | None = None
    ai_component: str | None = None
    risk: dict[str, RiskEntry] | None = None
    rollback_plan: str | None = None
    justification: str | None = None
    links: list[str] | None = None
    commits: list[str] | None = None
    security_flag: bool | None = None

    @field_validator("commits")
    @classmethod
    def _shas(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for sha in value:
            if len(sha) not in (40, 64) or not all(c in "0123456789abcdefABCDEF" for c in sha):
                raise ValueError(
                    f"'{sha}' is not a full commit SHA (40 or 64 hex digits): an abbreviated "
                    "one may name another commit; give the full SHA (git rev-parse), or let "
                    "the CLI expand it in your repository"
                )
        return [s.lower() for s in value]

    @field_validator("links")
    @classmethod
    def _links(cls, value: list[str] | None) -> list[str] | None:
        for link in value or []:
            if not link.startswith(("http://", "https://")):
                raise ValueError(f"'{link}' is not an http(s) URL")
        return value


class ChangeCreate(ChangeFields):
    title: str = Field(min_length=1, max_length=300)
    change_class: str
    author: str = Field(min_length=1)


class ChangeUpdate(ChangeFields):
    pass
