"""`changegate approve` and `changegate reject` over the local database."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalReviews(LocalBackend):
    def approve(self, change: str, by: str, comment: str) -> dict[str, Any]:
        from changegate.reviews.service import approve

        return self._decide(approve, change, by, comment)

    def reject(self, change: str, by: str, comment: str) -> dict[str, Any]:
        from changegate.reviews.service import reject

        return self._decide(reject, change, by, comment)

    def _decide(self, decide: Any, change: str, by: str, comment: str) -> dict[str, Any]:
        """The review ``decide`` records, and the change's state after it."""
        from changegate.changes.service import get_change

        with self.tx() as (s, pol):
            c = get_change(s, change, lock=True)
            review = decide(s, pol, c, actor=by, comment=comment)
            return review.audit_state() | {"state": c.state}  # type: ignore[no-any-return]
