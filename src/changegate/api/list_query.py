"""The query parameters of ``GET /api/changes``: filters, sort, limit and cursor."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

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


def _names(model: type[BaseModel]) -> tuple[str, ...]:
    """The query parameters' names: each field's alias (``class``), else its name."""
    return tuple(f.alias or name for name, f in model.model_fields.items())


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The OpenAPI ``parameters`` FastAPI writes for ``Annotated[model, Query()]``, for a
    route that parses its query with :func:`change_query` (``openapi_extra``): each field by
    its name, its JSON schema, and its description beside it
    (``tests/api/test_list_query.py`` holds them equal to FastAPI's)."""
    properties = model.model_json_schema(by_alias=True)["properties"]
    params = []
    for name, field in zip(_names(model), model.model_fields.values(), strict=True):
        schema = properties[name]
        param = {"name": name, "in": "query", "required": field.is_required(), "schema": schema}
        params.append(
            param | ({"description": schema["description"]} if "description" in schema else {})
        )
    return params


def _keys(model: type[BaseModel]) -> tuple[tuple[str, ...], ...]:
    """Per field, the parameters FastAPI reads it from, in its order: the alias, then (the
    model populating by name) the field's name."""
    by_name = model.model_config.get("populate_by_name", False)
    return tuple(
        (f.alias, name) if f.alias and by_name else (f.alias or name,)
        for name, f in model.model_fields.items()
    )


_CHANGE_QUERY_KEYS = _keys(ChangeQuery)


async def change_query(request: Request) -> ChangeQuery:
    """The query string as a :class:`ChangeQuery`: what ``Annotated[ChangeQuery, Query()]``
    gives, in one pydantic call.

    FastAPI's query models look up each field on every request and ask, per field, whether
    its annotation is a sequence: about 0.05 ms of a list's request (issue 12's profile).
    Here, as there, a field is read from the first of its names given (``class``, then
    ``change_class``), a repeated parameter's last value counts, the field's other name is
    passed on as FastAPI passes an extra parameter (a list when repeated), other parameters
    are ignored, and an invalid value is a ``RequestValidationError`` at ``("query", name)``
    (``tests/api/test_list_query.py`` compares the two). A coroutine: FastAPI would run a
    plain function in a worker thread. The API documents the parameters with
    :func:`query_parameters`."""
    params = request.query_params
    given: dict[str, Any] = {}
    for keys in _CHANGE_QUERY_KEYS:
        present = [key for key in keys if key in params]
        if present:
            given[present[0]] = params[present[0]]
            for other in present[1:]:
                values = params.getlist(other)
                given[other] = values[0] if len(values) == 1 else values
    try:
        return ChangeQuery.model_validate(given)
    except ValidationError as exc:
        errors = [{**e, "loc": ("query", *e["loc"])} for e in exc.errors()]
        raise RequestValidationError(errors) from None
