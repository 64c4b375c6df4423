"""`changegate dora` against the server."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend, urlencode
from changegate.errors import InvalidInput


class RemoteDora(RemoteBackend):
    def dora(
        self, env: str, start: str | None, end: str | None, service: str | None, repo: str | None
    ) -> dict[str, Any]:
        if repo is not None:
            raise InvalidInput(
                "--repo reads commit times on this machine, which works against a local "
                "database only (unset CHANGEGATE_URL, or leave --repo out)",
                field="repo",
            )
        params = {"env": env, "from": start, "to": end, "service": service}
        query = urlencode({k: v for k, v in params.items() if v is not None})
        out: dict[str, Any] = self.call("GET", f"/api/dora?{query}")
        return out
