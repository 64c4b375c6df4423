"""`changegate approve` and `changegate reject`: a reviewer's decision on a change."""

from __future__ import annotations

from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, line


class Backend(Protocol):
    def approve(self, change: str, by: str, comment: str) -> dict[str, Any]: ...
    def reject(self, change: str, by: str, comment: str) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.reviews:LocalReviews", "changegate.cli.remote.reviews:RemoteReviews"
    )


@command(None, "approve")
@click.argument("change")
@click.option("--by", required=True, help="The approver.")
@click.option("--comment", default="")
def approve(run: Run, change: str, by: str, comment: str) -> None:
    """Approve a change. Nobody approves their own change; the approver's role must be one asked for.

    Example: changegate approve CHG-1 --by bob --comment "LGTM"
    """
    out = backend(run).approve(change, by, comment)
    run.emit(
        out, lambda: line(f"{out['change']} approved by {out['reviewer']}; state {out['state']}")
    )


@command(None, "reject")
@click.argument("change")
@click.option("--by", required=True)
@click.option("--comment", required=True, help="What must change.")
def reject(run: Run, change: str, by: str, comment: str) -> None:
    """Reject a change with a comment.

    Example: changegate reject CHG-1 --by bob --comment "no rollback plan tested"
    """
    out = backend(run).reject(change, by, comment)
    run.emit(out, lambda: line(f"{out['change']} rejected by {out['reviewer']}"))
