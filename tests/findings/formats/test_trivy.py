"""Trivy JSON: vulnerabilities, failed misconfigurations, secrets; the legacy list."""

from __future__ import annotations

from changegate.findings.formats import parse
from tests.findings.formats.data import fixture


def test_report_with_every_kind_of_result() -> None:
    found = parse(fixture("trivy-report.json"), "trivy")
    rows = [(f.rule_id, f.severity, f.component, f.location) for f in found]
    assert rows == [
        ("CVE-2023-0001", "critical", "openssl", "shop:1.2 (debian 12.1)"),
        ("CVE-2023-0002", "high", "zlib", "shop:1.2 (debian 12.1)"),  # UNKNOWN -> high
        (
            "CVE-2021-44228",
            "critical",
            "org.apache.logging.log4j:log4j-core",
            "app/libs > app/libs/a.jar",
        ),
        (
            "CVE-2021-44228",
            "critical",
            "org.apache.logging.log4j:log4j-core",
            "app/libs > app/libs/b.jar",
        ),
        ("DS002", "high", "", "Dockerfile:4"),  # the PASS misconfiguration is not a finding
        ("aws-access-key-id", "critical", "", "deploy.sh:3"),
    ]
    openssl, zlib, log4j_a, log4j_b = found[:4]
    assert openssl.cvss == 9.1  # the SeveritySource's (redhat) score, not NVD's
    assert (openssl.purl, openssl.installed_version, openssl.fixed_version) == (
        "pkg:deb/debian/openssl@3.0.9",
        "3.0.9",
        "3.0.11",
    )
    assert (zlib.source_severity, zlib.vex_state, zlib.aliases) == (
        "UNKNOWN",
        "not_affected",
        ("DSA-5000-1",),
    )
    assert zlib.title == "first line" and zlib.cvss is None and zlib.fixed_version is None
    assert log4j_a.cvss == 10.0 and log4j_b.cvss is None
    assert log4j_a.fingerprint != log4j_b.fingerprint  # two copies, two findings
    assert {f.tool for f in found} == {"Trivy"}


def test_legacy_list_and_clean_report() -> None:
    found = parse(fixture("trivy-legacy.json"), "trivy")
    assert [(f.rule_id, f.severity, f.component, f.fixed_version) for f in found] == [
        ("CVE-2018-16840", "high", "curl", "7.61.1-r1")
    ]
    assert parse(fixture("trivy-clean.json"), "trivy") == []  # Trivy omits empty Results
