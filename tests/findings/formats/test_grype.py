"""Grype JSON: related vulnerabilities as aliases, the newest CVSS, fix versions."""

from __future__ import annotations

from changegate.findings.formats import parse
from tests.findings.formats.data import fixture


def test_matches() -> None:
    log4j, libfoo = parse(fixture("grype-report.json"), "grype")
    assert (log4j.rule_id, log4j.aliases, log4j.severity, log4j.cvss) == (
        "GHSA-jfh8-c2jp-5v3q",
        ("CVE-2021-44228",),
        "critical",
        10.0,  # CVSS 3.1 before 2.0
    )
    assert (log4j.component, log4j.installed_version, log4j.fixed_version) == (
        "log4j-core",
        "2.14.1",
        "2.15.0, 2.12.2",
    )
    assert log4j.purl == "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    assert log4j.location == "/app/lib/log4j-core-2.14.1.jar" and log4j.tool == "grype"
    assert log4j.title == "Remote code injection in Log4j"
    # severity Unknown is high; the CVSS and title of the related NVD record; old fixedInVersion
    assert (libfoo.severity, libfoo.source_severity, libfoo.cvss) == ("high", "Unknown", 5.5)
    assert (libfoo.aliases, libfoo.title, libfoo.fixed_version) == ((), "from NVD", "1.1")
    assert (libfoo.purl, libfoo.location) == (None, "")
