"""`changegate alerts` against the server."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from changegate.cli.remote.client import RemoteBackend


def _id(alert_id: str) -> str:
    return quote(alert_id.removeprefix("#"), safe="")


class RemoteAlerts(RemoteBackend):
    def list(self, open_only: bool) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/api/alerts" + ("?open=true" if open_only else ""))
        return out

    def ack(self, alert_id: str, by: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", f"/api/alerts/{_id(alert_id)}/ack", {"by": by})
        return out

    def resolve(self, alert_id: str, by: str, notes: str, link: str | None) -> dict[str, Any]:
        body = {"by": by, "notes": notes, "link": link}
        out: dict[str, Any] = self.call("POST", f"/api/alerts/{_id(alert_id)}/resolve", body)
        return out

    def overdue(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/api/alerts/overdue")
        return out
