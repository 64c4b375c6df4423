"""Behavioural regression suite files (YAML), validated with Pydantic.

::

    name: support-bot
    cases:
      - id: refund-window
        input: How long do I have to ask for a refund?
        tenant: acme            # optional
        context: ...            # optional: text, list of texts or mapping
        critical: true
        assertions:
          - {type: contains, value: "30 days"}
          - {type: similarity, reference: "Refunds within 30 days.", threshold: 0.7}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from changegate.ai.errors import SuiteError

Context = str | list[str] | dict[str, Any] | None


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _TextAssertion(_Base):
    """An assertion about a text ``value`` in the output."""

    value: str
    ignore_case: bool = False


class EqualsAssertion(_TextAssertion):
    """Output equals ``value`` after trimming surrounding whitespace."""

    type: Literal["equals"]


class ContainsAssertion(_TextAssertion):
    type: Literal["contains"]


class NotContainsAssertion(_TextAssertion):
    type: Literal["not-contains"]


class RegexAssertion(_Base):
    """``re.search`` finds ``pattern`` in the output."""

    type: Literal["regex"]
    pattern: str
    ignore_case: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"is not a valid regular expression ({exc})") from exc
        return v


class JsonSchemaAssertion(_Base):
    """Output parses as JSON (a fenced ```json block is unwrapped) and validates."""

    type: Literal["json-schema"]
    json_schema: dict[str, Any] = Field(alias="schema")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, v: dict[str, Any]) -> dict[str, Any]:
        import jsonschema

        try:
            jsonschema.validators.validator_for(v).check_schema(v)
        except jsonschema.SchemaError as exc:
            raise ValueError(f"is not a valid JSON Schema ({exc.message})") from exc
        return v


class SimilarityAssertion(_Base):
    """Cosine similarity of output and ``reference`` embeddings >= ``threshold``.

    Without ``threshold`` the run's default applies (the policy's
    ``ai.regression.similarity_threshold``, 0.8 unless configured).
    """

    type: Literal["similarity"]
    reference: str
    threshold: float | None = Field(default=None, gt=0.0, le=1.0)


Assertion = Annotated[
    EqualsAssertion
    | ContainsAssertion
    | NotContainsAssertion
    | RegexAssertion
    | JsonSchemaAssertion
    | SimilarityAssertion,
    Field(discriminator="type"),
]


class Case(_Base):
    id: str = Field(min_length=1)
    input: str
    tenant: str | None = None
    context: Context = None
    critical: bool = False
    assertions: list[Assertion] = Field(min_length=1)


class Suite(_Base):
    name: str = Field(min_length=1)
    description: str | None = None
    cases: list[Case] = Field(min_length=1)

    @field_validator("cases")
    @classmethod
    def _unique_ids(cls, v: list[Case]) -> list[Case]:
        seen: set[str] = set()
        for case in v:
            if case.id in seen:
                raise ValueError(f"case id {case.id!r} is used twice; give each case its own id")
            seen.add(case.id)
        return v

    @property
    def critical_ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.cases if c.critical)

    def uses_similarity(self) -> bool:
        return any(isinstance(a, SimilarityAssertion) for c in self.cases for a in c.assertions)


def _where(loc: tuple[int | str, ...], raw: Any) -> str:
    """Render a Pydantic error location, naming the case by its id."""
    parts: list[str] = []
    i = 0
    while i < len(loc):
        item = loc[i]
        if item == "cases" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            idx = loc[i + 1]
            assert isinstance(idx, int)
            case_id = None
            if isinstance(raw, dict) and isinstance(raw.get("cases"), list):
                cases = raw["cases"]
                if idx < len(cases) and isinstance(cases[idx], dict):
                    case_id = cases[idx].get("id")
            parts.append(f"case {case_id!r}" if case_id is not None else f"cases[{idx}]")
            i += 2
            continue
        if item == "assertions" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            parts.append(f"assertions[{loc[i + 1]}]")
            i += 2
            # skip the discriminator tag pydantic inserts (e.g. 'regex')
            if i < len(loc) and isinstance(loc[i], str) and i + 1 < len(loc):
                i += 1
            continue
        parts.append(str(item))
        i += 1
    return ".".join(parts) or "(suite)"


def parse_suite(data: Any, *, source: str = "suite") -> Suite:
    """Validate parsed suite data; the error lists every problem with case id and field."""
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "union_tag_invalid":
                msg = (
                    "unknown assertion type; use one of equals, contains, not-contains, "
                    "regex, json-schema, similarity"
                )
            elif err["type"] == "extra_forbidden":
                msg = "is not a known field; check the spelling"
            problems.append(f"{_where(tuple(err['loc']), data)}: {msg}")
        raise SuiteError(
            f"{source}: invalid regression suite:\n  " + "\n  ".join(problems),
            field=_where(tuple(exc.errors()[0]["loc"]), data),
        ) from exc


def load_suite(path: str | Path) -> Suite:
    """Read and validate a suite YAML/JSON file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"{p}: cannot read suite file ({exc.strerror})", field="suite") from exc
    return load_suite_text(text, source=str(p))


def load_suite_text(text: str, *, source: str = "suite") -> Suite:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise SuiteError(
            f"{source}{line}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax",
            field="suite",
        ) from exc
    return parse_suite(data, source=source)
