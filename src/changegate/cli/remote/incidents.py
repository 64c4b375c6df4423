"""`changegate review-emergency` and `overdue` against the server."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend, key


class RemoteIncidents(RemoteBackend):
    def review_emergency(
        self, change: str, by: str, root_cause: str, actions: str, preventive: str
    ) -> dict[str, Any]:
        body = {"by": by, "root_cause": root_cause, "actions": actions, "preventive": preventive}
        out: dict[str, Any] = self.call(
            "POST", f"/api/changes/{key(change)}/emergency-review", body
        )
        return out

    def overdue(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/api/overdue")
        return out
