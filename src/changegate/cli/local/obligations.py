"""`changegate obligations` over the local database (the operator sees every item)."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalObligations(LocalBackend):
    def obligations(self) -> list[dict[str, Any]]:
        from changegate.obligations.service import obligations
        from changegate.policy.loader import policy_digest, read_policy_text

        digest = policy_digest(read_policy_text(self.opts.policy)[0])
        with self.tx(write=False) as (s, pol):
            return [o.to_dict() for o in obligations(s, pol, digest, may=lambda _: True)]
