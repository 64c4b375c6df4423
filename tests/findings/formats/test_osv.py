"""osv-scanner JSON: one finding per group, its CVE as the id, max_severity."""

from __future__ import annotations

from changegate.findings.formats import parse
from tests.findings.formats.data import fixture


def test_groups_and_records() -> None:
    found = parse(fixture("osv-report.json"), "osv")
    rows = [(f.rule_id, f.severity, f.source_severity, f.component, f.location) for f in found]
    assert rows == [
        ("CVE-2022-41723", "high", "7.5", "golang.org/x/net", "/src/go.mod"),
        # no groups (older osv-scanner): one finding per record, GitHub's word
        ("GHSA-xvch-5gv4-984h", "critical", "CRITICAL", "minimist", "/src/package-lock.json"),
        ("GHSA-vh95-rmgr-6w4m", "medium", "MODERATE", "minimist", "/src/package-lock.json"),
        ("OSV-2020-1", "high", "", "left-pad", "/src/package-lock.json"),  # unknown -> high
    ]
    net = found[0]
    assert net.aliases == ("GHSA-vvpx-j8f3-3w6h", "GO-2023-1571")
    assert (net.cvss, net.installed_version, net.fixed_version) == (7.5, "0.1.0", "0.7.0")
    assert net.title == "Denial of service via crafted HTTP/2 stream" and net.tool == "osv-scanner"
