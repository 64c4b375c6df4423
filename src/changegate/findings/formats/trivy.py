"""Trivy JSON (``trivy ... --format json``): SchemaVersion 2, and the pre-0.20 list of targets.

Every result's (``Results[]``, one per target) vulnerabilities, failed misconfigurations
(``Status`` "FAIL"; passes and exceptions are not findings) and secrets. Location: the
result's ``Target`` (``Target > PkgPath`` when a package names its path inside the target, so
two copies of a library in one image stay two findings; ``Target:line`` for a secret or a
misconfiguration with a line). CVSS: the score of the vulnerability's ``SeveritySource``,
else NVD's, else the first vendor's, newest CVSS version first. A vulnerability Trivy marks
``not_affected`` carries that as its VEX state; Trivy's other statuses ("fixed" = a fix exists)
say nothing about this deployment.
"""

from __future__ import annotations

from typing import Any

from changegate.findings.formats import reader as r
from changegate.findings.formats import severity as sev
from changegate.findings.parsed import ParsedFinding

_SCORES = ("V40Score", "V3Score", "V2Score")


def _cvss(v: dict[str, Any], source: str | None, path: str) -> float | None:
    by_vendor = r.opt_object(v, "CVSS", path)
    if not by_vendor:
        return None
    for name in (source or "nvd", "nvd", *by_vendor):
        entry = by_vendor.get(name)
        if entry is None:
            continue
        if type(entry) is not dict:
            r.fail(r.key_path(f"{path}.CVSS", name), "an object", entry)
        for key in _SCORES:
            score = entry.get(key)
            if score is None:
                continue
            if type(score) is not int and type(score) is not float:
                r.fail(r.key_path(r.key_path(f"{path}.CVSS", name), key), "a number", score)
            if 0.0 < score <= 10.0:
                return float(score)
    return None


def _finding(
    rule: tuple[str, str, str | None],
    location: str,
    *,
    aliases: tuple[str, ...] = (),
    cvss: float | None = None,
    component: str = "",
    purl: str | None = None,
    installed_version: str | None = None,
    fixed_version: str | None = None,
    vex_state: str | None = None,
) -> ParsedFinding:
    """rule: (id, title, Trivy's severity word); the rest as the finding's fields."""
    rule_id, title, word = rule
    return ParsedFinding(
        source_format="trivy",
        tool="Trivy",
        rule_id=rule_id,
        aliases=aliases,
        title=r.first_line(title),
        severity=sev.from_word(word),
        source_severity=word or "",
        cvss=cvss,
        component=component,
        purl=purl,
        location=location,
        installed_version=installed_version,
        fixed_version=fixed_version,
        vex_state=vex_state,
    )


def _vulnerability(v: dict[str, Any], path: str, target: str) -> ParsedFinding:
    vid = r.string(v, "VulnerabilityID", path)
    word = r.opt_string(v, "Severity", path)
    purl = r.opt_string(r.opt_object(v, "PkgIdentifier", path), "PURL", f"{path}.PkgIdentifier")
    pkg_path = r.opt_string(v, "PkgPath", path)
    title = r.opt_string(v, "Title", path) or r.opt_string(v, "Description", path) or vid
    return _finding(
        (vid, title, word),
        f"{target} > {pkg_path}" if pkg_path else target,
        aliases=r.unique(r.strings(v, "VendorIDs", path), vid),
        cvss=_cvss(v, r.opt_string(v, "SeveritySource", path), path),
        component=r.opt_string(v, "PkgName", path) or "",
        purl=purl or None,
        installed_version=r.opt_string(v, "InstalledVersion", path) or None,
        fixed_version=r.opt_string(v, "FixedVersion", path) or None,
        vex_state="not_affected" if v.get("Status") == "not_affected" else None,
    )


def _line(d: dict[str, Any], path: str) -> int | None:
    value = d.get("StartLine")
    if value is None:
        return None
    if type(value) is not int:
        r.fail(f"{path}.StartLine", "an integer", value)
    return value if value > 0 else None


def _check(kind: str, d: dict[str, Any], path: str, target: str) -> ParsedFinding:
    """A misconfiguration or a secret: a rule that failed at a place in the target."""
    if kind == "Secrets":
        rule_id = r.string(d, "RuleID", path)
        line = _line(d, path)
    else:
        rule_id = r.opt_string(d, "ID", path) or r.string(d, "AVDID", path)
        line = _line(r.opt_object(d, "CauseMetadata", path), f"{path}.CauseMetadata")
    word = r.opt_string(d, "Severity", path)
    title = r.opt_string(d, "Title", path) or r.opt_string(d, "Message", path) or rule_id
    return _finding((rule_id, title, word), f"{target}:{line}" if line else target)


def _result(result: dict[str, Any], path: str, out: list[ParsedFinding]) -> None:
    target = r.string(result, "Target", path)
    vulns = r.opt_array(result, "Vulnerabilities", path)
    for i, v in enumerate(vulns):
        p = f"{path}.Vulnerabilities[{i}]"
        out.append(_vulnerability(r.as_object(v, p), p, target))
    for kind in ("Misconfigurations", "Secrets"):
        for i, item in enumerate(r.opt_array(result, kind, path)):
            p = f"{path}.{kind}[{i}]"
            item = r.as_object(item, p)
            if kind == "Misconfigurations" and item.get("Status", "FAIL") != "FAIL":
                continue
            out.append(_check(kind, item, p, target))


def parse(doc: Any) -> list[ParsedFinding]:
    if type(doc) is list:  # Trivy before 0.20: the results themselves
        results, base = doc, "$"
    else:
        report = r.as_object(doc, "$")
        r.constant(report, "SchemaVersion", "$", 2, "Trivy JSON")
        results, base = r.opt_array(report, "Results", "$"), "$.Results"
    findings: list[ParsedFinding] = []
    for i, result in enumerate(results):
        path = f"{base}[{i}]"
        _result(r.as_object(result, path), path, findings)
    return findings
