"""CycloneDX VEX: affects resolved to components, analysis.state, which rating counts."""

from __future__ import annotations

from changegate.findings.formats import parse
from tests.findings.formats.data import fixture


def test_vulnerabilities_and_vex() -> None:
    found = parse(fixture("cyclonedx-vex.json"), "cyclonedx-vex")
    rows = [(f.rule_id, f.component, f.installed_version, f.severity, f.vex_state) for f in found]
    assert rows == [
        ("CVE-2020-9548", "jackson-databind", "2.9.1", "high", "exploitable"),  # ghsa's rating
        ("CVE-2020-9548", "inner-lib", "0.1", "high", "exploitable"),  # a nested component
        ("CVE-2021-44228", "log4j-core", "2.14.1", "critical", "not_affected"),  # the worst
        ("CVE-2022-0001", "unknown-ref", None, "high", None),  # no rating; unknown state
        ("CVE-2022-0002", "", None, "low", None),  # affects nothing; a score only
    ]
    jackson, inner, log4j, unknown, scored = found
    assert jackson.aliases == ("GHSA-p43x-xfjf-5jhr",)
    assert jackson.purl == "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.1"
    assert (jackson.cvss, jackson.source_severity, jackson.title) == (
        9.8,
        "high",
        "jackson-databind gadget",
    )
    assert inner.purl is None
    assert log4j.purl == "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    assert (log4j.source_severity, log4j.cvss) == ("10", 10.0)  # 10.0 beats 7.2 and "medium"
    assert (unknown.fixed_version, unknown.source_severity) == ("3.0.0", "")
    assert (scored.source_severity, scored.cvss) == ("2.5", None)
    assert {f.tool for f in found} == {"ExampleVex"} and {f.location for f in found} == {"shop"}
