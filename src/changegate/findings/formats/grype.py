"""Grype JSON (``grype ... -o json``): one finding per ``matches[]`` entry.

The vulnerability's ``id`` (a CVE, GHSA, ...) is the rule; ``relatedVulnerabilities`` ids
(the NVD CVE behind a GHSA or a distro advisory) are its aliases. Severity: Grype's word
(Negligible -> low, Unknown -> high). CVSS: the newest CVSS version's base score of the
vulnerability, else of a related record. Component: the matched ``artifact`` (name, version,
purl); location: its first location path. Fixed version: ``fix.versions`` (Grype >= 0.3x)
or the older ``fixedInVersion``. Ignored matches (``ignoredMatches``) are not findings.
"""

from __future__ import annotations

from typing import Any

from changegate.findings.formats import reader as r
from changegate.findings.formats import severity as sev
from changegate.findings.parsed import ParsedFinding


def _version(text: str | None) -> tuple[int, ...]:
    parts = []
    for part in (text or "").split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def _cvss(record: dict[str, Any], path: str) -> float | None:
    best: tuple[tuple[int, ...], float] | None = None
    for i, entry in enumerate(r.opt_array(record, "cvss", path)):
        p = f"{path}.cvss[{i}]"
        entry = r.as_object(entry, p)
        score = r.opt_number(r.opt_object(entry, "metrics", p), "baseScore", f"{p}.metrics")
        if score is None or not 0.0 < score <= 10.0:
            continue
        version = _version(r.opt_string(entry, "version", p))
        if best is None or version > best[0]:
            best = (version, score)
    return best[1] if best else None


def _fixed(vuln: dict[str, Any], path: str) -> str | None:
    fix = r.opt_object(vuln, "fix", path)
    versions = r.strings(fix, "versions", f"{path}.fix")
    if versions:
        return ", ".join(versions)
    return r.opt_string(vuln, "fixedInVersion", path) or None


def _match(match: dict[str, Any], path: str, tool: str) -> ParsedFinding:
    vp = f"{path}.vulnerability"
    vuln = r.as_object(r.field(match, "vulnerability", path), vp)
    vid = r.string(vuln, "id", vp)
    related = []
    for i, item in enumerate(r.opt_array(match, "relatedVulnerabilities", path)):
        p = f"{path}.relatedVulnerabilities[{i}]"
        item = r.as_object(item, p)
        related.append((r.string(item, "id", p), item, p))
    ap = f"{path}.artifact"
    artifact = r.as_object(r.field(match, "artifact", path), ap)
    locations = r.opt_array(artifact, "locations", ap)
    location = ""
    if locations:
        first = r.as_object(locations[0], f"{ap}.locations[0]")
        location = r.opt_string(first, "path", f"{ap}.locations[0]") or ""
    cvss = _cvss(vuln, vp)
    for _, item, p in related:
        cvss = cvss if cvss is not None else _cvss(item, p)
    description = r.opt_string(vuln, "description", vp)
    for _, item, p in related:
        description = description or r.opt_string(item, "description", p)
    word = r.opt_string(vuln, "severity", vp)
    return ParsedFinding(
        source_format="grype",
        tool=tool,
        rule_id=vid,
        aliases=r.unique([rid for rid, _, _ in related], vid),
        title=r.first_line(description) or vid,
        severity=sev.from_word(word),
        source_severity=word or "",
        cvss=cvss,
        component=r.string(artifact, "name", ap),
        purl=r.opt_string(artifact, "purl", ap) or None,
        location=location,
        installed_version=r.opt_string(artifact, "version", ap) or None,
        fixed_version=_fixed(vuln, vp),
    )


def parse(doc: Any) -> list[ParsedFinding]:
    report = r.as_object(doc, "$")
    matches = r.as_array(r.field(report, "matches", "$"), "$.matches")
    descriptor = r.opt_object(report, "descriptor", "$")
    tool = r.opt_string(descriptor, "name", "$.descriptor") or "grype"
    findings = []
    for i, match in enumerate(matches):
        path = f"$.matches[{i}]"
        findings.append(_match(r.as_object(match, path), path, tool))
    return findings
