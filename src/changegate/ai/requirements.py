"""What the policy file asks of an AI change category, for ``changegate ai classify``.

Read from the policy's rules with the engine's own selector, so a company's edited policy
file is what the classification reports; nothing is hard-coded. Pure: no database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from changegate.ai.classification import AiChangeClassification
from changegate.policy.catalogue import unplaced_class
from changegate.policy.engine import ChangeFacts, evaluate
from changegate.policy.names import CLASS_NAMES

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


def change_class_of(policy: Policy, result: AiChangeClassification) -> str | None:
    """The class an AI change gets: the highest class the policy gives its categories, and
    at least :func:`unplaced_class` when a difference has no category, when it is
    security-impacting (§4b: never pre-approved) or when no category covers it at all.
    ``None`` when no AI configuration changed."""
    if not result.is_ai_change:
        return None
    ranks: list[int] = []
    uncertain = bool(result.unplaced) or result.security_impacting or not result.categories
    for category in result.categories:
        spec = policy.categories.get(category.value)
        if spec is None:
            uncertain = True
        else:
            ranks.append(CLASS_NAMES.index(spec.change_class))
    if uncertain:
        ranks.append(CLASS_NAMES.index(unplaced_class(policy)))
    return CLASS_NAMES[max(ranks)]


def policy_requirements(
    policy: Policy,
    *,
    category: str | None,
    change_class: str | None = None,
    components: Sequence[str] = (),
    providers: Sequence[str] = (),
    security_impacting: bool = False,
) -> list[dict[str, Any]]:
    """The rules of the policy file that apply to a change of ``category`` (of its policy
    class unless ``change_class`` is given), as the gate and ``changegate status`` will list
    them (read from the rules, nothing hard-coded)."""

    spec = policy.categories.get(category) if category else None
    if spec is None and change_class is None:
        return []
    comps = [*((spec.component,) if spec is not None and spec.component else ()), *components]
    facts = ChangeFacts(
        id="",
        change_class=change_class or spec.change_class,  # type: ignore[union-attr]
        author="",
        risk={},
        category=category if spec is not None else None,
        components=tuple(dict.fromkeys(comps)),
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
    out["incident"] = incident
    out["is_ai_change"] = result.is_ai_change
    category = result.category.value if result.category else None
    spec = policy.categories.get(category or "")
    change_class = change_class_of(policy, result)
    out["class"] = change_class
    out["category_name"] = spec.name if spec else None
    out["requirements"] = (
        policy_requirements(
            policy,
            category=category,
            change_class=change_class,
            components=[] if spec else [c.value for c in result.components],
            providers=result.providers,
            security_impacting=result.security_impacting,
        )
        if change_class
        else []
    )
    if change_class:
        args = ["changegate change new", f"--class {change_class}"]
        if category and spec:
            args.append(f"--category {category}")
        if result.component:
            args.append(f"--ai-component {result.component.value}")
        args += [f"--provider {p}" for p in result.providers]
        if result.security_impacting:
            args.append("--security-impacting")
        out["change_new"] = " ".join(args) + " ..."
    return out
