"""The base of the policy schema's models (unknown keys are errors, values are frozen) and
the one helper every cross-reference check uses."""

from __future__ import annotations

from collections.abc import Container, Iterable

from pydantic import BaseModel, ConfigDict


def unknown(where: str, what: str, names: Iterable[str], known: Container[str]) -> list[str]:
    """One problem for each of ``names`` that ``known`` does not hold."""
    return [f"{where}: unknown {what} '{name}'" for name in names if name not in known]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)
