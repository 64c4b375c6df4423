"""`changegate findings` against the server."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend, key, urlencode


class RemoteFindings(RemoteBackend):
    def import_scan(
        self, data: bytes, fmt: str, scope: str | None, kev: bytes | None, by: str
    ) -> dict[str, Any]:
        import base64

        body: dict[str, Any] = {
            "format": fmt,
            "content_base64": base64.b64encode(data).decode(),
            "by": by,
        }
        if scope is not None:
            body["scope"] = scope
        if kev is not None:
            body["kev_base64"] = base64.b64encode(kev).decode()
        out: dict[str, Any] = self.call("POST", "/api/findings/import", body)
        return out

    def list(self, status: str | None, severity: str | None, scope: str | None) -> dict[str, Any]:
        params = {
            k: v for k, v in (("status", status), ("severity", severity), ("scope", scope)) if v
        }
        query = f"?{urlencode(params)}" if params else ""
        out: dict[str, Any] = self.call("GET", f"/api/findings{query}")
        return out

    def show(self, ident: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", f"/api/findings/{key(ident)}")
        return out

    def overdue(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/api/findings/overdue")
        return out

    def accept(self, ident: str, justification: str, expires: str, by: str) -> dict[str, Any]:
        body = {"justification": justification, "expires": expires, "by": by}
        out: dict[str, Any] = self.call("POST", f"/api/findings/{key(ident)}/accept", body)
        return out
