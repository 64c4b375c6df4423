"""Classification of a change from the files it touches.

Path rules are data: they live in the company's policy YAML under ``path_rules:``. Each rule
maps a glob (see ``changegate.policy.glob`` for the exact semantics) to any of a component, a
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
the highest class any matching rule names (``changegate.scm.classify`` matches changed paths
against the rules); a person may raise a change's class above it but never lower it
(``changegate.changes.floor.effective_class``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from changegate.policy.errors import PathRuleError
from changegate.policy.glob import compile_glob
from changegate.policy.methods import PathRuleMethods

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
