"""Names the policy schema accepts, importable without Pydantic (the gate's hot path uses them)."""

from __future__ import annotations

CLASS_NAMES: tuple[str, ...] = ("standard", "normal", "emergency")

#: Change fields a policy may require; the names users see in errors and in --help.
FIELD_NAMES: tuple[str, ...] = (
    "title",
    "description",
    "risk",
    "rollback_plan",
    "justification",
    "links",
    "commits",
    "components",
    "providers",
    "ai_component",
    "category",
)

#: flags a path rule may set; security_impacting marks the change for extra scrutiny (§4b)
PATH_RULE_FLAGS: tuple[str, ...] = ("security_impacting",)
