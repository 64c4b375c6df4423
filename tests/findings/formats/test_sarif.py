"""SARIF 2.1.0: rule lookup, security-severity before level, what is not a finding."""

from __future__ import annotations

from changegate.findings.formats import parse
from tests.findings.formats.data import fixture


def test_rules_levels_and_locations() -> None:
    found = parse(fixture("sarif-rules-and-levels.sarif"), "sarif")
    rows = [(f.rule_id, f.severity, f.source_severity, f.cvss, f.location) for f in found]
    assert rows == [
        ("R1", "critical", "9.1", 9.1, "src/db.py:10"),  # security-severity score
        ("R2", "medium", "Medium", None, "src/hash.py"),  # security-severity as a word
        ("R3", "high", "error", None, "src/conf.py:3"),  # the rule's default level
        ("R4", "low", "note", None, ""),  # the result's level
        ("R4", "medium", "", None, ""),  # no level anywhere: SARIF's "warning"
        ("X1", "low", "3", 3.0, "src/app.py:5"),  # extension rule, artifact by index
        ("R4", "low", "none", None, ""),  # kind "review": level defaults to none
        ("", "medium", "", None, "deploy.sh:7"),  # a result that names no rule
    ]
    assert {f.tool for f in found} == {"ExampleScanner"}
    assert [f.title for f in found][:3] == ["SQL injection", "md5 used", "Hard-coded password"]
    assert found[-1].title == "Secret found"  # first line of the message
    assert all(f.component == "" and f.purl is None for f in found)


def test_pass_and_absent_results_are_not_findings() -> None:
    found = parse(fixture("sarif-rules-and-levels.sarif"), "sarif")
    assert "checked, fine" not in {f.title for f in found}
    assert len(found) == 8  # ten results, one pass, one absent since the baseline


def test_unreadable_security_severity_is_high() -> None:
    doc = (
        b'{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"t","rules":[{"id":"A",'
        b'"properties":{"security-severity":"severe-ish"}},{"id":"B","properties":'
        b'{"security-severity":"12.5"}}]}},"results":[{"ruleId":"A","level":"note"},'
        b'{"ruleId":"B"},{"ruleId":"C","level":"bogus"}]}]}'
    )
    found = parse(doc, "sarif")
    assert [(f.severity, f.source_severity, f.cvss) for f in found] == [
        ("high", "severe-ish", None),
        ("high", "12.5", None),
        ("high", "bogus", None),
    ]
