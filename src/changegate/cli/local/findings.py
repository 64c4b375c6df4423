"""`changegate findings` over the local database."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalFindings(LocalBackend):
    def import_scan(
        self, data: bytes, fmt: str, scope: str | None, kev: bytes | None, by: str
    ) -> dict[str, Any]:
        from changegate.findings.service import import_file

        with self.tx() as (s, pol):
            batch = import_file(
                s, pol, data, source_format=fmt, actor=by, scope=scope, kev_data=kev
            )
            return batch.audit_state()

    def list(self, status: str | None, severity: str | None, scope: str | None) -> dict[str, Any]:
        from changegate.findings.queries import list_findings
        from changegate.findings.service import lapse_expired

        with self.tx() as (s, _):
            lapse_expired(s)
            rows = list_findings(s, status=status, severity=severity, scope=scope)
        return {"findings": rows, "count": len(rows)}

    def show(self, ident: str) -> dict[str, Any]:
        from changegate.findings.queries import show_finding
        from changegate.findings.service import get_finding, lapse_expired

        with self.tx() as (s, _):
            lapse_expired(s)
            return show_finding(s, get_finding(s, ident))

    def overdue(self) -> dict[str, Any]:
        from changegate.findings.queries import overdue_findings
        from changegate.findings.service import lapse_expired

        with self.tx() as (s, _):
            lapse_expired(s)
            rows = overdue_findings(s)
        return {"overdue": rows, "count": len(rows)}

    def accept(self, ident: str, justification: str, expires: str, by: str) -> dict[str, Any]:
        from changegate.findings.service import accept_risk, get_finding, parse_day

        day = parse_day(expires, "expires")
        with self.tx() as (s, pol):
            finding = get_finding(s, ident, lock=True)
            out = accept_risk(s, pol, finding, actor=by, justification=justification, expires=day)
            return out.audit_state()
