"""Registry of requirement kinds evaluated with data from other slices (e.g. the DPA register).

A slice registers a factory ``session -> (rule, facts) -> (met, reason)``. Kinds without a
registered hook and without a built-in evaluator fail closed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from changegate.policy.engine import ChangeFacts
from changegate.policy.schema import Rule

Hook = Callable[[Rule, ChangeFacts], tuple[bool, str]]
REQUIREMENT_HOOKS: dict[str, Callable[[Any], Hook]] = {}
