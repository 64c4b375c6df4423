"""Request bodies of the API (the responses are in ``api/responses.py``).

Request bodies forbid unknown fields, so a client cannot set state, approver, author or
timestamps (mass assignment). Fields naming an actor (``by``, ``author``, ``deployer``) exist
only so that a client repeating the CLI's options is checked: they must name the caller.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from changegate.changes.schemas import ChangeFields

Name = Field(default=None, max_length=100, description="Must be the authenticated user, if given")


def _clean(value: Any, path: str = "") -> None:
    """Refuse text no database column can hold: NUL characters and lone surrogates."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError(f"{path or 'value'}: NUL characters are not allowed")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{path or 'value'}: not valid Unicode text") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _clean(k, path)
            _clean(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _clean(v, f"{path}[{i}]")


def _strip(model: BaseModel, keep: tuple[str, ...] = ()) -> None:
    """Trim text fields *after* validation, so length limits apply to what was sent."""
    for name, value in model.__dict__.items():
        if isinstance(value, str) and name not in keep:
            object.__setattr__(model, name, value.strip())


def _decoded(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        from changegate.errors import InvalidInput

        raise InvalidInput(f"{field} is not valid base64", field=field) from None


class Clean(BaseModel):
    """Text any column can hold, trimmed after validation; unknown fields refused."""

    model_config = ConfigDict(extra="forbid")
    #: fields sent exactly as typed (a password may start or end with a space)
    keep_raw: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: Any) -> Any:
        _clean(data)
        return data

    @model_validator(mode="after")
    def _trimmed(self) -> Self:
        _strip(self, keep=self.keep_raw)
        self.check()
        return self

    def check(self) -> None:
        """Checks on the trimmed values."""


class Body(Clean):
    keep_raw = ("password",)


class ActorIn(Body):
    by: str | None = Name


class ChangeNew(ChangeFields, Clean):
    """A new change (a draft). Fields as in `changegate change new`."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    change_class: str = Field(max_length=20, description="standard | normal | emergency")
    author: str | None = Name
    fixes: list[str] = Field(default=[], max_length=100, description="Findings it fixes (§6)")
    triggered_by: list[str] = Field(
        default=[], max_length=100, description="Emergency change: the finding behind it"
    )

    def check(self) -> None:
        if not self.title:
            raise ValueError("title: must not be blank")


class ChangeEdit(ChangeFields, Clean):
    """Fields to change; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    by: str | None = Name

    def check(self) -> None:
        if self.title is not None and not self.title:
            raise ValueError("title: must not be blank")


class ApproveIn(Body):
    comment: str = Field(default="", max_length=10_000)
    by: str | None = Name


class RejectIn(Body):
    comment: str = Field(min_length=1, max_length=10_000, description="What must change")
    by: str | None = Name


class FileIn(Body):
    filename: str = Field(min_length=1, max_length=255)
    content_base64: str = Field(description="The file's bytes, base64-encoded")

    def content(self) -> bytes:
        return _decoded(self.content_base64, "content_base64")

    def fields(self) -> dict[str, Any]:
        """The service function's keyword arguments (the actor comes from the token)."""
        return self.model_dump(exclude={"by", "content_base64"}) | {"content": self.content()}


class JunitIn(FileIn):
    by: str | None = Name


class ValidationIn(Body):
    name: str = Field(min_length=1, max_length=100, description="e.g. staging, tls")
    result: Literal["pass", "fail"]
    details: str = Field(default="", max_length=10_000)
    by: str | None = Name
    report_filename: str | None = Field(default=None, min_length=1, max_length=255)
    report_base64: str | None = Field(
        default=None, description="The report the validation was decided on, base64-encoded"
    )

    def report(self) -> bytes | None:
        return None if self.report_base64 is None else _decoded(self.report_base64, "report_base64")

    def fields(self) -> dict[str, Any]:
        return self.model_dump(exclude={"by", "report_base64"}) | {"report": self.report()}


class DocumentIn(FileIn):
    kind: str = Field(min_length=1, max_length=100, description="e.g. design, staging-report")
    details: str = Field(default="", max_length=10_000)
    by: str | None = Name


class GateIn(Body):
    env: str = Field(min_length=1, max_length=100)
    deployer: str | None = Name
    version: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The version about to be deployed: the gate says whether it already is",
    )


class DeployIn(Body):
    env: str = Field(min_length=1, max_length=100)
    version: str = Field(min_length=1, max_length=200)
    by: str | None = Name


class RollbackIn(Body):
    env: str = Field(min_length=1, max_length=100)
    to: str = Field(min_length=1, max_length=200, description="Version to return to")
    reason: str = Field(min_length=1, max_length=10_000)
    by: str | None = Name


class EmergencyReviewIn(Body):
    root_cause: str = Field(min_length=1, max_length=20_000)
    actions: str = Field(min_length=1, max_length=20_000, description="Actions taken")
    preventive: str = Field(min_length=1, max_length=20_000, description="Preventive controls")
    by: str | None = Name

    def fields(self) -> dict[str, Any]:
        """The service's keyword arguments, under the names ``review_emergency`` takes."""
        names = {"actions": "actions_taken", "preventive": "preventive_controls"}
        return {names.get(k, k): v for k, v in self.model_dump(exclude={"by"}).items()}


class UserIn(Body):
    name: str = Field(min_length=1, max_length=100)
    roles: list[str] = Field(min_length=1, max_length=50)
    github: str | None = Field(default=None, max_length=100)
    gitlab: str | None = Field(default=None, max_length=100)
    by: str | None = Name


class RolesIn(Body):
    roles: list[str] = Field(min_length=1, max_length=50)
    by: str | None = Name


class PasswordIn(Body):
    password: str = Field(min_length=1, max_length=1024)
    current_password: str | None = Field(
        default=None,
        max_length=1024,
        description="Required to change your own password when one is set",
    )


class TokenIn(Body):
    user: str | None = Field(
        default=None, max_length=100, description="Whose token (default: the caller)"
    )
    expires: str = Field(default="90d", max_length=20, description="90d, 12h, 2w or never")
    label: str = Field(default="", max_length=200)


class PolicyCheckIn(Body):
    text: str = Field(max_length=1_000_000, description="The policy document (YAML)")
    file: str = Field(default="<request>", max_length=500)
