"""`changegate evidence add` against the server: files travel base64-encoded in JSON."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from changegate.cli.remote.client import RemoteBackend, key

if TYPE_CHECKING:
    from changegate.cli.evidence import Validation


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


class RemoteEvidence(RemoteBackend):
    def _attach(self, change: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", f"/api/changes/{key(change)}/evidence/{kind}", body)
        return out

    def junit(self, change: str, content: bytes, filename: str, by: str) -> dict[str, Any]:
        body = {"filename": filename, "content_base64": _b64(content), "by": by}
        return self._attach(change, "junit", body)

    def validation(self, change: str, validation: Validation, by: str) -> dict[str, Any]:
        name, result, details, report = validation
        body: dict[str, Any] = {"name": name, "result": result, "details": details, "by": by}
        if report is not None:
            body |= {"report_filename": report[1], "report_base64": _b64(report[0])}
        return self._attach(change, "validation", body)

    def document(
        self, change: str, content: bytes, filename: str, kind: str, details: str, by: str
    ) -> dict[str, Any]:
        body = {"filename": filename, "content_base64": _b64(content), "by": by}
        return self._attach(change, "document", body | {"kind": kind, "details": details})
