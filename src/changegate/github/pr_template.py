"""The pull request body template, parsed into plain change fields.

The template (``integrations/github/pull_request_template.md``) has the sections
Description, Class, Risk (Availability, Security, Data impact: a level each, plus notes),
Rollback plan, and Justification for emergencies. ``parse_pr_body`` never raises on what a
person wrote: a section that is missing or left empty is listed in ``missing`` (a stable
key such as ``risk.security``) and explained in ``problems``, so the change shows it as an
unmet requirement.

What the parser accepts, so that hand-written bodies work too:

- headings of any level (``#`` to ``######``); matching is case-insensitive and by the
  first word(s): "Rollback", "Rollback plan" and "Rollback plan:" all work; a heading the
  parser does not know, nested under a known one, is part of that section;
- ticked task-list boxes (``- [x] normal``), or a plain line naming the value
  (``normal``, ``Class: normal``, ``Level: high``); without a Class section, a
  ``Class: normal`` line anywhere in the body;
- risk written inline in the Risk section: ``Availability: low - notes`` lines, or a
  table with rows ``| Availability | low | notes |``;
- HTML comments (the template's instructions) are ignored, and nothing inside fenced code
  blocks is taken for a heading.

Notes are required for a medium or high risk, optional for low. The justification is
required only for emergency changes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

DEFAULT_CLASSES: tuple[str, ...] = ("standard", "normal", "emergency")
RISK_LEVELS: tuple[str, ...] = ("low", "medium", "high")
RISK_DIMENSIONS: dict[str, str] = {
    "availability": "Availability",
    "security": "Security",
    "data_impact": "Data impact",
}

_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
_HEADING = re.compile(r"\A {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*#*[ \t]*\Z")
_FENCE = re.compile(r"\A {0,3}(```|~~~)")
_CHECKBOX = re.compile(r"\A\s*[-*+]\s+\[([ xX])\]\s*(.*)\Z")
_WORD = re.compile(r"[a-z_]+")
_INLINE_RISK = re.compile(
    r"\A\s*(?:[-*+]\s+)?[*_]*(availability|security|data(?:[ _]impact)?)[*_]*\s*"
    r"(?:risk\s*)?[:=\-–—]\s*[*_]*(low|medium|high)\b[*_]*[\s:\-–—,.;]*(.*)\Z",
    re.IGNORECASE,
)
_NOTES_LABEL = re.compile(r"\A\s*(?:[-*+]\s+)?[*_]*notes?[*_]*\s*:[*_]*\s*", re.IGNORECASE)
_LEVEL_LABEL = re.compile(r"\A\s*(?:[-*+]\s+)?[*_]*(?:level|risk)[*_]*\s*:[*_]*\s*", re.IGNORECASE)
_CLASS_LABEL = re.compile(
    r"\A\s*(?:[-*+]\s+)?[*_]*(?:change\s+)?class[*_]*\s*:[*_]*\s*", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    """One risk dimension: the ticked level (None when none) and the notes (may be '')."""

    level: str | None
    notes: str


@dataclass(frozen=True, slots=True)
class PullRequestBody:
    """The change fields found in a PR body, and what is missing.

    ``missing`` holds stable keys: ``description``, ``class``, ``risk.availability``,
    ``risk.security``, ``risk.data_impact`` (no level), ``risk.<dimension>.notes`` (no
    notes for a medium or high risk), ``rollback_plan``, ``justification`` (emergency
    changes only). ``problems`` has one human-readable sentence per entry of ``missing``,
    plus any ambiguity found (two classes ticked).
    """

    description: str | None
    change_class: str | None
    risk: dict[str, RiskAssessment]
    rollback_plan: str | None
    justification: str | None
    missing: tuple[str, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, object]:
        return {
            "description": self.description,
            "class": self.change_class,
            "risk": {
                key: {"level": value.level, "notes": value.notes}
                for key, value in self.risk.items()
            },
            "rollback_plan": self.rollback_plan,
            "justification": self.justification,
            "missing": list(self.missing),
            "problems": list(self.problems),
        }


@dataclass(slots=True)
class _Section:
    key: str | None  # None: a heading we do not know
    level: int
    lines: list[str] = field(default_factory=list)


def _normalise_title(title: str) -> str:
    return " ".join(re.sub(r"[*_`:]", " ", title).lower().split())


def _section_key(title: str) -> str | None:
    text = _normalise_title(title)
    words = text.split()
    if not words:
        return None
    first = words[0]
    if first in {"description", "summary"}:
        return "description"
    if first in {"class", "classification"} or text.startswith("change class"):
        return "class"
    if first == "risk":
        # "Risk", "Risk assessment", "Risk: availability / security / data impact" open the
        # risk section; "Risk: security" alone is that dimension's subsection.
        named = [w for w in ("availability", "security", "data") if w in words[1:]]
        return (
            f"risk.{'data_impact' if named[0] == 'data' else named[0]}"
            if len(named) == 1
            else "risk"
        )
    if first.startswith("rollback"):
        return "rollback_plan"
    if first == "justification" or text.startswith("emergency justification"):
        return "justification"
    if first == "availability":
        return "risk.availability"
    if first == "security":
        return "risk.security"
    if first == "data":
        return "risk.data_impact"
    return None


def _split_sections(body: str) -> dict[str, list[str]]:
    """Lines of each known section; unknown headings nested in a known one belong to it."""
    text = _COMMENT.sub("", body.replace("\r\n", "\n").replace("\r", "\n"))
    sections: dict[str, list[str]] = {"": []}  # "": every line outside code blocks
    current: _Section | None = None
    in_fence: str | None = None
    for line in text.split("\n"):
        fence = _FENCE.match(line)
        if fence is not None:
            marker = fence.group(1)
            if in_fence is None:
                in_fence = marker
            elif marker == in_fence:
                in_fence = None
        outside_code = in_fence is None and fence is None
        if outside_code:
            sections[""].append(line)
        heading = _HEADING.match(line) if outside_code else None
        if heading is not None:
            level = len(heading.group(1))
            key = _section_key(heading.group(2) or "")
            nested_unknown = (
                key is None and current is not None and current.key and level > current.level
            )
            if not nested_unknown:
                current = _Section(key=key, level=level)
                if key is not None:
                    sections.setdefault(key, [])
                continue
        if current is not None and current.key is not None:
            sections[current.key].append(line)
    return sections


def _clean_text(lines: Sequence[str]) -> str | None:
    text = "\n".join(lines).strip()
    return text or None


def _first_word(text: str) -> str:
    match = _WORD.search(text.lower())
    return match.group(0) if match else ""


def _pick(lines: Sequence[str], choices: Sequence[str], label: re.Pattern[str]) -> list[str]:
    """The values among ``choices`` that ``lines`` select: ticked boxes if any box is
    ticked, else plain lines (``normal``, ``Class: normal``)."""
    ticked: list[str] = []
    plain: list[str] = []
    for line in lines:
        box = _CHECKBOX.match(line)
        if box is not None:
            if box.group(1) in "xX":
                word = _first_word(box.group(2))
                if word in choices:
                    ticked.append(word)
            continue
        stripped = label.sub("", line).strip()
        if not stripped:
            continue
        word = _first_word(stripped)
        if word in choices and len(stripped.split()) <= 3:
            plain.append(word)
    chosen = ticked or plain
    return list(dict.fromkeys(chosen))


def _risk_from_lines(lines: Sequence[str]) -> RiskAssessment:
    levels = _pick(lines, RISK_LEVELS, _LEVEL_LABEL)
    notes: list[str] = []
    for line in lines:
        if _CHECKBOX.match(line):
            continue
        stripped = _LEVEL_LABEL.sub("", line).strip()
        if _LEVEL_LABEL.match(line) and _first_word(stripped) in RISK_LEVELS:
            continue
        if stripped.lower() in RISK_LEVELS:
            continue
        stripped = _NOTES_LABEL.sub("", line).strip()
        if stripped:
            notes.append(stripped)
    # Two levels ticked: take the higher one; over-stating a risk is the safe reading.
    level = max(levels, key=RISK_LEVELS.index) if levels else None
    return RiskAssessment(level=level, notes="\n".join(notes))


def _inline_risks(lines: Sequence[str]) -> dict[str, RiskAssessment]:
    found: dict[str, RiskAssessment] = {}
    for line in lines:
        dimension = level = notes = None
        match = _INLINE_RISK.match(line)
        if match is not None:
            dimension, level, notes = match.group(1), match.group(2), match.group(3)
        elif line.strip().startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if len(cells) >= 2 and cells[1].lower().strip("*_ ") in RISK_LEVELS:
                dimension, level = cells[0].strip("*_ "), cells[1].strip("*_ ")
                notes = cells[2] if len(cells) > 2 else ""
        if dimension is None or level is None:
            continue
        key = _section_key(dimension)
        if key is not None and key.startswith("risk."):
            found[key.removeprefix("risk.")] = RiskAssessment(
                level=level.lower(), notes=(notes or "").strip()
            )
    return found


def parse_pr_body(body: str | None, *, classes: Sequence[str] = DEFAULT_CLASSES) -> PullRequestBody:
    """Parse a pull request body written from the template (or by hand).

    ``classes`` are the policy's change classes (lowest first). Never raises for content:
    what cannot be found is reported in ``missing`` and ``problems``.
    """
    sections = _split_sections(body or "")
    missing: list[str] = []
    problems: list[str] = []

    def absent(key: str, title: str, what: str) -> None:
        missing.append(key)
        state = "empty" if key in sections else "section missing"
        problems.append(f"{title}: {state}; {what}")

    description = _clean_text(sections.get("description", []))
    if description is None:
        absent("description", "Description", "say what changes and why")

    change_class: str | None = None
    if "class" in sections:
        chosen = _pick(sections["class"], classes, _CLASS_LABEL)
    else:  # no Class section: accept a "Class: normal" line anywhere
        labelled = [line for line in sections[""] if _CLASS_LABEL.match(line)]
        chosen = _pick(labelled, classes, _CLASS_LABEL)
    if len(chosen) == 1:
        change_class = chosen[0]
    elif len(chosen) > 1:
        missing.append("class")
        problems.append(f"Class: more than one ticked ({', '.join(chosen)}); tick exactly one")
    else:
        absent("class", "Class", f"tick exactly one of {', '.join(classes)}")

    inline = _inline_risks(sections.get("risk", []))
    risk: dict[str, RiskAssessment] = {}
    for key, title in RISK_DIMENSIONS.items():
        lines = sections.get(f"risk.{key}")
        assessment = _risk_from_lines(lines) if lines is not None else None
        if (assessment is None or assessment.level is None) and key in inline:
            assessment = inline[key]
        if assessment is None:
            assessment = RiskAssessment(level=None, notes="")
        risk[key] = assessment
        if assessment.level is None:
            missing.append(f"risk.{key}")
            where = "section missing" if lines is None and key not in inline else "no level"
            problems.append(f"Risk, {title}: {where}; tick one of low, medium, high")
        elif assessment.level != "low" and not assessment.notes:
            missing.append(f"risk.{key}.notes")
            problems.append(
                f"Risk, {title}: notes are required for a {assessment.level} risk; "
                "say what could go wrong and how it is mitigated"
            )

    rollback_plan = _clean_text(sections.get("rollback_plan", []))
    if rollback_plan is None:
        absent("rollback_plan", "Rollback plan", "say how to undo this change")

    justification = _clean_text(sections.get("justification", []))
    if justification is None and change_class == "emergency":
        absent(
            "justification",
            "Justification for emergencies",
            "an emergency change must say which incident it fixes and why it cannot wait",
        )

    return PullRequestBody(
        description=description,
        change_class=change_class,
        risk=risk,
        rollback_plan=rollback_plan,
        justification=justification,
        missing=tuple(missing),
        problems=tuple(problems),
    )
