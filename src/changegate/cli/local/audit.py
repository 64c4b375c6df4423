"""`changegate audit` over the local database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from changegate.cli.local.base import LocalBackend

if TYPE_CHECKING:
    from changegate.cli.audit import Opener


class LocalAudit(LocalBackend):
    def verify(self, anchors: list[str], deep: bool) -> dict[str, Any]:
        from changegate.audit.verify import Anchor, verify

        parsed = [Anchor.parse(a) for a in anchors]
        with self.tx(write=False) as (s, _):
            out: dict[str, Any] = verify(s, anchors=parsed, deep=deep).to_dict()
        return out

    def log(self, change: str | None, limit: int | None) -> tuple[str | None, list[dict[str, Any]]]:
        from changegate.audit.service import timeline
        from changegate.audit.timeline_rows import timeline_rows
        from changegate.changes.service import get_change

        with self.tx(write=False) as (s, _):
            key = get_change(s, change).key if change else None
            entries = timeline(s, change_key=key, limit=limit)
            return key, timeline_rows(entries)

    def export(self, open_out: Opener) -> int:
        from changegate.audit.export import export_jsonl

        with self.tx(write=False) as (s, _), open_out() as fh:
            return export_jsonl(s, fh)
