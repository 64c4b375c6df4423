"""`changegate approve` and `changegate reject` against the server (the token's user decides)."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend, key


class RemoteReviews(RemoteBackend):
    def approve(self, change: str, by: str, comment: str) -> dict[str, Any]:
        return self._decide("approve", change, by, comment)

    def reject(self, change: str, by: str, comment: str) -> dict[str, Any]:
        return self._decide("reject", change, by, comment)

    def _decide(self, verdict: str, change: str, by: str, comment: str) -> dict[str, Any]:
        body = {"by": by, "comment": comment}
        out: dict[str, Any] = self.call("POST", f"/api/changes/{key(change)}/{verdict}", body)
        return out
