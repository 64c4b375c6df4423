"""`changegate alerts` over the local database."""

from __future__ import annotations

import contextlib
from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalAlerts(LocalBackend):
    def list(self, open_only: bool) -> dict[str, Any]:
        from changegate.alerts.service import list_alerts, view

        with self.tx(write=False) as (s, pol):
            rows = [view(s, pol, a, ds) for a, ds in list_alerts(s, open_only=open_only)]
        return {"alerts": rows, "count": len(rows)}

    def ack(self, alert_id: str, by: str) -> dict[str, Any]:
        from changegate.alerts.service import acknowledge, get_alert, view

        with self.tx() as (s, pol):
            return view(s, pol, acknowledge(s, pol, get_alert(s, alert_id, lock=True), actor=by))

    def resolve(self, alert_id: str, by: str, notes: str, link: str | None) -> dict[str, Any]:
        from changegate.alerts.service import get_alert, resolve, view

        with self.tx() as (s, pol):
            alert = get_alert(s, alert_id, lock=True)
            return view(s, pol, resolve(s, pol, alert, actor=by, notes=notes, link=link))

    def overdue(self) -> dict[str, Any]:
        from changegate.alerts.service import overdue, view

        with self.tx(write=False) as (s, pol):
            rows = [view(s, pol, a) for a in overdue(s, pol)]
        return {"alerts": rows, "count": len(rows)}

    def deliver(self, once: bool) -> dict[str, Any]:
        """Deliver until interrupted (or, ``once``, until nothing is due)."""
        import threading

        from changegate.alerts import delivery, targets
        from changegate.alerts.worker import pending_count, run, sweep, tick

        configured = targets.configured()
        pol = self.loaded_policy().policy
        worker = delivery.worker_name()
        tried = 0
        if once:
            sweep(self.engine, pol)
            while (n := tick(self.engine, pol, worker=worker)) > 0:
                tried += n
        else:
            with contextlib.suppress(KeyboardInterrupt):
                run(self.engine, pol, worker=worker, stop=threading.Event())
        return {
            "tried": tried,
            "pending": pending_count(self.engine),
            "targets": targets.describe(configured),
        }
