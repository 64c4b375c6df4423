"""Request bodies of the AI endpoints (policy §10.2): what `changegate ai` sends in remote mode.
A check's body carries what the target answered, never a verdict: the server judges."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import Field, model_validator

from changegate.api.schemas import Body, Name

Text = Field(default=None, max_length=10_000)


def decoded(value: str | None, field: str) -> bytes | None:
    """A file sent base64-encoded, or the 400 naming the field."""
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        from changegate.errors import InvalidInput

        raise InvalidInput(f"{field} is not valid base64", field=field) from None


class Raw(Body):
    """Text as sent: a model's answer or a file name is evidence, not trimmed (NUL and lone
    surrogates are still refused)."""

    @model_validator(mode="after")
    def _trimmed(self) -> Raw:
        return self

    def fields(self) -> dict[str, Any]:
        """The service function's keyword arguments (the actor comes from the token)."""
        return self.model_dump(exclude={"by"})


class PreflightIn(Raw):
    by: str | None = Name
    baseline_for: str | None = Field(
        default=None,
        max_length=1000,
        description="The suite of a post-change run with no before-configuration: the change "
        "must hold pre-change results",
    )


class OutputIn(Raw):
    id: str = Field(min_length=1, max_length=500)
    output: str | None = Field(default=None, description="What the target answered")
    error: str | None = Field(default=None, max_length=10_000, description="Why it did not")


class RunIn(Raw):
    label: str = Field(max_length=1000, description="The target asked, e.g. its URL and model")
    outputs: list[OutputIn] = Field(max_length=10_000)


class RegressIn(Raw):
    """`ai regress`: the suite and each case's answer before (optional) and after."""

    by: str | None = Name
    suite_text: str = Field(max_length=2_000_000, description="The suite file (YAML)")
    suite_source: str = Field(max_length=1000, description="Its name, for messages")
    phase: str = Field(default="post", max_length=10, description="pre | post")
    after: RunIn
    before: RunIn | None = None


class ObservationIn(Raw):
    """`ai isolation` / `ai injection`: the canaries and every probe's answer."""

    by: str | None = Name
    observation: dict[str, Any]


class ImportIn(Raw):
    """`ai import`: a promptfoo, DeepEval or garak results file."""

    by: str | None = Name
    content_base64: str = Field(description="The results file, base64-encoded")
    source: str = Field(min_length=1, max_length=1000, description="The file's name as given")
    format: str | None = Field(default=None, max_length=20)
    phase: str | None = Field(default=None, max_length=10)
    before_base64: str | None = Field(default=None, description="Pre-change results to compare")
    before_source: str | None = Field(default=None, max_length=1000)
    critical: list[str] = Field(default_factory=list, max_length=10_000)

    def fields(self) -> dict[str, Any]:
        out = self.model_dump(exclude={"by", "content_base64", "before_base64"})
        out["content"] = decoded(self.content_base64, "content_base64")
        out["before"] = decoded(self.before_base64, "before_base64")
        return out


class AssessIn(Raw):
    """`ai assess`: the §10.2 security impact assessment."""

    by: str | None = Name
    ratings: dict[str, str] = Field(description="prompt_injection, data_leakage, content_filter")
    notes: str = Field(default="", max_length=10_000)
    dimension_notes: dict[str, str] = Field(default_factory=dict)


class ProviderIn(Raw):
    by: str | None = Name
    name: str = Field(min_length=1, max_length=100, description="e.g. openai, anthropic")
    display_name: str = Field(default="", max_length=300)
    notes: str = Field(default="", max_length=10_000)


class DpaIn(Raw):
    by: str | None = Name
    status: str = Field(max_length=20, description="signed | pending | terminated | none")
    signed: str | None = Field(default=None, max_length=20, description="YYYY-MM-DD")
    expires: str | None = Field(default=None, max_length=20, description="YYYY-MM-DD")
    content_base64: str | None = Field(default=None, description="The signed DPA")
    filename: str | None = Field(default=None, min_length=1, max_length=255)
    notes: str | None = Text

    def fields(self) -> dict[str, Any]:
        out = self.model_dump(exclude={"by", "content_base64"})
        return out | {"content": decoded(self.content_base64, "content_base64")}
