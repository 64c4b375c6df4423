"""GitHub Dependabot alerts: the REST response, and the GraphQL ``vulnerabilityAlerts`` one.

REST (``GET /repos/{owner}/{repo}/dependabot/alerts``, e.g. saved with ``gh api``): an array
of alerts. The advisory's GHSA id is the rule, its CVE and other identifiers the aliases;
severity: the advisory's (GitHub's low/medium/high/critical); CVSS: the newest version's
score GitHub gives (v4, then v3; 0.0 means none); component and location: the dependency's
package and ``manifest_path``; fixed version: ``first_patched_version``. The REST response
gives no installed version.

An alert's ``state``: "fixed" alerts are not findings (left out, so a re-import marks the
finding fixed); a "dismissed" one as ``inaccurate`` is a false positive and as ``not_used``
not affected (its VEX state); any other dismissal (tolerable risk, no bandwidth) is not a
changegate decision and stays open here. GraphQL (``repository.vulnerabilityAlerts``, nodes
or edges) carries the same facts under other names and is read the same way.
"""

from __future__ import annotations

from typing import Any

from changegate.findings.formats import reader as r
from changegate.findings.formats import severity as sev
from changegate.findings.parsed import ParsedFinding

_DISMISSALS = {"inaccurate": "false_positive", "not_used": "not_affected"}


def _identifiers(advisory: dict[str, Any], path: str) -> list[tuple[str, str]]:
    out = []
    for i, item in enumerate(r.opt_array(advisory, "identifiers", path)):
        p = f"{path}.identifiers[{i}]"
        item = r.as_object(item, p)
        out.append((r.opt_string(item, "type", p) or "", r.string(item, "value", p)))
    return out


def _score(d: dict[str, Any], key: str, path: str) -> float | None:
    score = r.opt_number(r.opt_object(d, key, path), "score", r.key_path(path, key))
    return score if score is not None and 0.0 < score <= 10.0 else None


def _vex(state: str | None, reason: str | None) -> str | None:
    if (state or "").lower() != "dismissed" or not reason:
        return None
    return _DISMISSALS.get(reason.strip().lower().replace(" ", "_"))


def _finding(
    advisory: tuple[dict[str, Any], str, str, list[str]],
    word: str | None,
    cvss: float | None,
    where: tuple[str, str],
    fixed: str | None,
    vex_state: str | None,
) -> ParsedFinding:
    """advisory: (the advisory, its path, its GHSA id, its other ids); where: package, manifest."""
    body, path, rule_id, ids = advisory
    return ParsedFinding(
        source_format="dependabot",
        tool="Dependabot",
        rule_id=rule_id,
        aliases=r.unique(ids, rule_id),
        title=r.first_line(r.opt_string(body, "summary", path)) or rule_id,
        severity=sev.from_word(word),
        source_severity=word or "",
        cvss=cvss,
        component=where[0],
        purl=None,
        location=where[1],
        installed_version=None,
        fixed_version=fixed,
        vex_state=vex_state,
    )


def _alert(alert: dict[str, Any], path: str) -> ParsedFinding | None:
    state = r.opt_string(alert, "state", path)
    if state == "fixed":
        return None
    ap = f"{path}.security_advisory"
    advisory = r.as_object(r.field(alert, "security_advisory", path), ap)
    ghsa = r.string(advisory, "ghsa_id", ap)
    vp = f"{path}.security_vulnerability"
    vulnerability = r.opt_object(alert, "security_vulnerability", path)
    dp = f"{path}.dependency"
    dependency = r.as_object(r.field(alert, "dependency", path), dp)
    package = r.opt_object(dependency, "package", dp) or r.opt_object(vulnerability, "package", vp)
    name = r.string(package, "name", f"{dp}.package")
    word = r.opt_string(advisory, "severity", ap) or r.opt_string(vulnerability, "severity", vp)
    ids = [r.opt_string(advisory, "cve_id", ap) or ""]
    ids += [value for _, value in _identifiers(advisory, ap)]
    versions = r.opt_object(advisory, "cvss_severities", ap)
    cp = f"{ap}.cvss_severities"
    cvss = _score(versions, "cvss_v4", cp) or _score(versions, "cvss_v3", cp)
    patched = r.opt_object(vulnerability, "first_patched_version", vp)
    return _finding(
        (advisory, ap, ghsa, ids),
        word,
        cvss or _score(advisory, "cvss", ap),
        (name, r.opt_string(dependency, "manifest_path", dp) or ""),
        r.opt_string(patched, "identifier", f"{vp}.first_patched_version"),
        _vex(state, r.opt_string(alert, "dismissed_reason", path)),
    )


def _node(node: dict[str, Any], path: str) -> ParsedFinding | None:
    state = r.opt_string(node, "state", path)
    if (state or "").upper() == "FIXED" or node.get("fixedAt"):
        return None
    if state is None and node.get("dismissedAt"):
        state = "dismissed"
    vp = f"{path}.securityVulnerability"
    vulnerability = r.as_object(r.field(node, "securityVulnerability", path), vp)
    ap = f"{vp}.advisory"
    advisory = r.as_object(r.field(vulnerability, "advisory", vp), ap)
    identifiers = _identifiers(advisory, ap)
    ghsa = r.opt_string(advisory, "ghsaId", ap)
    ghsa = ghsa or next((v for t, v in identifiers if t == "GHSA"), None)
    rule_id = ghsa or (identifiers[0][1] if identifiers else None)
    if not rule_id:
        raise r.FindingsFormatError(f"{ap}.identifiers: expected the advisory's GHSA id")
    package = r.as_object(r.field(vulnerability, "package", vp), f"{vp}.package")
    word = r.opt_string(vulnerability, "severity", vp)
    patched = r.opt_object(vulnerability, "firstPatchedVersion", vp)
    return _finding(
        (advisory, ap, rule_id, [v for _, v in identifiers]),
        word,
        _score(advisory, "cvss", ap),
        (
            r.string(package, "name", f"{vp}.package"),
            r.opt_string(node, "vulnerableManifestPath", path) or "",
        ),
        r.opt_string(patched, "identifier", f"{vp}.firstPatchedVersion"),
        _vex(state, r.opt_string(node, "dismissReason", path)),
    )


def _graphql(doc: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """The alert nodes of a GraphQL response, with their paths."""
    if doc.get("errors"):
        raise r.FindingsFormatError("$.errors: the GraphQL response reports errors, not alerts")
    data = r.as_object(r.field(doc, "data", "$"), "$.data")
    repo = r.as_object(r.field(data, "repository", "$.data"), "$.data.repository")
    base = "$.data.repository.vulnerabilityAlerts"
    alerts = r.as_object(r.field(repo, "vulnerabilityAlerts", "$.data.repository"), base)
    if "nodes" in alerts:
        nodes = r.as_array(alerts["nodes"], f"{base}.nodes")
        return [
            (r.as_object(n, f"{base}.nodes[{i}]"), f"{base}.nodes[{i}]")
            for i, n in enumerate(nodes)
        ]
    out = []
    for i, edge in enumerate(r.as_array(r.field(alerts, "edges", base), f"{base}.edges")):
        p = f"{base}.edges[{i}]"
        out.append(
            (r.as_object(r.field(r.as_object(edge, p), "node", p), f"{p}.node"), f"{p}.node")
        )
    return out


def parse(doc: Any) -> list[ParsedFinding]:
    if type(doc) is dict and ("data" in doc or "errors" in doc):
        found = [_node(node, path) for node, path in _graphql(doc)]
    elif type(doc) is list:
        found = [_alert(r.as_object(a, f"$[{i}]"), f"$[{i}]") for i, a in enumerate(doc)]
    else:
        r.fail("$", "an array of Dependabot alerts (the REST response) or a GraphQL response", doc)
    return [f for f in found if f is not None]
