"""Findings built as a parser would produce them, and the calls the findings tests share."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from changegate.db import utcnow
from changegate.findings import service
from changegate.findings.models import Finding, FindingImport
from changegate.findings.parsed import ParsedFinding
from tests.factories import DEFAULT, tx

P = DEFAULT.policy


def pf(
    rule: str, severity: str = "critical", component: str = "openssl", **kw: Any
) -> ParsedFinding:
    values: dict[str, Any] = {
        "source_format": "trivy",
        "tool": "Trivy",
        "rule_id": rule,
        "aliases": (),
        "title": f"{rule} in {component}",
        "severity": severity,
        "source_severity": severity.upper(),
        "cvss": 9.8,
        "component": component,
        "purl": f"pkg:deb/debian/{component}@1.0",
        "location": "app:latest (debian 12)",
        "installed_version": "1.0",
        "fixed_version": "1.1",
    }
    values.update(kw)
    return ParsedFinding(**values)


def scan(
    engine: Engine,
    findings: list[ParsedFinding],
    *,
    by: str = "sam",
    scope: str | None = None,
    now: dt.datetime | None = None,
    kev: dict[str, dt.date] | None = None,
) -> dict[str, Any]:
    def run(s: Any) -> dict[str, Any]:
        batch: FindingImport = service.import_scan(
            s,
            P,
            findings,
            source_format="trivy",
            content=repr(findings).encode(),
            actor=by,
            scope=scope,
            kev=kev,
            now=now,
        )
        return batch.audit_state()

    return tx(engine, run)


TRIVY = Path(__file__).resolve().parents[1] / "data" / "findings" / "trivy-small.json"


def make_finding(engine: Engine, owner: str) -> int:
    """One open finding imported by ``owner``: its id."""
    rule = f"CVE-2026-{abs(hash(owner)) % 100000}"
    scan(engine, [pf(rule)], by=owner, scope=f"scope-{owner}")
    return int(tx(engine, lambda s: s.scalar(select(Finding.id).where(Finding.rule_id == rule))))


def trivy_import() -> dict[str, Any]:
    return {"format": "trivy", "content_base64": base64.b64encode(TRIVY.read_bytes()).decode()}


def accept() -> dict[str, Any]:
    expires = utcnow().date() + dt.timedelta(days=30)
    return {"justification": "WAF rule blocks the path", "expires": expires.isoformat()}
