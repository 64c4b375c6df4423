"""SARIF 2.1.0 (OASIS): one finding per result of every run.

- Rule: the result's ``ruleIndex`` / ``rule.index`` into the driver's rules (or, with
  ``rule.toolComponent``, an extension's), else its ``ruleId`` (or ``rule.id``) looked up in
  the driver's rules and then the extensions'. A result that names no rule (Gitleaks 7) has
  the rule id "".
- Severity: the rule's ``properties["security-severity"]`` (GitHub code scanning: a score
  "0.0"-"10.0", read with the CVSS bands; some tools, e.g. Semgrep, write a word); else the
  result's ``level``, else the rule's ``defaultConfiguration.level``, else "warning" (SARIF
  §3.27.10); error -> high, warning -> medium, note and none -> low.
- Results that are not findings are skipped: ``kind`` "pass" or "notApplicable", and
  ``baselineState`` "absent" (present only in the baseline). A run without ``results`` did
  not report an outcome and is refused rather than read as "nothing found".
- Location: the first physical location's artifact URI (or the run's artifact it indexes),
  with ``:startLine``. Tool: ``tool.driver.name``.
"""

from __future__ import annotations

from typing import Any

from changegate.findings.formats import reader as r
from changegate.findings.formats import severity as sev
from changegate.findings.parsed import ParsedFinding, Severity

_LEVELS: dict[str, Severity] = {"error": "high", "warning": "medium", "note": "low", "none": "low"}
_NOT_FINDINGS = frozenset({"pass", "notApplicable"})
_Rule = tuple[dict[str, Any], str]  # a rule and its JSON path
_NO_RULE: _Rule = ({}, "$")


class _Run:
    """The rules of one run (driver and extensions) and its artifacts, for lookups."""

    def __init__(self, run: dict[str, Any], path: str) -> None:
        tool = r.as_object(r.field(run, "tool", path), f"{path}.tool")
        driver = r.as_object(r.field(tool, "driver", f"{path}.tool"), f"{path}.tool.driver")
        self.name = r.string(driver, "name", f"{path}.tool.driver")
        self.path = path
        self.components = [(f"{path}.tool.driver", driver)]
        for i, ext in enumerate(r.opt_array(tool, "extensions", f"{path}.tool")):
            p = f"{path}.tool.extensions[{i}]"
            self.components.append((p, r.as_object(ext, p)))
        self.rules = [self._rules(p, c) for p, c in self.components]
        self.by_id: dict[str, _Rule] = {}
        for rules in self.rules:
            for rule in rules:
                rule_id = rule[0].get("id")
                if type(rule_id) is str:
                    self.by_id.setdefault(rule_id, rule)
        self.artifacts = r.opt_array(run, "artifacts", path)

    @staticmethod
    def _rules(path: str, component: dict[str, Any]) -> list[_Rule]:
        rules = r.opt_array(component, "rules", path)
        paths = (f"{path}.rules[{i}]" for i in range(len(rules)))
        return [(r.as_object(rule, p), p) for rule, p in zip(rules, paths, strict=True)]

    def rule(self, result: dict[str, Any], path: str) -> _Rule:
        """The reportingDescriptor a result refers to (and its path), or ``({}, "")``."""
        ref = r.opt_object(result, "rule", path)
        index = _index(result, "ruleIndex", path)
        if index is None:
            index = _index(ref, "index", f"{path}.rule")
        component = 0
        tool_ref = r.opt_object(ref, "toolComponent", f"{path}.rule")
        if tool_ref:
            component = self._component(tool_ref, f"{path}.rule.toolComponent")
        rules = self.rules[component] if component < len(self.rules) else []
        if index is not None and index < len(rules):
            return rules[index]
        rule_id = r.opt_string(result, "ruleId", path) or r.opt_string(ref, "id", f"{path}.rule")
        return self.by_id.get(rule_id, _NO_RULE) if rule_id else _NO_RULE

    def _component(self, ref: dict[str, Any], path: str) -> int:
        index = _index(ref, "index", path)
        if index is not None:
            return index + 1  # extensions follow the driver
        name = r.opt_string(ref, "name", path)
        for i, (_, component) in enumerate(self.components):
            if i and component.get("name") == name:
                return i
        return len(self.components)

    def location(self, result: dict[str, Any], path: str) -> str:
        locations = r.opt_array(result, "locations", path)
        if not locations:
            return ""
        first = r.as_object(locations[0], f"{path}.locations[0]")
        physical = r.opt_object(first, "physicalLocation", f"{path}.locations[0]")
        p = f"{path}.locations[0].physicalLocation"
        artifact = r.opt_object(physical, "artifactLocation", p)
        uri = r.opt_string(artifact, "uri", f"{p}.artifactLocation")
        index = _index(artifact, "index", f"{p}.artifactLocation")
        if uri is None and index is not None and index < len(self.artifacts):
            a = f"{self.path}.artifacts[{index}]"
            entry = r.as_object(self.artifacts[index], a)
            uri = r.opt_string(r.opt_object(entry, "location", a), "uri", f"{a}.location")
        line = _index(r.opt_object(physical, "region", p), "startLine", f"{p}.region")
        if not uri:
            return ""
        return f"{uri}:{line}" if line is not None else uri


def _index(d: dict[str, Any], key: str, path: str) -> int | None:
    value = d.get(key)
    if value is None:
        return None
    if type(value) is not int or value < 0:
        r.fail(r.key_path(path, key), "a non-negative integer", value)
    return value


def _text(d: dict[str, Any], key: str, path: str) -> str | None:
    """``d[key].text`` of a SARIF message / multiformatMessageString."""
    return r.opt_string(r.opt_object(d, key, path), "text", r.key_path(path, key))


def _severity(rule: _Rule, level: str | None) -> tuple[Severity, str, float | None]:
    """(severity, the source's own value, CVSS) from security-severity, else the level."""
    value = r.opt_object(rule[0], "properties", rule[1]).get("security-severity")
    if type(value) is int or type(value) is float:
        score: float | None = float(value)
        value = sev.format_score(float(value))
    elif type(value) is str:
        score = sev.parse_score(value)
    else:
        score = None
        value = None
    if value is not None:
        if score is not None:
            severity = sev.from_score(score)
            return severity, value, score if 0.0 <= score <= 10.0 else None
        return sev.from_word(value), value, None
    if level is None:
        return "medium", "", None  # SARIF: an absent level is "warning"
    return _LEVELS.get(level, sev.UNKNOWN), level, None


def _result(run: _Run, result: dict[str, Any], path: str) -> ParsedFinding | None:
    kind = r.opt_string(result, "kind", path)
    baseline = r.opt_string(result, "baselineState", path)
    if kind in _NOT_FINDINGS or baseline == "absent":
        return None
    found = run.rule(result, path)
    rule, rule_path = found
    ref = r.opt_object(result, "rule", path)
    rule_id = r.opt_string(result, "ruleId", path) or r.opt_string(ref, "id", f"{path}.rule")
    if not rule_id:
        rule_id = r.opt_string(rule, "id", rule_path) or ""
    level = r.opt_string(result, "level", path)
    if level is None and kind not in (None, "fail"):
        level = "none"  # SARIF §3.27.10: a result that is not a failure defaults to none
    if level is None:
        default = r.opt_object(rule, "defaultConfiguration", rule_path)
        level = r.opt_string(default, "level", f"{rule_path}.defaultConfiguration")
    severity, source, cvss = _severity(found, level)
    title = (
        _text(rule, "shortDescription", rule_path)
        or r.first_line(_text(result, "message", path))
        or r.opt_string(rule, "name", rule_path)
        or rule_id
    )
    return ParsedFinding(
        source_format="sarif",
        tool=run.name,
        rule_id=rule_id,
        aliases=(),
        title=r.first_line(title),
        severity=severity,
        source_severity=source,
        cvss=cvss,
        component="",
        purl=None,
        location=run.location(result, path),
        installed_version=None,
        fixed_version=None,
    )


def parse(doc: Any) -> list[ParsedFinding]:
    log = r.as_object(doc, "$")
    r.constant(log, "version", "$", "2.1.0", "SARIF 2.1.0")
    findings: list[ParsedFinding] = []
    for i, raw in enumerate(r.as_array(r.field(log, "runs", "$"), "$.runs")):
        path = f"$.runs[{i}]"
        run = _Run(r.as_object(raw, path), path)
        results = r.field(raw, "results", path)
        if results is None:
            r.fail(f"{path}.results", "an array (a run without results reports no outcome)", None)
        for j, item in enumerate(r.as_array(results, f"{path}.results")):
            p = f"{path}.results[{j}]"
            finding = _result(run, r.as_object(item, p), p)
            if finding is not None:
                findings.append(finding)
    return findings
