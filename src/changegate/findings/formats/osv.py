"""osv-scanner JSON (``osv-scanner --format json``): one finding per vulnerability group.

osv-scanner lists, per scanned file (``results[].source.path``) and package, the OSV records
that affect it and ``groups``: the records that are aliases of one another, which its own
table shows as one row. A group is one finding (a file without groups: one per record). Its
vulnerability id is the group's CVE when it has one (the same CVE whichever advisory database
answered first, so a re-scan keeps the finding), else the group's first id; every other id and
alias is an alias. Severity: the group's ``max_severity`` (a CVSS score, read with the CVSS
bands), else the worst ``database_specific.severity`` word of its records (GitHub's
LOW/MODERATE/HIGH/CRITICAL), else unknown ("high"). Fixed version: the ``fixed`` events of the
records' ranges for the package.
"""

from __future__ import annotations

from typing import Any

from changegate.findings.formats import reader as r
from changegate.findings.formats import severity as sev
from changegate.findings.parsed import ParsedFinding, Severity

_Record = tuple[dict[str, Any], str, str, list[str]]  # record, its path, id, aliases


def _records(package: dict[str, Any], path: str) -> list[_Record]:
    out = []
    for i, item in enumerate(r.opt_array(package, "vulnerabilities", path)):
        p = f"{path}.vulnerabilities[{i}]"
        item = r.as_object(item, p)
        out.append((item, p, r.string(item, "id", p), r.strings(item, "aliases", p)))
    return out


def _fixed(records: list[_Record], name: str) -> str | None:
    fixed: list[str] = []
    for record, path, _, _ in records:
        for i, affected in enumerate(r.opt_array(record, "affected", path)):
            p = f"{path}.affected[{i}]"
            affected = r.as_object(affected, p)
            package = r.opt_object(affected, "package", p)
            if r.opt_string(package, "name", f"{p}.package") not in (None, name):
                continue
            for j, rng in enumerate(r.opt_array(affected, "ranges", p)):
                rp = f"{p}.ranges[{j}]"
                for k, event in enumerate(r.opt_array(r.as_object(rng, rp), "events", rp)):
                    ep = f"{rp}.events[{k}]"
                    version = r.opt_string(r.as_object(event, ep), "fixed", ep)
                    if version:
                        fixed.append(version)
    return ", ".join(r.unique(fixed)) or None


def _severity(
    group: dict[str, Any], gpath: str, records: list[_Record]
) -> tuple[Severity, str, float | None]:
    value = group.get("max_severity")
    if type(value) is int or type(value) is float:
        value = sev.format_score(float(value))
    elif value is not None and type(value) is not str:
        r.fail(f"{gpath}.max_severity", "a string", value)
    if value:
        score = sev.parse_score(value)
        if score is None:
            return sev.from_word(value), value, None
        return sev.from_score(score), value, score if 0.0 <= score <= 10.0 else None
    worst: tuple[int, Severity, str] | None = None
    for record, path, _, _ in records:
        specific = r.opt_object(record, "database_specific", path)
        word = r.opt_string(specific, "severity", f"{path}.database_specific")
        if word and sev.known_word(word):
            candidate = (sev.rank(sev.from_word(word)), sev.from_word(word), word)
            worst = candidate if worst is None or candidate[0] > worst[0] else worst
    if worst is not None:
        return worst[1], worst[2], None
    return sev.UNKNOWN, "", None


def _finding(
    group: dict[str, Any], gpath: str, records: list[_Record], pkg: dict[str, Any], where: str
) -> ParsedFinding:
    ids = r.strings(group, "ids", gpath)
    if not ids:
        raise r.FindingsFormatError(f"{gpath}.ids: expected at least one id")
    wanted = set(ids)
    members = [x for x in records if x[2] in wanted or wanted.intersection(x[3])]
    every = [*ids, *r.strings(group, "aliases", gpath)]
    for _, _, rid, aliases in members:
        every += [rid, *aliases]
    cves = sorted(i for i in every if i.startswith("CVE-"))
    rule_id = cves[0] if cves else ids[0]
    severity, source, cvss = _severity(group, gpath, members)
    title = ""
    for record, path, _, _ in members:
        title = title or r.first_line(
            r.opt_string(record, "summary", path) or r.opt_string(record, "details", path)
        )
    name, ppath = pkg["name"], pkg["path"]
    return ParsedFinding(
        source_format="osv",
        tool="osv-scanner",
        rule_id=rule_id,
        aliases=r.unique(every, rule_id),
        title=title or rule_id,
        severity=severity,
        source_severity=source,
        cvss=cvss,
        component=name,
        purl=r.opt_string(pkg["package"], "purl", ppath) or None,
        location=where,
        installed_version=r.opt_string(pkg["package"], "version", ppath) or None,
        fixed_version=_fixed(members, name),
    )


def _package(item: dict[str, Any], path: str, where: str, out: list[ParsedFinding]) -> None:
    package = r.as_object(r.field(item, "package", path), f"{path}.package")
    pkg: dict[str, Any] = {"package": package, "path": f"{path}.package"}
    pkg["name"] = r.string(package, "name", f"{path}.package")
    records = _records(item, path)
    groups = r.opt_array(item, "groups", path)
    if not groups:  # osv-scanner before groups: each record on its own
        groups = [{"ids": [rid]} for _, _, rid, _ in records]
    for i, group in enumerate(groups):
        gpath = f"{path}.groups[{i}]"
        out.append(_finding(r.as_object(group, gpath), gpath, records, pkg, where))


def parse(doc: Any) -> list[ParsedFinding]:
    report = r.as_object(doc, "$")
    findings: list[ParsedFinding] = []
    for i, result in enumerate(r.as_array(r.field(report, "results", "$"), "$.results")):
        path = f"$.results[{i}]"
        result = r.as_object(result, path)
        source = r.opt_object(result, "source", path)
        where = r.opt_string(source, "path", f"{path}.source") or ""
        for j, item in enumerate(r.opt_array(result, "packages", path)):
            p = f"{path}.packages[{j}]"
            _package(r.as_object(item, p), p, where, findings)
    return findings
