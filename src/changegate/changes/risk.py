"""Risk as the command line gives it: ``--risk DIMENSION=LEVEL`` and ``--risk-note
DIMENSION=TEXT``, merged into a change's risk assessment.

Pure (no database, no third-party import), so the local and the remote backend of the CLI
and ``change from-git`` read risk options with the same words. Whether a level or a dimension
is one the policy knows is checked by the change service.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from changegate.errors import InvalidInput


def parse_pairs(values: Iterable[str] | None, option: str) -> dict[str, str]:
    """``KEY=VALUE`` items of a repeated option, or the error naming the option and the form."""
    out: dict[str, str] = {}
    for item in values or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(
                f"--{option} {item!r}: use DIMENSION=VALUE, e.g. availability=low", field=option
            )
        out[key.strip()] = value.strip()
    return out


def merge_risk(
    levels: dict[str, str], notes: dict[str, str], current: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """``current`` (a change's risk, or None for a new one) with the given levels and notes;
    None when neither was given, so the risk stays as it is. A note needs its dimension's
    level, given now or already on the change."""
    if not levels and not notes:
        return None
    risk = {k: dict(v) for k, v in (current or {}).items()}
    for dim, level in levels.items():
        risk.setdefault(dim, {"level": level, "note": ""})["level"] = level
    for dim, note in notes.items():
        if dim not in risk:
            raise InvalidInput(f"--risk-note {dim}: give --risk {dim}=LEVEL too", field="risk-note")
        risk[dim]["note"] = note
    return risk


def risk_options(
    levels: Iterable[str] | None, notes: Iterable[str] | None
) -> tuple[dict[str, str], dict[str, str]]:
    """Both risk options read, levels first (as the command line is checked)."""
    return parse_pairs(levels, "risk"), parse_pairs(notes, "risk-note")
