"""`changegate dora`: the DORA delivery metrics of the recorded deployments."""

from __future__ import annotations

from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, line


class Backend(Protocol):
    def dora(
        self, env: str, start: str | None, end: str | None, service: str | None, repo: str | None
    ) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.dora:LocalDora", "changegate.cli.remote.dora:RemoteDora"
    )


@command(name="dora")
@click.option("--env", default="production", show_default=True, help="The environment.")
@click.option(
    "--from", "start", help="Start of the window (date or time, UTC); default 90 days ago."
)
@click.option("--to", "end", help="End of the window (a date includes that day); default now.")
@click.option("--service", help="Only changes touching this component of the policy.")
@click.option(
    "--repo",
    type=click.Path(file_okay=False),
    help="A clone of the repository: lead time starts at each change's first commit "
    "(without it, at the change's creation). Local database only.",
)
def dora_metrics(
    run: Run, env: str, start: str | None, end: str | None, service: str | None, repo: str | None
) -> None:
    """Deployment frequency, change lead time, change fail rate, failed deployment recovery
    time and deployment rework rate (dora.dev), with a weekly series; docs/dora.md says how
    each is counted.

    Example: changegate dora --from 2026-07-01 --to 2026-09-30 --repo .
    """
    out = backend(run).dora(env, start, end, service, repo)
    run.emit(out, lambda: show_dora(out))


def show_dora(out: dict[str, Any]) -> None:
    from changegate.cli.render import show_rows

    lead, recovery = out["lead_time_hours"], out["recovery_time_hours"]
    where = out["environment"] + (f", service {out['service']}" if out["service"] else "")
    line(f"DORA metrics of {where}, {out['from']} to {out['to']}")
    line(f"deployments: {out['deployments']} ({out['deployment_frequency_per_week']} per week)")
    line(
        f"change lead time: median {_h(lead['median'])}, p90 {_h(lead['p90'])} over "
        f"{lead['changes']} changes ({lead['from_first_commit']} from their first commit, "
        f"{lead['from_creation']} from creation)"
    )
    line(
        f"change fail rate: {_pct(out['change_fail_rate'])} ({len(out['failed_deployments'])} failed)"
    )
    line(
        f"failed deployment recovery time: median {_h(recovery['median'])} "
        f"({recovery['unrecovered']} not recovered)"
    )
    line(
        f"deployment rework rate: {_pct(out['deployment_rework_rate'])} "
        f"({out['rework_deployments']} unplanned, of which {out['rollbacks']} rollbacks)"
    )
    show_rows(
        "weekly",
        out["weekly"],
        ["week", "deployments", "failed", "change_fail_rate", "median_lead_time_hours"],
    )


def _h(hours: float | None) -> str:
    return "n/a" if hours is None else f"{hours:g} h"


def _pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"
