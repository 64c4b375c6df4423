"""The catalogue of pre-approved standard changes (§3a). Pure: no database.

§3a defines standard changes as "low-risk, repeatable changes with predefined procedures". A
standard change therefore names a category of class ``standard`` from the policy file, and that
category's ``catalogue`` entry says what the pre-approval covers: the procedure, the highest
risk allowed per dimension, the components it may touch and (with the git integration) the
paths. Anything outside those limits, anything security-impacting and anything high-risk is a
normal change. The same check runs when a change is written (the changes service refuses it)
and when the gate evaluates the change (the ``pre_approved`` requirement is unmet), so a row
that got past the first by any route still cannot pass the second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from changegate.policy.schema import Category, Policy

WAY_OUT = "file it as a normal change (--class normal)"


def is_pre_approved(policy: Policy, change_class: str) -> bool:
    """Whether the policy pre-approves ``change_class`` (§3a: standard in the default)."""
    spec = policy.classes.get(change_class)  # type: ignore[call-overload]
    return bool(spec is not None and spec.pre_approved)


def unplaced_class(policy: Policy) -> str:
    """The class of what a classifier cannot place, or of a pre-approved change outside its
    procedure: the lowest class the policy does not pre-approve (normal in the default).
    Never lowered on uncertainty."""
    from changegate.policy.names import CLASS_NAMES

    return next(c for c in CLASS_NAMES if not is_pre_approved(policy, c))


def refusal(problems: list[str]) -> str:
    """The message refusing a change as pre-approved, with the way out."""
    return "not a pre-approved standard change (§3a): " + "; ".join(problems) + f"; {WAY_OUT}"


def standard_categories(policy: Policy) -> list[str]:
    """Slugs of the categories that form the catalogue, in policy order."""
    return [slug for slug, cat in policy.categories.items() if cat.change_class == "standard"]


def entry_for(policy: Policy, category: str | None) -> Category | None:
    """The catalogue entry a standard change of ``category`` runs under, if there is one."""
    if not category:
        return None
    spec = policy.categories.get(category)
    if spec is None or spec.change_class != "standard" or spec.catalogue is None:
        return None
    return spec


def standard_change_problems(
    policy: Policy,
    *,
    category: str | None,
    risk: Mapping[str, str],
    components: Sequence[str],
    ai_component: str | None,
    security_impacting: bool,
    high_risk: bool,
    complete: bool,
) -> list[str]:
    """Why a change cannot be a standard change under the policy's catalogue; empty if it can.

    ``complete``: every risk dimension must be assessed (at submit and at the gate). While a
    draft is written, unassessed dimensions are not yet a problem; assessed ones are checked.
    """
    if not category:
        names = ", ".join(standard_categories(policy)) or "none in this policy"
        return [
            "a standard change must name its pre-approved procedure from the policy's catalogue "
            f"with --category (catalogue: {names})"
        ]
    spec = entry_for(policy, category)
    if spec is None or spec.catalogue is None:
        return [f"category {category} is not a pre-approved procedure in the policy's catalogue"]
    entry = spec.catalogue
    problems: list[str] = []
    levels = policy.risk.levels
    for dimension in policy.risk.dimensions:
        level = risk.get(dimension)
        if not level:
            if complete:
                problems.append(f"risk {dimension} is not assessed")
            continue
        limit = entry.max_risk.get(dimension)
        if (
            limit is None
            or level not in levels
            or limit not in levels
            or (levels.index(level) > levels.index(limit))
        ):
            problems.append(
                f"risk {dimension}={level} is above the {category} procedure's limit "
                f"({dimension} at most {limit})"
            )
    touched = [*components, *([ai_component] if ai_component else [])]
    outside = sorted({c for c in touched if c not in entry.components})
    if outside:
        allowed = ", ".join(entry.components) or "none"
        problems.append(
            f"component{'s' if len(outside) > 1 else ''} {', '.join(outside)} "
            f"outside the {category} procedure (it covers: {allowed})"
        )
    if security_impacting:
        problems.append("the change is security-impacting (§4b: it needs a security review)")
    if high_risk:
        problems.append("the change is high-risk (§7)")
    return problems


def paths_covered(policy: Policy, category: str, paths: Sequence[str]) -> bool:
    """Whether every changed path is one the catalogue entry of ``category`` may touch."""
    spec = entry_for(policy, category)
    if spec is None or spec.catalogue is None:
        return False
    from changegate.policy.glob import compile_glob

    patterns = [compile_glob(p) for p in spec.catalogue.paths]
    return all(any(p.match(path) is not None for p in patterns) for path in paths)
