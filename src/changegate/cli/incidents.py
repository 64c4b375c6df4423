"""`changegate review-emergency` and `overdue`: what an emergency change owes afterwards (§5)."""

from __future__ import annotations

from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, line


class Backend(Protocol):
    def review_emergency(
        self, change: str, by: str, root_cause: str, actions: str, preventive: str
    ) -> dict[str, Any]: ...
    def overdue(self) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.incidents:LocalIncidents",
        "changegate.cli.remote.incidents:RemoteIncidents",
    )


@command(None, "review-emergency")
@click.argument("change")
@click.option("--by", required=True)
@click.option("--root-cause", "root_cause", required=True)
@click.option("--actions", required=True, help="Actions taken.")
@click.option("--preventive", required=True, help="Preventive controls.")
def review_emergency(
    run: Run, change: str, by: str, root_cause: str, actions: str, preventive: str
) -> None:
    """Record the retrospective and post-incident review of an emergency change (§5).

    Example: changegate review-emergency CHG-2 --by bob --root-cause "..." --actions "..." --preventive "..."
    """
    out = backend(run).review_emergency(change, by, root_cause, actions, preventive)
    run.emit(out, lambda: line(f"{change}: retrospective review recorded by {by}"))


@command(None, "overdue")
def overdue(run: Run) -> int:
    """List emergency changes past their retrospective review deadline; exit 1 if any (for cron and CI).

    Example: changegate overdue --json
    """
    out = backend(run).overdue()
    rows = out["overdue"]

    def human() -> None:
        if not rows:
            line("no overdue emergency reviews")
            return
        from changegate.cli.render import show_rows

        show_rows("overdue retrospective reviews", rows, ["change", "title", "author", "due"])

    run.emit(out, human)
    return 1 if rows else 0
