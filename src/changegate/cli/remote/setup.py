"""`changegate init` against the server: it migrates itself; report what it runs."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend


class RemoteSetup(RemoteBackend):
    def init(self) -> dict[str, Any]:
        health = self.call("GET", "/healthz")
        return {
            "db": self.client.url,
            "schema": health["schema_revision"],
            "previous_schema": health["schema_revision"],
            "policy": health["policy"],
            "policy_digest": health["policy_digest"],
        }
