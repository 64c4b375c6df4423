"""Methods of the policy and of a path rule, shared by the validated schema
(:mod:`changegate.policy.schema`) and its Pydantic-free snapshot
(:mod:`changegate.policy.snapshot`), so there is one definition of each.

Both import this module and it imports neither: the schema needs Pydantic, the snapshot must
not (the gate's hot path reads it).
"""

from __future__ import annotations

from typing import Any, Protocol


class _PolicyFields(Protocol):
    @property
    def metadata(self) -> Any: ...
    @property
    def risk(self) -> Any: ...


class _PathRuleFields(Protocol):
    @property
    def pattern(self) -> str: ...


class PolicyMethods:
    """Methods of the policy, shared by the schema and its snapshot (no annotations here: a
    Pydantic model would take them for fields)."""

    @property
    def label(self: _PolicyFields) -> str:
        return f"{self.metadata.name} v{self.metadata.version}"

    def is_high(self: _PolicyFields, level: str, threshold: str) -> bool:
        order: list[str] = self.risk.levels
        return order.index(level) >= order.index(threshold)


class PathRuleMethods:
    """Methods of a path rule, shared by the schema and its snapshot."""

    def matches(self: _PathRuleFields, path: str) -> bool:
        """Whether ``path`` (repository-relative, '/'-separated) matches this rule."""
        from changegate.policy.glob import compile_glob

        return compile_glob(self.pattern).match(path) is not None
