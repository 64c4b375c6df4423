"""The class floor: the lowest class a change may have, from what its changed files say.

The policy's path rules give the files' floor and what they bring (components, categories,
the security flag); the policy's categories and its catalogue of pre-approved procedures can
raise it (§3a: files no catalogue entry covers are never standard). A person may raise a
change's class above the floor, never lower it, and an edit of a change classified from a
range or a pull request may not take off what its files bring.

Everything here flushes and never commits; the CLI or the API request owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.changes.commit_index import sync_commit_index
from changegate.changes.models import Change
from changegate.db import utcnow
from changegate.errors import InvalidInput
from changegate.policy.engine import ChangeFacts, evaluate
from changegate.policy.errors import PathRuleError
from changegate.policy.names import CLASS_NAMES
from changegate.policy.pathrules import DEFAULT_CLASS_ORDER
from changegate.scm.classify import Classification
from changegate.scm.errors import ClassTooLow
from changegate.scm.models import ChangeClassification

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

SECURITY_FLAG = "security_impacting"


@dataclass(frozen=True)
class Requirement:
    rule: str
    section: str
    description: str
    stage: str


@dataclass(frozen=True)
class PolicyClassification:
    """What the policy makes of a set of changed files.

    ``minimum_class`` is the floor: the highest class any matching path rule names, or the
    class the policy gives a matched category (emergency categories excepted: an emergency
    is declared by a person, never by files). A change record carries one category:
    ``category`` is the one of ``categories`` that brings the most requirements;
    ``other_requirements`` are those only the other categories would add, so a reader can
    split the change when they matter.
    """

    classification: Classification
    change_class: str
    minimum_class: str
    categories: tuple[str, ...]
    category: str | None
    components: tuple[str, ...]
    flags: tuple[str, ...]
    requirements: tuple[Requirement, ...]
    other_requirements: tuple[Requirement, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def security_impacting(self) -> bool:
        return SECURITY_FLAG in self.flags

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.change_class,
            "minimum_class": self.minimum_class,
            "categories": list(self.categories),
            "category": self.category,
            "components": list(self.components),
            "flags": list(self.flags),
            "security_impacting": self.security_impacting,
            "requirements": [asdict(r) for r in self.requirements],
            "other_requirements": [asdict(r) for r in self.other_requirements],
            "notes": list(self.notes),
            "unmatched_files": list(self.classification.unmatched),
        }


def _rank(change_class: str) -> int:
    return CLASS_NAMES.index(change_class)


def minimum_class(policy: Policy, classification: Classification) -> str:
    from changegate.policy.catalogue import is_pre_approved

    floor = _rank(classification.minimum_class)
    for slug in classification.categories:
        category = policy.categories.get(slug)
        if category is not None and category.change_class != "emergency":
            floor = max(floor, _rank(category.change_class))
    if is_pre_approved(policy, CLASS_NAMES[floor]):
        floor = max(floor, _rank(_catalogue_floor(policy, classification)))
    return CLASS_NAMES[floor]


def _catalogue_floor(policy: Policy, classification: Classification) -> str:
    """A pre-approved class only when one catalogue entry covers every changed file (§3a);
    files it cannot place make the change normal, never standard."""
    from changegate.policy.catalogue import paths_covered, unplaced_class

    paths = [f.path for f in classification.files]
    for slug in classification.categories:
        if paths_covered(policy, slug, paths):
            return CLASS_NAMES[0]
    return unplaced_class(policy)


def category_fits(policy: Policy, slug: str, change_class: str) -> bool:
    """Whether the changes service accepts ``slug`` on a change of ``change_class``: the
    policy's class for it, or normal for a standard category (raising is allowed)."""
    category = policy.categories.get(slug)
    if category is None:
        return False
    return category.change_class == change_class or (
        category.change_class == "standard" and change_class == "normal"
    )


def _requirements(
    policy: Policy,
    *,
    change_class: str,
    category: str | None,
    components: Sequence[str],
    security_flag: bool,
) -> tuple[Requirement, ...]:
    facts = ChangeFacts(
        id="-",
        change_class=change_class,
        author="",
        risk={},
        category=category,
        components=tuple(components),
        security_flag=security_flag,
    )
    evaluation = evaluate(policy, facts, now=utcnow())
    rules = {rule.id: rule for rule in policy.rules}
    return tuple(
        Requirement(r.rule_id, r.section, rules[r.rule_id].description, r.stage)
        for r in evaluation.results
    )


def classify_for_policy(
    policy: Policy, classification: Classification, *, requested_class: str | None = None
) -> PolicyClassification:
    """Apply the policy to a path-rule classification.

    ``requested_class`` is the class a person asks for; below the floor it raises
    ``ClassTooLow``. Without it the change gets the floor.
    """
    floor = minimum_class(policy, classification)
    change_class = effective_class(requested_class, floor, CLASS_NAMES)
    components = classification.components
    security = SECURITY_FLAG in classification.flags
    candidates = [c for c in classification.categories if category_fits(policy, c, change_class)]
    notes: list[str] = []
    unfit = [c for c in classification.categories if c not in candidates]
    if unfit:
        notes.append(
            f"categor{'y' if len(unfit) == 1 else 'ies'} {', '.join(unfit)} cannot be carried "
            f"by a {change_class} change (the policy classifies it otherwise)"
        )
    by_category = {
        slug: _requirements(
            policy,
            change_class=change_class,
            category=slug,
            components=components,
            security_flag=security,
        )
        for slug in candidates
    }
    order = list(policy.categories)
    chosen = (
        max(candidates, key=lambda slug: (len(by_category[slug]), -order.index(slug)))
        if candidates
        else None
    )
    requirements = (
        by_category[chosen]
        if chosen is not None
        else _requirements(
            policy,
            change_class=change_class,
            category=None,
            components=components,
            security_flag=security,
        )
    )
    have = {r.rule for r in requirements}
    others: dict[str, Requirement] = {}
    for slug in candidates:
        for requirement in by_category[slug]:
            if requirement.rule not in have:
                others.setdefault(requirement.rule, requirement)
    if len(candidates) > 1:
        notes.append(
            f"the files fall in {len(candidates)} categories ({', '.join(candidates)}); a change "
            f"record carries one, {chosen}, the one with the most requirements"
            + (
                "; split the change to have the others enforced too"
                if others
                else "; the others add no requirement"
            )
        )
    return PolicyClassification(
        classification=classification,
        change_class=change_class,
        minimum_class=floor,
        categories=classification.categories,
        category=chosen,
        components=components,
        flags=classification.flags,
        requirements=requirements,
        other_requirements=tuple(others.values()),
        notes=tuple(notes),
    )


def effective_class(
    requested: str | None,
    minimum: str,
    class_order: Sequence[str] = DEFAULT_CLASS_ORDER,
) -> str:
    """The class a change gets: ``requested`` if given and not below ``minimum``.

    A person may raise the class the path rules give but never lower it; lowering raises
    ``ClassTooLow`` naming both classes.
    """
    if minimum not in class_order:
        raise PathRuleError(
            f"minimum class {minimum!r} is unknown; use one of {', '.join(class_order)}",
            field="class",
        )
    if requested is None:
        return minimum
    if requested not in class_order:
        raise PathRuleError(
            f"class: unknown class {requested!r}; use one of {', '.join(class_order)}",
            field="class",
        )
    if class_order.index(requested) < class_order.index(minimum):
        raise ClassTooLow(
            f"class: {requested!r} is below {minimum!r}, the minimum the changed files "
            f"require; use {minimum!r} or higher",
            field="class",
        )
    return requested


def class_floor(session: Session, change: Change) -> str | None:
    if change.id is None:
        return None
    return session.scalar(
        select(ChangeClassification.minimum_class).where(
            ChangeClassification.change_id == change.id
        )
    )


def change_written(session: Session, policy: Policy, change: Change) -> None:
    """Called by the changes service each time a change is created or edited.

    Refuses a class below what the changed files of the change's pull request or range
    require (``ClassTooLow``), and components or a security flag they bring taken off (what
    the files say decides which reviews apply), and keeps the commit index and the digest
    cache current.
    """
    row = (
        session.scalar(
            select(ChangeClassification).where(ChangeClassification.change_id == change.id)
        )
        if change.id is not None
        else None
    )
    if row is not None:
        effective_class(change.change_class, row.minimum_class, CLASS_NAMES)
        dropped = [c for c in row.components if c not in (change.components or [])]
        if dropped:
            raise InvalidInput(
                f"--component: the changed files of {row.git_range} touch "
                f"{', '.join(dropped)}; keep {'them' if len(dropped) > 1 else 'it'} among the "
                "change's components (add others if you like)",
                field="component",
            )
        if SECURITY_FLAG in row.flags and not change.security_flag:
            raise InvalidInput(
                f"security_flag: the changed files of {row.git_range} are security-impacting "
                "by the policy's path rules; the flag stays set",
                field="security_flag",
            )
    sync_commit_index(session, change)
