"""Dependabot alerts: the REST array and the GraphQL edges; states and dismissals."""

from __future__ import annotations

from changegate.findings.formats import parse
from tests.findings.formats.data import fixture


def test_rest_alerts() -> None:
    found = parse(fixture("dependabot-alerts.json"), "dependabot")
    rows = [(f.rule_id, f.severity, f.component, f.location, f.vex_state) for f in found]
    assert rows == [
        ("GHSA-aaaa-bbbb-cccc", "high", "lodash", "package-lock.json", None),
        ("GHSA-dddd-eeee-ffff", "critical", "foo", "web/package-lock.json", "false_positive"),
        ("GHSA-gggg-hhhh-iiii", "medium", "bar", "package-lock.json", None),  # tolerable risk
        ("GHSA-mmmm-nnnn-oooo", "low", "qux", "package-lock.json", "not_affected"),
    ]  # the fixed alert is left out
    lodash = found[0]
    assert (lodash.aliases, lodash.cvss, lodash.fixed_version) == (
        ("CVE-2024-0001",),
        7.4,
        "4.17.21",
    )
    assert lodash.title == "Prototype pollution in lodash" and lodash.tool == "Dependabot"
    assert found[1].fixed_version is None and found[2].source_severity == "moderate"


def test_graphql_edges() -> None:
    (found,) = parse(fixture("dependabot-graphql-edges.json"), "dependabot")  # FIXED left out
    assert (found.rule_id, found.aliases, found.severity, found.cvss) == (
        "GHSA-pppp-qqqq-rrrr",
        ("CVE-2023-9999",),
        "medium",
        5.3,
    )
    assert (found.component, found.location, found.fixed_version, found.vex_state) == (
        "com.example:lib",
        "pom.xml",
        "1.2.3",
        "false_positive",
    )
