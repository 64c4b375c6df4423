"""`changegate obligations` against the server (what the token's user may see)."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend


class RemoteObligations(RemoteBackend):
    def obligations(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self.call("GET", "/api/obligations")
        return out
