"""Classification of a change from the files it touches.

Path rules are data: they live in the company's policy YAML under ``path_rules:``. Each rule
maps a glob (see ``changegate.scm.glob`` for the exact semantics) to any of a component, a
category, flags and a minimum change class::

    path_rules:
      - pattern: "prompts/**"
        component: persona-engine
        category: system-prompt-change
        class: normal
      - pattern: "**/*.pem"
        flags: [security_impacting]

Every rule that matches a file applies (rules are not first-match): a certificate under
``infra/tls/`` is both infrastructure and security-impacting. The resulting minimum class is
the highest class any matching rule names; a person may raise a change's class above it but
never lower it (``effective_class``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from changegate.policy.snapshot import PathRuleMethods
from changegate.scm.errors import ClassTooLow, PathRuleError
from changegate.scm.glob import compile_glob

DEFAULT_CLASS_ORDER: tuple[str, ...] = ("standard", "normal", "emergency")


class PathRule(BaseModel, PathRuleMethods):
    """One entry of ``path_rules:``: a glob and what a match means."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)

    pattern: str = Field(description="Glob over repository-relative paths, e.g. 'prompts/**'.")
    component: str | None = Field(default=None, description="Component the files belong to.")
    category: str | None = Field(default=None, description="Change category slug.")
    flags: tuple[str, ...] = Field(default=(), description="Flags such as security_impacting.")
    change_class: str | None = Field(
        default=None,
        alias="class",
        description="Minimum change class for a change touching these files.",
    )

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        compile_glob(value)
        return value

    @field_validator("component", "category", "change_class")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank; remove the key or give a value")
        return value

    @field_validator("flags", mode="before")
    @classmethod
    def _flags_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(f"must be a list; write [{value}]")
        return value


@dataclass(frozen=True, slots=True)
class FileMatch:
    """The rules that matched one changed file, in rule order."""

    path: str
    rules: tuple[PathRule, ...]


@dataclass(frozen=True, slots=True)
class Classification:
    """What the changed files say about a change.

    ``components``, ``categories`` and ``flags`` are sorted and free of duplicates.
    ``minimum_class`` is the lowest class the change may have; it is the first class of the
    order when no matching rule names one. ``files`` has one entry per changed path, in the
    order given, including paths that matched no rule (their ``rules`` is empty).
    """

    components: tuple[str, ...]
    categories: tuple[str, ...]
    flags: tuple[str, ...]
    minimum_class: str
    files: tuple[FileMatch, ...]

    @property
    def unmatched(self) -> tuple[str, ...]:
        """Changed paths no rule matched."""
        return tuple(f.path for f in self.files if not f.rules)

    def has_flag(self, flag: str) -> bool:
        return flag in self.flags


def _format_location(loc: tuple[int | str, ...], index: int) -> str:
    where = f"path_rules[{index}]"
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else f".{part}"
    return where


def load_path_rules(
    data: object, *, class_order: Sequence[str] = DEFAULT_CLASS_ORDER
) -> list[PathRule]:
    """Validate the parsed ``path_rules:`` list of a policy document.

    ``None`` (no rules) gives an empty list. Every problem is reported at once, each with its
    location (``path_rules[2].pattern``) and what is expected.
    """
    if data is None:
        return []
    if not isinstance(data, list):
        raise PathRuleError(
            "path_rules: expected a list of rules, each a mapping with a 'pattern' key",
            field="path_rules",
        )
    rules: list[PathRule] = []
    problems: list[str] = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            problems.append(f"path_rules[{index}]: expected a mapping with a 'pattern' key")
            continue
        try:
            rule = PathRule.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors():
                message = str(error["msg"]).removeprefix("Value error, ")
                problems.append(f"{_format_location(error['loc'], index)}: {message}")
            continue
        if rule.change_class is not None and rule.change_class not in class_order:
            problems.append(
                f"path_rules[{index}].class: unknown class {rule.change_class!r}; "
                f"use one of {', '.join(class_order)}"
            )
            continue
        rules.append(rule)
    if problems:
        raise PathRuleError("; ".join(problems), field="path_rules")
    return rules


def classify_paths(
    paths: Iterable[str],
    rules: Sequence[PathRule],
    class_order: Sequence[str] = DEFAULT_CLASS_ORDER,
) -> Classification:
    """Classify a change from its changed paths.

    ``paths`` are repository-relative with '/' separators (as git prints them; for a rename
    pass both the old and the new path). ``class_order`` runs from lowest to highest.
    """
    if not class_order:
        raise PathRuleError(
            "class_order: is empty; give the classes from lowest to highest",
            field="class_order",
        )
    rank = {name: position for position, name in enumerate(class_order)}
    for index, rule in enumerate(rules):
        if rule.change_class is not None and rule.change_class not in rank:
            raise PathRuleError(
                f"path_rules[{index}].class: unknown class {rule.change_class!r}; "
                f"use one of {', '.join(class_order)}",
                field="path_rules",
            )
    compiled = [(rule, compile_glob(rule.pattern)) for rule in rules]
    components: set[str] = set()
    categories: set[str] = set()
    flags: set[str] = set()
    minimum = 0
    files: list[FileMatch] = []
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            continue
        seen.add(path)
        matched = tuple(rule for rule, regex in compiled if regex.match(path) is not None)
        for rule in matched:
            if rule.component is not None:
                components.add(rule.component)
            if rule.category is not None:
                categories.add(rule.category)
            flags.update(rule.flags)
            if rule.change_class is not None:
                minimum = max(minimum, rank[rule.change_class])
        files.append(FileMatch(path=path, rules=matched))
    return Classification(
        components=tuple(sorted(components)),
        categories=tuple(sorted(categories)),
        flags=tuple(sorted(flags)),
        minimum_class=class_order[minimum],
        files=tuple(files),
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


DEFAULT_PATH_RULES_YAML = """\
# Example path rules for the default policy (docs/git.md explains the format).
path_rules:
  - pattern: "prompts/**"
    component: persona-engine
    category: system-prompt-change
    class: normal
  - pattern: "config/litellm*.yaml"
    component: llm-shuffle
    category: model-provider-switch
    class: normal
  - pattern: "infra/**"
    component: infrastructure
    category: infrastructure-change
    class: normal
  - pattern: "**/tls/**"
    flags: [security_impacting]
    class: normal
  - pattern: "**/*.pem"
    flags: [security_impacting]
    class: normal
  - pattern: "iam/**"
    flags: [security_impacting]
    class: normal
  - pattern: "network/**"
    flags: [security_impacting]
    class: normal
"""


def default_path_rules() -> list[PathRule]:
    """The example rule set shown in the docs (``DEFAULT_PATH_RULES_YAML``)."""
    import yaml  # only here: the CLI's hot path imports this module but never parses YAML

    document = yaml.safe_load(DEFAULT_PATH_RULES_YAML)
    return load_path_rules(document["path_rules"])
