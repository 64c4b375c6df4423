"""The control matrix's figures: which changes of the population a rule applies to (the
policy engine's own selector) and the exceptions counted against it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from changegate.policy.schema import Policy, When


def _describe(when: When) -> str:
    parts = []
    for name, value in (
        ("class", when.change_class),
        ("category", when.category),
        ("components", when.components),
    ):
        if value is not None:
            parts.append(f"{name} {', '.join(value)}")
    for flag in ("ai", "security_impacting", "high_risk", "provider_relationship"):
        value = getattr(when, flag)
        if value is not None:
            parts.append(flag if value else f"not {flag}")
    return "; ".join(parts) or "every change"


def facts_of(policy: Policy, states: Mapping[str, dict[str, Any]]) -> list[tuple[Any, Any]]:
    """Each change's facts and flags as the policy engine sees them, from its last state."""
    from changegate.policy.engine import ChangeFacts, is_high_risk, is_security_impacting

    out = []
    for key, s in states.items():
        levels = {k: str((v or {}).get("level", "")) for k, v in (s.get("risk") or {}).items()}
        facts = ChangeFacts(
            id=key,
            change_class=str(s.get("change_class")),
            author=str(s.get("author")),
            risk=levels,
            category=s.get("category"),
            components=s.get("components") or (),
            providers=s.get("providers") or (),
            security_flag=bool(s.get("security_flag")),
        )
        category = policy.categories.get(facts.category or "")
        flags = {
            "ai": bool(category and category.ai),
            "security_impacting": is_security_impacting(policy, facts),
            "high_risk": is_high_risk(policy, levels),
            "provider_relationship": bool(category and category.provider_relationship),
        }
        out.append((facts, flags))
    return out


def applies_count(policy: Policy, rule_id: str, facts: list[tuple[Any, Any]]) -> tuple[str, int]:
    """The rule's selector in words, and how many of the population's changes (``facts``,
    from :func:`facts_of`) it selects; a section of the policy applies to every change."""
    from changegate.policy.engine import rule_applies

    rule = next((r for r in policy.rules if r.id == rule_id), None)
    if rule is None:
        return "every change", len(facts)
    return _describe(rule.when), sum(rule_applies(rule.when, policy, f, g) for f, g in facts)


def rule_exceptions(policy: Policy, rule_id: str, table: list[list[str]]) -> int:
    """Rows of exceptions.csv against the rule: gate refusals naming it, and the kinds the
    policy's ``controls`` counts against it."""
    header = table[0]
    kind, detail = header.index("kind"), header.index("detail")
    control = policy.controls.rules.get(rule_id)
    kinds = set(control.exceptions) if control else set()
    mark = f"{rule_id}:"
    return sum(
        1
        for row in table[1:]
        if row[kind] in kinds
        or (
            row[kind] == "gate-refused" and any(p.startswith(mark) for p in row[detail].split("; "))
        )
    )
