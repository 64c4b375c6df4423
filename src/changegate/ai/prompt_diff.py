"""Classify changes to system prompt and context-injection templates.

Every change is a ``system-prompt-change`` (Persona Engine, CTO sign-off). The findings
add what a reviewer wants to see first: lines added and removed, template placeholders
that appeared or disappeared (new context injected into the prompt), and removed lines
that read like guard instructions ("never reveal ...", "only use documents of ..."),
which make the change security impacting.
"""

from __future__ import annotations

import difflib
import re

from changegate.ai.categories import AiCategory, AiComponent
from changegate.ai.classification import AiChangeClassification, Finding, FindingLog

_PLACEHOLDER = re.compile(
    r"\{\{\s*([A-Za-z_][\w.]*)[^}]*\}\}"  # {{ jinja }}
    r"|\{%-?\s*(?:include|import)\s+['\"]([^'\"]+)"  # {% include 'x' %}
    r"|(?<![{$])\{([A-Za-z_]\w*)\}(?!\})"  # {python_format}
    r"|\$\{([A-Za-z_]\w*)\}"  # ${shell_style}
)
_GUARD = re.compile(
    r"\b(never|do not|don't|must not|mustn't|refuse|decline|only (?:use|answer|respond)|"
    r"confidential|secret|reveal|disclose|tenant|other customers?|ignore (?:any|all)|"
    r"instructions? (?:in|from) (?:the )?(?:documents?|context)|safety|harmful|pii)\b",
    re.I,
)


def placeholders(text: str) -> set[str]:
    """Template variables referenced by ``text`` (Jinja, ``str.format`` and ``${x}``)."""
    out: set[str] = set()
    for m in _PLACEHOLDER.finditer(text):
        out.add(next(g for g in m.groups() if g))
    return out


def classify_prompt_change(
    old_text: str | None, new_text: str | None, *, path: str
) -> AiChangeClassification:
    findings: list[Finding] = []
    add = FindingLog(
        findings, AiComponent.PERSONA_ENGINE, AiCategory.SYSTEM_PROMPT_CHANGE, path
    ).add

    if old_text is None or new_text is None:
        present = new_text if old_text is None else old_text
        what = "added" if old_text is None else "removed"
        lines = len((present or "").splitlines())
        add(f"prompt template {what} ({lines} lines)", security=new_text is None)
        if old_text is None and present:
            vars_ = sorted(placeholders(present))
            if vars_:
                add(f"injects context through placeholders: {', '.join(vars_)}")
        return AiChangeClassification.from_findings(findings, paths=(path,))

    old_lines, new_lines = old_text.splitlines(), new_text.splitlines()
    removed: list[str] = []
    added: list[str] = []
    for line in difflib.unified_diff(old_lines, new_lines, lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        if line.startswith("-"):
            removed.append(line[1:])
        elif line.startswith("+"):
            added.append(line[1:])
    if not added and not removed:
        add("prompt template changed (whitespace or line endings only)")
        return AiChangeClassification.from_findings(findings, paths=(path,))
    add(f"prompt template changed: +{len(added)} / -{len(removed)} lines")

    old_vars, new_vars = placeholders(old_text), placeholders(new_text)
    if new_vars - old_vars:
        add(
            "new placeholders inject context into the prompt: "
            + ", ".join(sorted(new_vars - old_vars))
        )
    if old_vars - new_vars:
        add("placeholders removed: " + ", ".join(sorted(old_vars - new_vars)))

    added_set = {a.strip() for a in added}
    for line in removed:
        stripped = line.strip()
        if stripped and stripped not in added_set and _GUARD.search(stripped):
            add(
                f"guard instruction removed or reworded: {stripped[:160]!r}; "
                "assess prompt-injection and data-leakage risk",
                security=True,
            )
    return AiChangeClassification.from_findings(findings, paths=(path,))
