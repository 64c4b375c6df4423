"""`changegate ai` against the server: what a check saw travels as JSON (files base64-encoded);
the server judges it and stores the evidence. The actor is the token's user."""

from __future__ import annotations

import base64
from typing import Any

from changegate.cli.remote.client import RemoteBackend, key

#: request fields that carry a file's bytes -> the JSON field with them base64-encoded
_FILES = {"content": "content_base64", "before": "before_base64"}


def _encoded(body: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in body.items() if k not in _FILES}
    for name, field in _FILES.items():
        if body.get(name) is not None:
            out[field] = base64.b64encode(body[name]).decode()
    return out


class RemoteAi(RemoteBackend):
    def _on(self, change: str, what: str, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", f"/api/changes/{key(change)}/ai/{what}", body)
        return out

    def preflight(self, change: str, by: str, baseline_for: str | None) -> dict[str, Any]:
        return self._on(change, "preflight", {"by": by, "baseline_for": baseline_for})

    def regress(self, change: str, by: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._on(change, "regress", body | {"by": by})

    def check(self, change: str, by: str, check: str, seen: dict[str, Any]) -> dict[str, Any]:
        return self._on(change, check, {"by": by, "observation": seen})

    def import_results(self, change: str, by: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._on(change, "import", _encoded(body) | {"by": by})

    def assess(self, change: str, by: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._on(change, "assess", body | {"by": by})

    def provider_add(self, by: str | None, body: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", "/api/ai/providers", body | {"by": by})
        return out

    def provider_dpa(self, name: str, by: str, body: dict[str, Any]) -> dict[str, Any]:
        path = f"/api/ai/providers/{key(name)}/dpa"
        out: dict[str, Any] = self.call("POST", path, _encoded(body) | {"by": by})
        return out

    def providers(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/api/ai/providers")
        return out
