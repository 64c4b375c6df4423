"""Legal holds, the retention report and purging over the local database."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalRetention(LocalBackend):
    def hold(self, change: str, reason: str, by: str) -> dict[str, Any]:
        from changegate.changes.service import get_change
        from changegate.retention.service import hold

        with self.tx() as (s, pol):
            return hold(
                s, pol, get_change(s, change, lock=True), reason=reason, actor=by
            ).audit_state()

    def release(self, change: str, reason: str, by: str) -> dict[str, Any]:
        from changegate.changes.service import get_change
        from changegate.retention.service import release

        with self.tx() as (s, pol):
            c = get_change(s, change, lock=True)
            return release(s, pol, c, reason=reason, actor=by).audit_state()

    def report(self) -> dict[str, Any]:
        from changegate.retention.service import retention_report

        with self.tx(write=False) as (s, pol):
            return retention_report(s, pol)

    def purge(self, before: str | None, by: str) -> dict[str, Any]:
        from changegate.retention.service import purge

        with self.tx() as (s, pol):
            return purge(s, pol, actor=by, before=before)
