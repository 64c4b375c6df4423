"""`changegate policy` against the server: its parser checks the file, its policy is shown."""

from __future__ import annotations

from typing import Any

from changegate.cli.remote.client import RemoteBackend


class RemotePolicy(RemoteBackend):
    def check(self, path: str, text: str) -> dict[str, Any]:
        out: dict[str, Any] = self.call("POST", "/api/policy/check", {"text": text, "file": path})
        return out | {"rules": _rule_count(text)}

    def show(self) -> dict[str, Any]:
        out: dict[str, Any] = self.call("GET", "/api/policy")
        return out


def _rule_count(text: str) -> int:
    """The rule count is not in the server's answer; the file says it once it is valid."""
    import yaml

    data = yaml.safe_load(text)
    return len(data.get("rules") or []) if isinstance(data, dict) else 0
