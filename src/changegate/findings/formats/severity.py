"""Severity normalisation, in one place for every format.

A scanner's word (Trivy ``HIGH``, Grype ``Negligible``, GitHub ``moderate``, CycloneDX
``info``) or a CVSS score becomes critical/high/medium/low. Anything that cannot be read is
"high": an unknown severity is treated as the stricter one, never dropped (fail closed).

The score bands are CVSS v3.x's qualitative rating scale (FIRST, CVSS v3.1 specification
§5: None 0.0, Low 0.1-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0), which GitHub
also documents for SARIF's ``security-severity``; they are part of the standard, not a
choice of the company (its choices, the SLA days per severity, are in the policy file).
"""

from __future__ import annotations

import math

from changegate.findings.parsed import Severity

UNKNOWN: Severity = "high"

_WORDS: dict[str, Severity] = {
    "critical": "critical",
    "high": "high",
    "important": "high",  # Red Hat
    "error": "high",  # SARIF level
    "medium": "medium",
    "moderate": "medium",  # GitHub advisories
    "warning": "medium",  # SARIF level
    "low": "low",
    "negligible": "low",  # Grype, Debian
    "note": "low",  # SARIF level
    "info": "low",  # CycloneDX
    "informational": "low",
    "none": "low",  # CVSS 0.0, SARIF level none, CycloneDX
}

#: CVSS v3.x qualitative bands, highest first: (lowest score of the band, severity)
CVSS_BANDS: tuple[tuple[float, Severity], ...] = (
    (9.0, "critical"),
    (7.0, "high"),
    (4.0, "medium"),
    (0.0, "low"),
)


def from_word(word: str | None) -> Severity:
    """A severity word, any case; unknown, blank or missing -> "high"."""
    if not word:
        return UNKNOWN
    return _WORDS.get(word.strip().lower(), UNKNOWN)


def known_word(word: str | None) -> bool:
    return word is not None and word.strip().lower() in _WORDS


def from_score(score: float) -> Severity:
    """A CVSS base score 0.0-10.0; outside that range (or NaN) -> "high"."""
    if math.isnan(score) or not 0.0 <= score <= 10.0:
        return UNKNOWN
    for floor, severity in CVSS_BANDS:
        if score >= floor:
            return severity
    return UNKNOWN  # pragma: no cover - the last band starts at 0.0


def parse_score(text: str) -> float | None:
    """A score written as text (``"7.5"``), or ``None`` when it is not a finite number."""
    try:
        score = float(text)
    except ValueError:
        return None
    return score if math.isfinite(score) else None


def rank(severity: Severity) -> int:
    """Higher is more severe: to pick the worst of several ratings."""
    return ("low", "medium", "high", "critical").index(severity)


def format_score(score: float) -> str:
    """The source's score as text for ``source_severity`` (``7.5``, ``10``)."""
    return f"{score:g}"
