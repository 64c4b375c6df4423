"""Request and response bodies of the access review endpoints (policy §7): what
`changegate access` sends and prints in remote mode."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from changegate.api.schemas import Body, Name

Day = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="YYYY-MM-DD")


class AccessOpenIn(Body):
    by: str | None = Name
    name: str = Field(min_length=1, max_length=200)
    scope: str = Field(default="", max_length=200)
    period: str = Field(default="", max_length=100)
    due: str | None = Day
    draft: bool = False
    csv_base64: str | None = Field(
        default=None,
        max_length=20_000_000,
        description="Other systems' access as CSV (subject,system,entitlement), base64",
    )


class AccessDecideIn(Body):
    by: str | None = Name
    decision: Literal["keep", "revoke", "modify"]
    justification: str = Field(default="", max_length=10_000)


class AccessApplyIn(Body):
    by: str | None = Name
    reference: str = Field(default="", max_length=200)
    verified: str | None = Day


class AccessItemOut(BaseModel):
    id: int
    review: int
    subject: str
    system: str
    entitlement: str
    privileged: bool
    last_activity_at: str | None
    last_activity: str | None
    reviewer: str | None
    decision: str
    justification: str
    decided_by: str | None
    decided_at: str | None
    applied_by: str | None
    applied_at: str | None
    reference: str
    verified_on: str | None


class AccessReviewSummary(BaseModel):
    id: int
    name: str
    scope: str
    period: str
    due_on: str
    owner: str
    state: str
    created_at: str
    opened_at: str | None
    population_count: int
    population_sha256: str
    closed_at: str | None
    closed_by: str | None
    counts: dict[str, int]
    not_applied: int


class AccessReviewOut(AccessReviewSummary):
    items: list[AccessItemOut]


class AccessDueOut(BaseModel):
    due: str
    basis: str
    review: int | None
    overdue: bool
