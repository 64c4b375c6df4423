"""`changegate policy` over the local policy file."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalPolicy(LocalBackend):
    def check(self, path: str, text: str) -> dict[str, Any]:
        from changegate.policy.loader import check_policy_text

        pol, found = check_policy_text(text)
        return {
            "file": path,
            "valid": pol is not None,
            "errors": [{"path": p.path, "message": p.message} for p in found],
            "policy": pol.label if pol else None,
            "rules": len(pol.rules) if pol else 0,
        }

    def show(self) -> dict[str, Any]:
        loaded = self.loaded_policy()
        data: dict[str, Any] = loaded.validated().model_dump(mode="json", by_alias=True)
        return data | {"digest": loaded.digest, "source": loaded.source}
