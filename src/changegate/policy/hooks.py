"""Registry of requirement kinds evaluated with data from other slices (e.g. the DPA register).

A slice registers a factory ``session -> (rule, facts) -> (met, reason)``. Kinds without a
registered hook and without a built-in evaluator fail closed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from changegate.policy.engine import ChangeFacts

if TYPE_CHECKING:
    from changegate.policy.schema import Rule

Hook = Callable[["Rule", ChangeFacts], tuple[bool, str]]


def lazy(spec: str) -> Callable[[Any], Hook]:
    """A factory named ``module:function``, imported on first use.

    Registering by name means the kind is evaluated whichever entry point (CLI, API, tests)
    runs the gate, without the policy slice importing the slice that owns the data.
    """
    module, _, name = spec.partition(":")

    def factory(session: Any) -> Hook:
        hook: Callable[[Any], Hook] = getattr(importlib.import_module(module), name)
        return hook(session)

    return factory


REQUIREMENT_HOOKS: dict[str, Callable[[Any], Hook]] = {
    "dpa": lazy("changegate.ai.providers:dpa_hook"),  # the provider register (policy §10.2)
}
