"""`changegate obligations` over the local database (the operator sees every item)."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalObligations(LocalBackend):
    def obligations(self) -> list[dict[str, Any]]:
        from changegate.obligations.service import obligations

        digest = self.policy_digest()
        with self.tx(write=False) as (s, pol):
            return [o.to_dict() for o in obligations(s, pol, digest, may=lambda _: True)]
