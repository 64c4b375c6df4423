"""`changegate audit` over the local database."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from changegate.cli.local.base import LocalBackend

if TYPE_CHECKING:
    from changegate.cli.audit import Opener


class LocalAudit(LocalBackend):
    def verify(self, anchors: list[str], deep: bool) -> dict[str, Any]:
        from changegate.audit.verification import verify_and_record
        from changegate.audit.verify import Anchor
        from changegate.cli.local.base import OPERATOR

        parsed = [Anchor.parse(a) for a in anchors]
        with self.tx(write=False) as (s, _):
            report = verify_and_record(s, self.engine, actor=OPERATOR, anchors=parsed, deep=deep)
            out: dict[str, Any] = report.to_dict()
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

    def checkpoint(self, key_file: str) -> str:
        from pathlib import Path

        from changegate.audit.checkpoint import load_signer
        from changegate.audit.checkpoint_service import sign
        from changegate.cli.local.base import OPERATOR

        signer = load_signer(Path(key_file))
        with self.tx() as (s, _):
            return sign(s, signer, actor=OPERATOR)

    def check_checkpoint(self, note: str, vkey: str) -> dict[str, Any]:
        from changegate.audit.checkpoint import load_vkey
        from changegate.audit.checkpoint_service import check

        key = load_vkey(vkey)
        with self.tx(write=False) as (s, _):
            return check(s, note, key)

    def proof(self, seq: int, size: int | None) -> dict[str, Any]:
        from changegate.audit.tree import inclusion

        with self.tx(write=False) as (s, _):
            return inclusion(s, seq, size).to_dict()
