"""The change form: what the user typed, turned into service input, and errors per field.

Whatever the user typed is kept as typed (``FormValues``) so a refused form comes back with
everything in it and each error next to its field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from changegate.changes.models import Change
from changegate.errors import ChangegateError
from changegate.policy.schema import Policy

#: names in service and schema errors -> form field names
FIELD_ALIASES = {
    "class": "change_class",
    "change_class": "change_class",
    "category": "category",
    "component": "components",
    "components": "components",
    "provider": "providers",
    "providers": "providers",
    "ai-component": "ai_component",
    "ai_component": "ai_component",
    "risk": "risk",
    "risk-note": "risk",
    "rollback": "rollback_plan",
    "rollback_plan": "rollback_plan",
    "link": "links",
    "links": "links",
    "commit": "commits",
    "commits": "commits",
    "title": "title",
    "description": "description",
    "justification": "justification",
}


@dataclass
class FormValues:
    title: str = ""
    change_class: str = "normal"
    category: str = ""
    components: list[str] = field(default_factory=list)
    providers: str = ""
    ai_component: str = ""
    risk: dict[str, str] = field(default_factory=dict)
    risk_notes: dict[str, str] = field(default_factory=dict)
    rollback_plan: str = ""
    description: str = ""
    justification: str = ""
    links: str = ""
    commits: str = ""
    security_flag: bool = False

    @classmethod
    def from_change(cls, change: Change) -> FormValues:
        return cls(
            title=change.title,
            change_class=change.change_class,
            category=change.category or "",
            components=list(change.components),
            providers=", ".join(change.providers),
            ai_component=change.ai_component or "",
            risk={d: v.get("level", "") for d, v in (change.risk or {}).items()},
            risk_notes={d: v.get("note", "") for d, v in (change.risk or {}).items()},
            rollback_plan=change.rollback_plan,
            description=change.description,
            justification=change.justification,
            links="\n".join(change.links),
            commits=" ".join(change.commits),
            security_flag=change.security_flag,
        )

    @classmethod
    def from_form(cls, policy: Policy, form: dict[str, Any]) -> FormValues:
        def text(name: str) -> str:
            value = form.get(name, "")
            return value if isinstance(value, str) else ""

        comps = form.get("components") or []
        return cls(
            title=text("title"),
            change_class=text("change_class"),
            category=text("category"),
            components=[c for c in comps if isinstance(c, str)],
            providers=text("providers"),
            ai_component=text("ai_component"),
            risk={d: text(f"risk_{d}") for d in policy.risk.dimensions},
            risk_notes={d: text(f"risk_note_{d}") for d in policy.risk.dimensions},
            rollback_plan=text("rollback_plan"),
            description=text("description"),
            justification=text("justification"),
            links=text("links"),
            commits=text("commits"),
            security_flag=text("security_flag") in ("on", "true", "1"),
        )

    def fields(self, policy: Policy) -> dict[str, Any]:
        """Service input; empty text means "not given" so the policy can say what is missing."""
        risk = {
            d: {"level": self.risk.get(d, ""), "note": self.risk_notes.get(d, "").strip()}
            for d in policy.risk.dimensions
            if self.risk.get(d)
        }
        out: dict[str, Any] = {
            "title": self.title.strip(),
            "change_class": self.change_class.strip(),
            "category": self.category.strip() or None,
            "components": self.components,
            "providers": [p.strip() for p in re.split(r"[,\n]", self.providers) if p.strip()],
            "ai_component": self.ai_component.strip() or None,
            "risk": risk,
            "rollback_plan": self.rollback_plan.strip(),
            "description": self.description.strip(),
            "justification": self.justification.strip(),
            "links": [x.strip() for x in self.links.splitlines() if x.strip()],
            "commits": [c for c in re.split(r"[\s,]+", self.commits) if c],
            "security_flag": self.security_flag,
        }
        return out


def errors_from(exc: Exception) -> dict[str, list[str]]:
    """Errors per form field from a domain error or a Pydantic validation error."""
    errors: dict[str, list[str]] = {}
    if isinstance(exc, ValidationError):
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            name = FIELD_ALIASES.get(loc[0], "_form") if loc else "_form"
            errors.setdefault(name, []).append(str(err["msg"]).removeprefix("Value error, "))
        return errors
    if isinstance(exc, ChangegateError):
        parts = re.split(r";\s+(?=--[a-z-]+:)", exc.message)
        for part in parts:
            m = re.match(r"^--([a-z-]+):\s*(.*)$", part, re.S)
            if m and m.group(1) in FIELD_ALIASES:
                errors.setdefault(FIELD_ALIASES[m.group(1)], []).append(m.group(2))
            else:
                name = FIELD_ALIASES.get(exc.field or "", "_form")
                errors.setdefault(name, []).append(part)
        return errors
    return {"_form": [str(exc)]}


def missing_errors(missing: list[str]) -> dict[str, list[str]]:
    """`changes.service.missing_fields` output -> errors next to each missing field."""
    errors: dict[str, list[str]] = {}
    for item in missing:
        name = item.split(" ")[0]
        key = FIELD_ALIASES.get(name, name)
        detail = item[len(name) :].strip(" ()")
        msg = "required by the policy before submitting" + (f" ({detail})" if detail else "")
        errors.setdefault(key, []).append(msg)
    return errors
