"""Legal holds, the retention report and purging against the server."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend, key


class RemoteRetention(RemoteBackend):
    def hold(self, change: str, reason: str, by: str) -> dict[str, Any]:
        body = {"reason": reason, "by": by}
        out: dict[str, Any] = self.call("POST", f"/api/changes/{key(change)}/hold", body)
        return out

    def release(self, change: str, reason: str, by: str) -> dict[str, Any]:
        body = {"reason": reason, "by": by}
        out: dict[str, Any] = self.call("POST", f"/api/changes/{key(change)}/release", body)
        return out

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/api/audit/retention")
        return out

    def purge(self, before: str | None, by: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", "/api/audit/purge", {"before": before, "by": by})
        return out
