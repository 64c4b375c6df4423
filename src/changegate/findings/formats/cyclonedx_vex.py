"""CycloneDX vulnerabilities and VEX (``bomFormat`` "CycloneDX", spec 1.4-1.7): one finding
per vulnerability and affected component (``affects[]``; a vulnerability that names none is one
finding without a component).

- Component: ``affects[].ref`` resolved to the BOM's component with that ``bom-ref`` (nested
  components and the metadata component included) for its name, version and purl; a BOM-Link
  into another BOM (``urn:cdx:<serial>/<version>#<ref>``) or an unresolved ref that is a purl
  gives the purl's name and version.
- VEX: ``analysis.state`` (resolved, resolved_with_pedigree, exploitable, in_triage,
  false_positive, not_affected) is the VEX state; any other value is ignored (the finding stays
  open).
- Severity: the rating of the vulnerability's own ``source`` when it has one, else the most
  severe rating (a rating's word, or its score with the CVSS bands); none -> unknown ("high").
  CVSS: that rating's score when its method is CVSS, else the newest CVSS method's score.
- Aliases: ``references[].id``. Tool: the vulnerability's or the BOM's first tool.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from changegate.findings.formats import reader as r
from changegate.findings.formats import severity as sev
from changegate.findings.parsed import ParsedFinding, Severity

VEX_STATES = frozenset(
    {
        "resolved",
        "resolved_with_pedigree",
        "exploitable",
        "in_triage",
        "false_positive",
        "not_affected",
    }
)
_METHODS = ("CVSSv4", "CVSSv31", "CVSSv3", "CVSSv2")
_Rating = tuple[int, Severity, str, float | None]  # rank, severity, source's value, CVSS


def _components(bom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every component by bom-ref, walking nested components without recursion."""
    metadata = r.opt_object(bom, "metadata", "$")
    stack: list[tuple[Any, str]] = [
        (c, f"$.components[{i}]") for i, c in enumerate(r.opt_array(bom, "components", "$"))
    ]
    if "component" in metadata:
        stack.append((metadata["component"], "$.metadata.component"))
    found: dict[str, dict[str, Any]] = {}
    while stack:
        item, path = stack.pop()
        component = r.as_object(item, path)
        ref = r.opt_string(component, "bom-ref", path)
        if ref:
            found.setdefault(ref, component)
        nested = r.opt_array(component, "components", path)
        stack.extend((c, f"{path}.components[{i}]") for i, c in enumerate(nested))
    return found


def _tool(value: Any, path: str) -> str | None:
    """The first tool's name: 1.4's array of tools or 1.5's {components, services}."""
    if type(value) is dict:
        value = [*r.opt_array(value, "components", path), *r.opt_array(value, "services", path)]
    for i, tool in enumerate(r.as_array(value, path) if value is not None else []):
        name = r.opt_string(r.as_object(tool, f"{path}[{i}]"), "name", f"{path}[{i}]")
        if name:
            return name
    return None


def _from_purl(purl: str) -> tuple[str, str | None]:
    """(name, version) of a package URL: pkg:type/namespace/name@version?qualifiers#subpath."""
    core = purl.split("#", 1)[0].split("?", 1)[0]
    path, _, version = core.partition("@")
    return unquote(path.rsplit("/", 1)[-1]), unquote(version) or None


def _affected(
    ref: str, components: dict[str, dict[str, Any]]
) -> tuple[str, str | None, str | None]:
    """(component name, purl, version) of an ``affects[].ref``."""
    component = components.get(ref)
    if component is not None:
        name = component.get("name")
        purl = component.get("purl")
        version = component.get("version")
        return (
            name if type(name) is str else ref,
            purl if type(purl) is str and purl else None,
            version if type(version) is str and version else None,
        )
    local = ref.split("#", 1)[1] if ref.startswith("urn:cdx:") and "#" in ref else ref
    if local.startswith("pkg:"):
        name, version = _from_purl(local)
        return name, local, version
    return local, None, None


def _rating(rating: dict[str, Any], path: str) -> _Rating | None:
    word = r.opt_string(rating, "severity", path)
    score = r.opt_number(rating, "score", path)
    method = r.opt_string(rating, "method", path) or ""
    cvss = score if method.startswith("CVSS") else None  # not OWASP's or another scale
    if word and sev.known_word(word):
        severity = sev.from_word(word)
        return sev.rank(severity), severity, word, cvss
    if score is not None:
        severity = sev.from_score(score)
        return sev.rank(severity), severity, sev.format_score(score), cvss
    if word:
        return sev.rank(sev.UNKNOWN), sev.UNKNOWN, word, None
    return None


def _severity(vuln: dict[str, Any], path: str) -> tuple[Severity, str, float | None]:
    source = r.opt_string(r.opt_object(vuln, "source", path), "name", f"{path}.source")
    own: _Rating | None = None
    worst: _Rating | None = None
    cvss: dict[str, float] = {}
    for i, item in enumerate(r.opt_array(vuln, "ratings", path)):
        p = f"{path}.ratings[{i}]"
        item = r.as_object(item, p)
        method = r.opt_string(item, "method", p)
        score = r.opt_number(item, "score", p)
        if method and score is not None and 0.0 < score <= 10.0:
            cvss.setdefault(method, score)
        rated = _rating(item, p)
        if rated is None:
            continue
        rater = r.opt_string(r.opt_object(item, "source", p), "name", f"{p}.source")
        if own is None and source and rater == source:
            own = rated
        if worst is None or rated[0] > worst[0]:
            worst = rated
    chosen = own or worst
    if chosen is None:
        return sev.UNKNOWN, "", next((cvss[m] for m in _METHODS if m in cvss), None)
    score = chosen[3] if chosen[3] is not None and 0.0 < chosen[3] <= 10.0 else None
    if score is None:
        score = next((cvss[m] for m in _METHODS if m in cvss), None)
    return chosen[1], chosen[2], score


def _fixed(vuln: dict[str, Any], path: str) -> str | None:
    for i, prop in enumerate(r.opt_array(vuln, "properties", path)):
        p = f"{path}.properties[{i}]"
        prop = r.as_object(prop, p)
        if r.opt_string(prop, "name", p) == "grype:fixed_versions":
            return r.opt_string(prop, "value", p) or None
    return None


def _vulnerability(
    vuln: dict[str, Any], path: str, components: dict[str, dict[str, Any]], bom: tuple[str, str]
) -> list[ParsedFinding]:
    vid = r.string(vuln, "id", path)
    refs = []
    for i, ref in enumerate(r.opt_array(vuln, "references", path)):
        refs.append(
            r.string(r.as_object(ref, f"{path}.references[{i}]"), "id", f"{path}.references[{i}]")
        )
    state = r.opt_string(r.opt_object(vuln, "analysis", path), "state", f"{path}.analysis")
    severity, source, cvss = _severity(vuln, path)
    title = r.opt_string(vuln, "description", path) or r.opt_string(vuln, "detail", path)
    tool = _tool(vuln.get("tools"), f"{path}.tools") or bom[0]
    affects = []
    for i, item in enumerate(r.opt_array(vuln, "affects", path)):
        affects.append(
            r.string(r.as_object(item, f"{path}.affects[{i}]"), "ref", f"{path}.affects[{i}]")
        )
    targets = [_affected(ref, components) for ref in affects] or [("", None, None)]
    fixed = _fixed(vuln, path)
    return [
        ParsedFinding(
            source_format="cyclonedx-vex",
            tool=tool,
            rule_id=vid,
            aliases=r.unique(refs, vid),
            title=r.first_line(title) or vid,
            severity=severity,
            source_severity=source,
            cvss=cvss,
            component=name,
            purl=purl,
            location=bom[1],
            installed_version=version,
            fixed_version=fixed,
            vex_state=state if state in VEX_STATES else None,
        )
        for name, purl, version in targets
    ]


def parse(doc: Any) -> list[ParsedFinding]:
    bom = r.as_object(doc, "$")
    r.constant(bom, "bomFormat", "$", "CycloneDX", "a CycloneDX BOM")
    metadata = r.opt_object(bom, "metadata", "$")
    tool = _tool(metadata.get("tools"), "$.metadata.tools") or "CycloneDX"
    subject = r.opt_object(metadata, "component", "$.metadata")
    where = r.opt_string(subject, "name", "$.metadata.component") or ""
    components = _components(bom)
    findings: list[ParsedFinding] = []
    for i, vuln in enumerate(r.opt_array(bom, "vulnerabilities", "$")):
        path = f"$.vulnerabilities[{i}]"
        findings += _vulnerability(r.as_object(vuln, path), path, components, (tool, where))
    return findings
