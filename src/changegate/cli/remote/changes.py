"""`changegate change` and `changegate status` against the server (the token's user acts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from changegate.cli.remote.client import RemoteBackend, key, urlencode

if TYPE_CHECKING:
    from changegate.cli.changes import RiskEdit


class RemoteChanges(RemoteBackend):
    def create(self, data: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", "/api/changes", data)
        return out

    def edit(
        self, change: str, data: dict[str, Any], risk: RiskEdit | None, by: str
    ) -> dict[str, Any]:
        from changegate.changes.risk import merge_risk

        path = f"/api/changes/{key(change)}"
        if risk is not None:
            data = data | {"risk": merge_risk(*risk, self.call("GET", path)["risk"])}
        out: dict[str, Any] = self.call("PATCH", path, data | {"by": by})
        return out

    def submit(self, change: str, by: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", f"/api/changes/{key(change)}/submit", {"by": by})
        return out

    def close(self, change: str, by: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", f"/api/changes/{key(change)}/close", {"by": by})
        return out

    def show(self, change: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", f"/api/changes/{key(change)}")
        return out

    def changes(self, state: str | None) -> list[dict[str, Any]]:
        query = f"?{urlencode({'state': state})}" if state else ""
        rows: list[dict[str, Any]] = self.call("GET", f"/api/changes{query}")
        return rows

    def status(self, change: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", f"/api/changes/{key(change)}/status")
        return out
