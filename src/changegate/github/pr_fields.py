"""The change fields a pull request gives: its body's template, the class floor and
classification of its changed files, and the policy's catalogue of pre-approved classes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from changegate.changes.from_git import RangeResult
from changegate.changes.models import Change
from changegate.github.payloads import PullRequest
from changegate.github.pr_template import PullRequestBody
from changegate.policy.names import CLASS_NAMES

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

_PROVIDERS = re.compile(r"^\s*(?:[-*]\s+)?\**providers?\**\s*:\s*(.+?)\s*$", re.I | re.M)


def _policy_dimension(policy: Policy, key: str) -> str | None:
    if key in policy.risk.dimensions:
        return key
    head = key.split("_")[0]
    return head if head in policy.risk.dimensions else None


def _providers(body: str | None) -> list[str]:
    match = _PROVIDERS.search(body or "")
    if match is None:
        return []
    return [p.strip().lower() for p in re.split(r"[,;]", match.group(1)) if p.strip()]


@dataclass
class PrFields:
    values: dict[str, Any]
    problems: list[str]
    blocking: bool  # the change may not be submitted while these problems stand


def pr_fields(
    policy: Policy,
    pr: PullRequest,
    body: PullRequestBody,
    ranged: RangeResult | None,
    unclassified: str | None,
    current: Change | None,
) -> PrFields:
    """The change fields a pull request gives, and what keeps the change incomplete."""
    from changegate.changes.floor import category_fits, classify_for_policy

    problems = list(body.problems)
    blocking = bool(body.missing)
    if unclassified:
        problems.append(unclassified)
        blocking = True
    requested = body.change_class
    floor = ranged.policy.minimum_class if ranged is not None else None
    change_class = requested or floor or (current.change_class if current else "normal")
    if floor is not None and CLASS_NAMES.index(change_class) < CLASS_NAMES.index(floor):
        problems.append(
            f"Class: {change_class!r} is below {floor!r}, the minimum the changed files require; "
            f"the change is {floor}"
        )
        change_class = floor
    values: dict[str, Any] = {
        "title": (pr.title or f"Pull request #{pr.number}")[:300],
        "description": body.description or "",
        "change_class": change_class,
        "rollback_plan": body.rollback_plan or "",
        "justification": body.justification or "",
    }
    risk: dict[str, dict[str, str]] = {}
    for key, assessment in body.risk.items():
        dimension = _policy_dimension(policy, key)
        if dimension is not None and assessment.level in policy.risk.levels:
            risk[dimension] = {"level": assessment.level, "note": assessment.notes}
    values["risk"] = risk
    links = list(current.links) if current is not None else []
    values["links"] = list(dict.fromkeys([*links, pr.html_url]))
    commits = list(ranged.commits) if ranged is not None else []
    if pr.head.sha.lower() not in commits:
        commits.append(pr.head.sha.lower())
    values["commits"] = commits
    providers = _providers(pr.body)
    if providers:
        values["providers"] = providers
    components = list(current.components) if current is not None else []
    security = bool(current.security_flag) if current is not None else False
    category = current.category if current is not None else None
    if ranged is not None:
        classified = classify_for_policy(
            policy, ranged.policy.classification, requested_class=change_class
        )
        components = list(dict.fromkeys([*components, *classified.components]))
        security = security or classified.security_impacting
        category = classified.category
        problems.extend(f"Classification: {note}" for note in classified.notes)
    if category is not None and not category_fits(policy, category, change_class):
        category = None
    values["components"] = components
    values["security_flag"] = security
    values["category"] = category
    _within_catalogue(policy, values, problems, placed=ranged is not None)
    return PrFields(values=values, problems=problems, blocking=blocking)


def _within_catalogue(
    policy: Policy, values: dict[str, Any], problems: list[str], *, placed: bool
) -> None:
    """A pull request asking for a pre-approved class outside the policy's catalogue (§3a)
    becomes a normal change, with the reason on the pull request: never the laxer class.
    ``placed``: the pull request's changed files were read and classified; files that could
    not be read cannot be checked against the entry's paths, so the change is not standard."""
    from changegate.changes.floor import category_fits
    from changegate.changes.service import standard_problems
    from changegate.policy.catalogue import WAY_OUT, is_pre_approved, unplaced_class

    outside = standard_problems(policy, values, complete=False)
    if not placed and is_pre_approved(policy, values["change_class"]):
        outside.append(
            "its changed files could not be read, so the procedure's paths cannot be checked"
        )
    if not outside:
        return
    stricter = unplaced_class(policy)
    problems.append(
        f"Class: not a pre-approved {values['change_class']} change (§3a): "
        + "; ".join(outside)
        + f"; the change is {stricter} ({WAY_OUT})"
    )
    values["change_class"] = stricter
    category = values["category"]
    if category is not None and not category_fits(policy, category, stricter):
        values["category"] = None
