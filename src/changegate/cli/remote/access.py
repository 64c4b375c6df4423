"""`changegate access` against the server."""

from __future__ import annotations

import base64
from typing import Any

from changegate.cli.remote.client import RemoteBackend

BASE = "/api/access/reviews"


class RemoteAccess(RemoteBackend):
    def open(
        self, fields: dict[str, Any], csv: bytes | None, draft: bool, by: str
    ) -> dict[str, Any]:
        body = {k: v for k, v in fields.items() if v} | {"draft": draft, "by": by}
        if csv is not None:
            body["csv_base64"] = base64.b64encode(csv).decode("ascii")
        out: dict[str, Any] = self.call("POST", BASE, body)
        return out

    def reviews(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self.call("GET", BASE)
        return out

    def show(self, review: int) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", f"{BASE}/{review}")
        return out

    def decide(
        self, review: int, item: int, decision: str, justification: str, by: str
    ) -> dict[str, Any]:
        body = {"decision": decision, "justification": justification, "by": by}
        out: dict[str, Any] = self.call("POST", f"{BASE}/{review}/items/{item}/decision", body)
        return out

    def apply(
        self, review: int, item: int, reference: str, verified: str | None, by: str
    ) -> dict[str, Any]:
        body = {"reference": reference, "verified": verified, "by": by}
        out: dict[str, Any] = self.call("POST", f"{BASE}/{review}/items/{item}/apply", body)
        return out

    def close(self, review: int, by: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", f"{BASE}/{review}/close", {"by": by})
        return out

    def overdue(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/api/access/overdue")
        return out

    def export(self, review: int) -> dict[str, str]:
        out: dict[str, str] = self.call("GET", f"{BASE}/{review}/export")
        return out
