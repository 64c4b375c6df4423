"""`changegate policy review|status` over the local database."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalPolicyReview(LocalBackend):
    def review(self, by: str | None, notes: str) -> dict[str, Any]:
        from changegate.errors import InvalidInput
        from changegate.policy.review import record_review

        if not by:
            raise InvalidInput("--by: name who reviewed the policy", field="by")
        with self.tx() as (s, pol):
            done = record_review(s, pol, self.policy_digest(), actor=by, notes=notes)
            return done.to_dict()

    def status(self) -> dict[str, Any]:
        from changegate.policy.review import review_status, today

        with self.tx(write=False) as (s, pol):
            return review_status(s, pol, self.policy_digest()).to_dict(today())
