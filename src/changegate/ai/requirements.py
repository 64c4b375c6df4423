"""What the policy file asks of an AI change category, for ``changegate ai classify``.

Read from the policy's rules with the engine's own selector, so a company's edited policy
file is what the classification reports; nothing is hard-coded. Pure: no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from changegate.ai.classification import AiChangeClassification
from changegate.policy.engine import ChangeFacts, evaluate

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


def policy_requirements(
    policy: Policy,
    *,
    category: str,
    providers: Sequence[str] = (),
    security_impacting: bool = False,
) -> list[dict[str, Any]]:
    """The rules of the policy file that apply to a change of ``category``, as the gate and
    ``changegate status`` will list them (read from the rules, nothing hard-coded)."""

    spec = policy.categories.get(category)
    if spec is None:
        return []
    facts = ChangeFacts(
        id="",
        change_class=spec.change_class,
        author="",
        risk={},
        category=category,
        components=(spec.component,) if spec.component else (),
        providers=tuple(providers),
        security_flag=security_impacting,
    )
    out = []
    for r in evaluate(policy, facts, now=dt.datetime.now(dt.UTC)).results:
        rule = next(x for x in policy.rules if x.id == r.rule_id)
        req = rule.require
        what = {
            "approval": f"approval by role {req.role}"
            + (f" (x{req.count})" if req.count > 1 else ""),
            "validation": f"validation {req.name}",
            "document": f"document {req.name}",
            "field": f"field {req.field}",
            "junit": "JUnit test results",
            "dpa": "provider DPA signed and current",
        }.get(req.kind, req.kind.replace("_", " "))
        out.append(
            {
                "rule": rule.id,
                "section": rule.section,
                "description": rule.description,
                "kind": req.kind,
                "requires": what,
                "stage": rule.stage,
                "bypassed": r.bypassed,
            }
        )
    return out


def classification_report(
    policy: Policy, result: AiChangeClassification, *, incident: bool = False
) -> dict[str, Any]:
    """The classification, the change fields it suggests and the policy's requirements."""
    out = result.to_dict()
    out.pop("requirements", None)
    out["incident"] = incident
    out["is_ai_change"] = result.is_ai_change
    category = result.category.value if result.category else None
    spec = policy.categories.get(category or "")
    out["class"] = spec.change_class if spec else None
    out["category_name"] = spec.name if spec else None
    out["requirements"] = (
        policy_requirements(
            policy,
            category=category,
            providers=result.providers,
            security_impacting=result.security_impacting,
        )
        if category
        else []
    )
    if category and spec:
        args = ["changegate change new", f"--class {spec.change_class}", f"--category {category}"]
        if result.component:
            args.append(f"--ai-component {result.component.value}")
        args += [f"--provider {p}" for p in result.providers]
        if result.security_impacting:
            args.append("--security-impacting")
        out["change_new"] = " ".join(args) + " ..."
    return out
