"""`changegate alerts`: violations that reached people, and their investigations (§8)."""

from __future__ import annotations

from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, group, line

alerts = group(
    "alerts",
    "Alerts raised by violations the policy's monitoring.alert_on names, and their "
    "investigations: list, acknowledge, resolve, overdue; the delivery worker.",
)

COLUMNS = ["id", "kind", "state", "created_at", "actor", "summary", "delivery"]


class Backend(Protocol):
    def list(self, open_only: bool) -> dict[str, Any]: ...
    def ack(self, alert_id: str, by: str) -> dict[str, Any]: ...
    def resolve(self, alert_id: str, by: str, notes: str, link: str | None) -> dict[str, Any]: ...
    def overdue(self) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.alerts:LocalAlerts", "changegate.cli.remote.alerts:RemoteAlerts"
    )


def _rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for a in items:
        states = [f"{d['target']}:{d['state']}" for d in a.get("deliveries", [])]
        out.append(a | {"summary": a["summary"][:80], "delivery": " ".join(states) or "-"})
    return out


def _show(title: str, items: list[dict[str, Any]]) -> None:
    if not items:
        line(f"no {title}")
        return
    from changegate.cli.render import show_rows

    show_rows(title, _rows(items), COLUMNS)


@command(alerts, "list")
@click.option("--open", "open_only", is_flag=True, help="Only investigations not resolved yet.")
def alerts_list(run: Run, open_only: bool) -> None:
    """List alerts, newest first, with their delivery state per target.

    Example: changegate alerts list --open
    """
    out = backend(run).list(open_only)
    run.emit(out, lambda: _show("open alerts" if open_only else "alerts", out["alerts"]))


@command(alerts, "ack")
@click.argument("alert_id", metavar="ID")
@click.option("--by", required=True, help="Who takes the investigation.")
def alerts_ack(run: Run, alert_id: str, by: str) -> None:
    """Acknowledge an alert: you own its investigation.

    Example: changegate alerts ack 3 --by sam
    """
    out = backend(run).ack(alert_id, by)
    run.emit(out, lambda: line(f"alert {out['id']} acknowledged by {out['acked_by']}"))


@command(alerts, "resolve")
@click.argument("alert_id", metavar="ID")
@click.option("--notes", required=True, help="What was found and what was done.")
@click.option("--link", default=None, help="The remediation: a URL or a change key (CHG-9).")
@click.option("--by", required=True, help="Who resolves it.")
def alerts_resolve(run: Run, alert_id: str, notes: str, link: str | None, by: str) -> None:
    """Resolve an alert's investigation with notes and a link.

    Example: changegate alerts resolve 3 --notes "deploy stopped; gate fixed" --link CHG-9 --by sam
    """
    out = backend(run).resolve(alert_id, by, notes, link)
    run.emit(out, lambda: line(f"alert {out['id']} resolved by {out['resolved_by']}"))


@command(alerts, "overdue")
def alerts_overdue(run: Run) -> int:
    """List alerts nobody acknowledged within the policy's monitoring.ack_within_hours; exit 1
    if any (for cron and CI).

    Example: changegate alerts overdue --json
    """
    out = backend(run).overdue()
    run.emit(out, lambda: _show("overdue alerts", out["alerts"]))
    return 1 if out["alerts"] else 0


@command(alerts, "deliver")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
def alerts_deliver(run: Run, once: bool) -> None:
    """Run the delivery worker: send pending alerts to the configured targets
    (CHANGEGATE_ALERT_WEBHOOK_URL, CHANGEGATE_ALERT_CONFIG), retrying with backoff. Runs
    against the database (`changegate serve` runs one too). Local only.

    Example: changegate alerts deliver --once
    """
    from changegate.cli.local.alerts import LocalAlerts

    out = LocalAlerts(run.opts).deliver(once)
    run.emit(out, lambda: line(f"{out['tried']} deliveries tried; {out['pending']} pending"))
