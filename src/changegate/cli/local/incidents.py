"""`changegate review-emergency` and `overdue` over the local database."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalIncidents(LocalBackend):
    def review_emergency(
        self, change: str, by: str, root_cause: str, actions: str, preventive: str
    ) -> dict[str, Any]:
        from changegate.changes.service import get_change
        from changegate.incidents.service import review_emergency

        with self.tx() as (s, pol):
            review = review_emergency(
                s,
                pol,
                get_change(s, change, lock=True),
                actor=by,
                root_cause=root_cause,
                actions_taken=actions,
                preventive_controls=preventive,
            )
            out: dict[str, Any] = review.audit_state()
        return out

    def overdue(self) -> dict[str, Any]:
        from changegate.incidents.service import overdue

        with self.tx(write=False) as (s, pol):
            rows = [x.to_dict() for x in overdue(s, pol)]
        return {"overdue": rows, "count": len(rows)}
