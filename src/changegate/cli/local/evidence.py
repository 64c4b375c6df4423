"""`changegate evidence add` over the local database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from changegate.cli.local.base import LocalBackend

if TYPE_CHECKING:
    from changegate.cli.evidence import Validation


class LocalEvidence(LocalBackend):
    def junit(self, change: str, content: bytes, filename: str, by: str) -> dict[str, Any]:
        from changegate.changes.service import get_change
        from changegate.evidence.service import add_junit

        with self.tx() as (s, pol):
            c = get_change(s, change, lock=True)
            return add_junit(s, pol, c, content=content, filename=filename, actor=by).audit_state()

    def validation(self, change: str, validation: Validation, by: str) -> dict[str, Any]:
        from changegate.changes.service import get_change
        from changegate.evidence.service import add_validation

        name, result, details, report = validation
        content, filename = report if report else (None, None)
        with self.tx() as (s, pol):
            c = get_change(s, change, lock=True)
            e = add_validation(
                s,
                pol,
                c,
                name=name,
                result=result,
                details=details,
                actor=by,
                report=content,
                report_filename=filename,
            )
            return e.audit_state()

    def document(
        self, change: str, content: bytes, filename: str, kind: str, details: str, by: str
    ) -> dict[str, Any]:
        from changegate.changes.service import get_change
        from changegate.evidence.service import add_document

        with self.tx() as (s, pol):
            c = get_change(s, change, lock=True)
            e = add_document(
                s, pol, c, content=content, filename=filename, kind=kind, actor=by, details=details
            )
            return e.audit_state()
