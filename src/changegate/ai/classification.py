"""Result types of AI change classification."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from changegate.ai.categories import AiCategory, AiComponent, scrutiny_rank


@dataclass(frozen=True)
class Finding:
    """One observed difference, the category it implies (if any) and where it was seen.

    ``category`` is ``None`` for a difference no §10.1 category covers (a temperature
    tweak, a ``model_info`` edit, a setting the classifier does not know): it is not
    understood, so it places the change nowhere and the change is normal, never standard.
    ``advisory`` marks a remark about the change rather than a difference in it (a provider
    inferred from a model name, an incident that activates no fallback): it places nothing.
    """

    message: str
    component: AiComponent
    category: AiCategory | None = None
    path: str | None = None
    security_impacting: bool = False
    advisory: bool = False

    @property
    def unplaced(self) -> bool:
        """A difference no category covers."""
        return self.category is None and not self.advisory

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        tag = f" [{self.category.value}]" if self.category else ""
        return f"{where}{self.message}{tag}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "component": self.component.value,
            "category": self.category.value if self.category else None,
            "path": self.path,
            "security_impacting": self.security_impacting,
            "advisory": self.advisory,
        }


@dataclass
class FindingLog:
    """The findings a file-kind classifier collects: each on one component and category."""

    findings: list[Finding]
    component: AiComponent
    category: AiCategory
    path: str
    #: whether a finding is security impacting unless ``add`` says otherwise
    security: bool = False

    def add(self, message: str, *, security: bool | None = None) -> None:
        self.findings.append(
            Finding(
                message=message,
                component=self.component,
                category=self.category,
                path=self.path,
                security_impacting=self.security if security is None else security,
            )
        )


def _order_categories(categories: Iterable[AiCategory]) -> tuple[AiCategory, ...]:
    return tuple(sorted(set(categories), key=scrutiny_rank))


@dataclass(frozen=True)
class AiChangeClassification:
    """Classification of one AI change (one file, or several merged).

    ``categories`` is sorted highest scrutiny first, so ``category`` (the first) is the
    one that decides the change path; the others still add their requirements.
    ``categories`` is empty when the files changed in ways no AI category covers.
    """

    categories: tuple[AiCategory, ...]
    components: tuple[AiComponent, ...]
    providers: tuple[str, ...]
    security_impacting: bool
    findings: tuple[Finding, ...]
    paths: tuple[str, ...] = field(default=())

    @classmethod
    def from_findings(
        cls,
        findings: Iterable[Finding],
        *,
        providers: Iterable[str] = (),
        paths: Iterable[str] = (),
    ) -> AiChangeClassification:
        found = tuple(findings)
        categories = _order_categories(f.category for f in found if f.category is not None)
        # components ordered by the highest-scrutiny category that touches them
        comp_rank: dict[AiComponent, int] = {}
        for f in found:
            rank = scrutiny_rank(f.category) if f.category is not None else len(AiCategory)
            comp_rank[f.component] = min(rank, comp_rank.get(f.component, rank))
        components = tuple(sorted(comp_rank, key=lambda c: (comp_rank[c], c.value)))
        return cls(
            categories=categories,
            components=components,
            providers=tuple(sorted(set(providers))),
            security_impacting=any(f.security_impacting for f in found),
            findings=found,
            paths=tuple(dict.fromkeys(paths)),
        )

    @classmethod
    def merge(cls, parts: Iterable[AiChangeClassification]) -> AiChangeClassification:
        items = list(parts)
        return cls.from_findings(
            (f for p in items for f in p.findings),
            providers=(pr for p in items for pr in p.providers),
            paths=(pa for p in items for pa in p.paths),
        )

    @property
    def category(self) -> AiCategory | None:
        """The highest-scrutiny category, which decides the change path."""
        return self.categories[0] if self.categories else None

    @property
    def component(self) -> AiComponent | None:
        return self.components[0] if self.components else None

    @property
    def is_ai_change(self) -> bool:
        """True when any AI configuration file was touched."""
        return bool(self.paths)

    @property
    def unplaced(self) -> tuple[Finding, ...]:
        """Differences no category covers: each makes the change normal, never standard."""
        return tuple(f for f in self.findings if f.unplaced)

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category.value if self.category else None,
            "categories": [c.value for c in self.categories],
            "component": self.component.value if self.component else None,
            "components": [c.value for c in self.components],
            "providers": list(self.providers),
            "security_impacting": self.security_impacting,
            "paths": list(self.paths),
            "unplaced": [f.message for f in self.unplaced],
            "findings": [f.to_dict() for f in self.findings],
        }


def rotation_alone(result: AiChangeClassification) -> AiChangeClassification:
    """Credential rotation is a category only when nothing else changed (§10.1: rotating
    API keys). Alongside any other difference, each credential finding loses the category, so
    the pre-approved class of a rotation never covers the rest."""
    rotated = [f for f in result.findings if f.category is AiCategory.CREDENTIAL_ROTATION]
    others = [
        f
        for f in result.findings
        if f.category is not AiCategory.CREDENTIAL_ROTATION and not f.advisory
    ]
    if not rotated or not others:
        return result
    findings = [
        replace(
            f,
            category=None,
            message=f"{f.message} (with other changes: not a credential rotation alone)",
        )
        if f.category is AiCategory.CREDENTIAL_ROTATION
        else f
        for f in result.findings
    ]
    return AiChangeClassification.from_findings(
        findings, providers=result.providers, paths=result.paths
    )
