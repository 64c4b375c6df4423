"""What a scanner file says about one finding, normalised; the parsers in :mod:`.formats`
produce it and the import service (:mod:`.service`) stores it. Pure data, no database."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

Severity = Literal["critical", "high", "medium", "low"]
#: the formats `changegate findings import --format` accepts
FORMATS = ("sarif", "trivy", "grype", "osv", "dependabot", "cyclonedx-vex")


@dataclass(frozen=True, slots=True)
class ParsedFinding:
    """One finding as the file states it.

    ``severity`` is normalised (an unknown or missing severity is the stricter "high", never
    skipped); ``source_severity`` keeps the tool's own word or score. ``vex_state`` is a
    CycloneDX ``analysis.state`` (or the equivalent statement of another format) when the file
    makes one.
    """

    source_format: str  # one of FORMATS
    tool: str  # the scanner's name as the file gives it (e.g. "Trivy", "CodeQL", "grype")
    rule_id: str  # the vulnerability id (CVE-..., GHSA-...) or the SAST rule id
    aliases: tuple[str, ...]
    title: str
    severity: Severity
    source_severity: str
    cvss: float | None
    component: str  # package name, or "" for a finding in source code
    purl: str | None
    location: str  # file[:line], image/target, or manifest path
    installed_version: str | None
    fixed_version: str | None
    vex_state: str | None = None

    @property
    def fingerprint(self) -> str:
        """De-duplication key: the same tool, rule, component and location is the same finding."""
        parts = (self.tool.lower(), self.rule_id, self.component, self.location)
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
