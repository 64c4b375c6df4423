"""`changegate access` over the local database."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalAccess(LocalBackend):
    def open(
        self, fields: dict[str, Any], csv: bytes | None, draft: bool, by: str
    ) -> dict[str, Any]:
        from changegate.access import service

        with self.tx() as (s, pol):
            review = service.start_review(s, pol, csv=csv, draft=draft, actor=by, **fields)
            return service.review_view(s, review, with_items=False)

    def reviews(self) -> list[dict[str, Any]]:
        from changegate.access import service

        with self.tx(write=False) as (s, _):
            return [service.review_view(s, r, with_items=False) for r in service.list_reviews(s)]

    def show(self, review: int) -> dict[str, Any]:
        from changegate.access import service

        with self.tx(write=False) as (s, _):
            return service.review_view(s, service.get_review(s, review))

    def decide(
        self, review: int, item: int, decision: str, justification: str, by: str
    ) -> dict[str, Any]:
        from changegate.access import service

        with self.tx() as (s, pol):
            r, it = service.locked_item(s, review, item)
            service.decide(s, pol, r, it, decision=decision, justification=justification, actor=by)
            return it.audit_state()

    def apply(
        self, review: int, item: int, reference: str, verified: str | None, by: str
    ) -> dict[str, Any]:
        from changegate.access import service
        from changegate.access.schedule import parse_day

        day = parse_day(verified, "verified")
        with self.tx() as (s, pol):
            r, it = service.locked_item(s, review, item)
            service.apply_decision(s, pol, r, it, actor=by, reference=reference, verified_on=day)
            return it.audit_state()

    def close(self, review: int, by: str) -> dict[str, Any]:
        from changegate.access import service

        with self.tx() as (s, pol):
            r = service.close_review(s, pol, service.get_review(s, review, lock=True), actor=by)
            return service.review_view(s, r, with_items=False)

    def overdue(self) -> dict[str, Any]:
        from changegate.access.reports import due

        with self.tx(write=False) as (s, pol):
            return due(s, pol).to_dict()

    def export(self, review: int) -> dict[str, str]:
        from changegate.access import service
        from changegate.access.reports import export

        with self.tx(write=False) as (s, _):
            files = export(s, service.get_review(s, review))
        return {name: data.decode("utf-8") for name, data in files.items()}
