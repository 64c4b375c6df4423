"""Conformance: every scanner file of the shared corpus is read as its format.

The corpus (``<repo>/../shared/testdata/realworld/scanners``, third-party files with their
sources in each folder's SOURCES.txt) is read where it is, never copied here. The folder names
the format; the odd ones are decided here: Grype's and Trivy's CycloneDX output sits in
``cyclonedx/`` and is read as cyclonedx-vex (vulnerabilities without an analysis are open
findings); ``*-empty.json`` is an empty alert list (no findings, not an error); the GraphQL
Dependabot response is read through its own shape; Trivy's legacy list whose first entry has no
``VulnerabilityID`` is refused with that path. Expected values (count, ids, severities,
components, VEX states) are computed below with ``json`` from each file, by rules written out
here, not by calling the parsers' helpers.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from changegate.findings.formats import FindingsFormatError, parse
from changegate.findings.formats.kev import parse_kev
from tests.realworld import REALWORLD, require

SCANNERS = REALWORLD / "scanners"
FOLDERS = {
    "sarif": "sarif",
    "trivy": "trivy",
    "grype": "grype",
    "osv-scanner": "osv",
    "dependabot": "dependabot",
    "cyclonedx": "cyclonedx-vex",
}
WORDS = {
    "critical": "critical",
    "high": "high",
    "medium": "medium",
    "moderate": "medium",
    "low": "low",
    "negligible": "low",
    "info": "low",
    "none": "low",
}
Row = tuple[str, str, str]  # rule id, severity, component


def _files(folder: str) -> list[Path]:
    base = SCANNERS / folder
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.name != "SOURCES.txt")


def _load(path: Path) -> Any:
    return json.loads(path.read_bytes().decode("utf-8-sig"))


def _word(word: Any) -> str:
    return WORDS.get(str(word).lower(), "high") if word else "high"


def _band(score: float) -> str:
    if not 0 <= score <= 10:
        return "high"
    return "critical" if score >= 9 else "high" if score >= 7 else "medium" if score >= 4 else "low"


# --- expected values, format by format --------------------------------------------------


def _sarif(doc: dict[str, Any]) -> list[Row]:
    rows = []
    for run in doc["runs"]:
        rules = run["tool"]["driver"].get("rules", [])
        by_id = {rule["id"]: rule for rule in rules}
        for res in run["results"]:
            if res.get("kind") in ("pass", "notApplicable") or res.get("baselineState") == "absent":
                continue
            if "ruleIndex" in res:
                rule = rules[res["ruleIndex"]]
            else:
                rule = by_id.get(res.get("ruleId"), {})
            secsev = rule.get("properties", {}).get("security-severity")
            if secsev is not None:
                try:
                    severity = _band(float(secsev))
                except ValueError:
                    severity = _word(secsev)
            else:
                level = res.get("level") or rule.get("defaultConfiguration", {}).get("level")
                levels = {"error": "high", "warning": "medium", "note": "low", "none": "low"}
                severity = levels.get(level or "warning", "high")
            rows.append((res.get("ruleId") or rule.get("id", ""), severity, ""))
    return rows


def _trivy(doc: Any) -> list[Row]:
    results = doc if isinstance(doc, list) else doc.get("Results") or []
    rows = []
    for res in results:
        for v in res.get("Vulnerabilities") or []:
            rows.append((v["VulnerabilityID"], _word(v.get("Severity")), v.get("PkgName", "")))
        for m in res.get("Misconfigurations") or []:
            if m.get("Status", "FAIL") == "FAIL":
                rows.append((m["ID"], _word(m.get("Severity")), ""))
        for s in res.get("Secrets") or []:
            rows.append((s["RuleID"], _word(s.get("Severity")), ""))
    return rows


def _grype(doc: dict[str, Any]) -> list[Row]:
    return [
        (m["vulnerability"]["id"], _word(m["vulnerability"].get("severity")), m["artifact"]["name"])
        for m in doc["matches"]
    ]


def _osv(doc: dict[str, Any]) -> list[Row]:
    rows = []
    for result in doc["results"]:
        for pkg in result["packages"]:
            vulns = pkg.get("vulnerabilities") or []
            for group in pkg.get("groups") or [{"ids": [v["id"]]} for v in vulns]:
                ids = set(group["ids"]) | set(group.get("aliases", []))
                members = [v for v in vulns if v["id"] in ids or ids & set(v.get("aliases", []))]
                for v in members:
                    ids |= {v["id"], *v.get("aliases", [])}
                cves = sorted(i for i in ids if i.startswith("CVE-"))
                words = [
                    _word(v["database_specific"]["severity"])
                    for v in members
                    if (v.get("database_specific") or {}).get("severity")
                ]
                order = ["low", "medium", "high", "critical"]
                if group.get("max_severity"):
                    severity = _band(float(group["max_severity"]))
                else:
                    severity = max(words, key=order.index) if words else "high"
                rows.append(
                    (cves[0] if cves else group["ids"][0], severity, pkg["package"]["name"])
                )
    return rows


def _dependabot(doc: Any) -> list[Row]:
    if isinstance(doc, dict):  # GraphQL: repository.vulnerabilityAlerts.nodes
        rows = []
        for node in doc["data"]["repository"]["vulnerabilityAlerts"]["nodes"]:
            vuln = node["securityVulnerability"]
            ghsa = [i["value"] for i in vuln["advisory"]["identifiers"] if i["type"] == "GHSA"]
            rows.append((ghsa[0], _word(vuln["severity"]), vuln["package"]["name"]))
        return rows
    return [
        (
            a["security_advisory"]["ghsa_id"],
            _word(a["security_advisory"]["severity"]),
            a["dependency"]["package"]["name"],
        )
        for a in doc
        if a["state"] != "fixed"
    ]


def _cdx_components(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    todo = list(doc.get("components", []))
    while todo:
        c = todo.pop()
        found.setdefault(c.get("bom-ref", ""), c)
        todo += c.get("components", [])
    return found


def _cdx_severity(v: dict[str, Any]) -> str:
    order = ["low", "medium", "high", "critical"]
    source = v.get("source", {}).get("name")
    own = [x for x in v.get("ratings", []) if x.get("source", {}).get("name") == source]
    rated = []
    for x in own[:1] or v.get("ratings", []):
        if x.get("severity") in WORDS:
            rated.append(WORDS[x["severity"]])
        elif "score" in x:
            rated.append(_band(x["score"]))
    return max(rated, key=order.index) if rated else "high"


def _cyclonedx(doc: dict[str, Any]) -> list[Row]:
    components = _cdx_components(doc)
    rows = []
    for v in doc.get("vulnerabilities", []):
        for ref in [a["ref"] for a in v.get("affects", [])] or [""]:
            if ref in components:
                name = components[ref]["name"]
            else:  # a BOM-Link to another BOM: the purl after '#'
                name = unquote(ref.split("#")[-1].split("?")[0].split("@")[0].rsplit("/", 1)[-1])
            rows.append((v["id"], _cdx_severity(v), name))
    return rows


EXPECT = {
    "sarif": _sarif,
    "trivy": _trivy,
    "grype": _grype,
    "osv": _osv,
    "dependabot": _dependabot,
    "cyclonedx-vex": _cyclonedx,
}


# --- the tests ----------------------------------------------------------------------------


def _missing_id(doc: Any) -> str | None:
    """The path of a Trivy vulnerability without VulnerabilityID (the legacy fixture's)."""
    if not isinstance(doc, list):
        return None
    for i, res in enumerate(doc):
        for j, v in enumerate(res.get("Vulnerabilities") or []):
            if "VulnerabilityID" not in v:
                return f"$[{i}].Vulnerabilities[{j}].VulnerabilityID"
    return None


CASES = [(folder, fmt, p) for folder, fmt in FOLDERS.items() for p in _files(folder)]
if not CASES:  # one case that fails in CI, or skips elsewhere, with require()'s message
    CASES = [("-", "-", SCANNERS)]


def test_the_corpus_is_there_and_every_file_is_covered() -> None:
    require(SCANNERS, "the scanner-output conformance test")
    listed = {p.name for folder in (*FOLDERS, "kev") for p in _files(folder)}
    on_disk = {p.name for p in SCANNERS.rglob("*") if p.is_file() and p.suffix != ".txt"}
    assert listed == on_disk  # no folder of the corpus is left out
    assert len(on_disk) == 37


@pytest.mark.parametrize(("folder", "fmt", "path"), CASES, ids=[p.name for _, _, p in CASES])
def test_each_scanner_file(folder: str, fmt: str, path: Path) -> None:
    require(SCANNERS, "the scanner-output conformance test")
    doc = _load(path)
    refused = _missing_id(doc) if fmt == "trivy" else None
    if refused:
        with pytest.raises(FindingsFormatError) as e:
            parse(path.read_bytes(), fmt)
        assert refused in e.value.message and e.value.field == "file"
        return
    findings = parse(path.read_bytes(), fmt)
    expected = EXPECT[fmt](doc)
    got = [(f.rule_id, f.severity, f.component) for f in findings]
    assert Counter(got) == Counter(expected)
    assert len(findings) == len(expected)
    for f in findings:
        assert f.source_format == fmt and f.tool
        assert f.severity in ("critical", "high", "medium", "low")
        assert f.cvss is None or 0.0 < f.cvss <= 10.0
        assert len(f.fingerprint) == 64


def test_corpus_figures_stated_by_their_sources() -> None:
    """Counts the SOURCES.txt lines and the projects' own tests state, by hand."""
    require(SCANNERS, "the scanner-output conformance test")
    counts = {
        "sarif/codeql-2.5.4.sarif": 72,  # "CodeQL 2.5.4 (72 results)"
        "sarif/semgrep-oss-1.69.0.sarif": 77,  # "Semgrep OSS 1.69.0 --sarif (77 results)"
        "sarif/flawfinder-2.0.19.sarif": 53,  # 54 results, one of kind "pass"
        "cyclonedx/trivy-cdx-1.7-pom-with-vulns.json": 2,
        "cyclonedx/trivy-cdx-1.7-fluentd-with-vulns.json": 3,
        "cyclonedx/grype-0.41.0-cdx-1.4-log4j.json": 8,
        "dependabot/greentic-pack-alerts-raw.json": 2,
        "dependabot/greentic-flow-alerts-empty.json": 0,
        "grype/grype-0.7.0-no-vuln.json": 0,
    }
    formats = dict(FOLDERS)
    for name, count in counts.items():
        folder = name.split("/")[0]
        assert len(parse((SCANNERS / name).read_bytes(), formats[folder])) == count, name


def test_vex_states_and_cvss_from_the_files() -> None:
    require(SCANNERS, "the scanner-output conformance test")
    for path in _files("cyclonedx"):
        doc = _load(path)
        states = [
            v.get("analysis", {}).get("state")
            for v in doc.get("vulnerabilities", [])
            for _ in v.get("affects") or [None]
        ]
        assert [f.vex_state for f in parse(path.read_bytes(), "cyclonedx-vex")] == states
    alpine = SCANNERS / "trivy" / "trivy-image-alpine-310.json"
    vulns = [v for r in _load(alpine)["Results"] for v in r["Vulnerabilities"]]
    wanted = [v["CVSS"][v["SeveritySource"]]["V3Score"] for v in vulns]
    assert [f.cvss for f in parse(alpine.read_bytes(), "trivy")] == wanted


def test_the_same_alerts_raw_and_through_jq_are_the_same_findings() -> None:
    require(SCANNERS, "the scanner-output conformance test")
    raw = parse(
        (SCANNERS / "dependabot" / "greentic-pack-alerts-raw.json").read_bytes(), "dependabot"
    )
    jq = parse(
        (SCANNERS / "dependabot" / "greentic-pack-alerts-jq.json").read_bytes(), "dependabot"
    )
    assert raw == jq


@pytest.mark.parametrize("path", _files("kev") or [SCANNERS], ids=lambda p: p.name)
def test_kev_catalogue(path: Path) -> None:
    require(SCANNERS, "the scanner-output conformance test")
    doc = _load(path)
    entries = doc.get("vulnerabilities", [doc])  # the single-entry file is one catalogue entry
    expected = {e["cveID"]: dt.date.fromisoformat(e["dueDate"]) for e in entries}
    assert parse_kev(path.read_bytes()) == expected
    if "count" in doc:  # the excerpt keeps the full catalogue's header: entries are trusted
        assert doc["count"] != len(entries)
