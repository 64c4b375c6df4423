"""`changegate policy review|status` against the server (the token's user reviews)."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend


class RemotePolicyReview(RemoteBackend):
    def review(self, by: str | None, notes: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", "/api/policy/review", {"by": by, "notes": notes})
        return out

    def status(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/api/policy/status")
        return out
