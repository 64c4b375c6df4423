"""`changegate obligations`: what is owed now (investigations, emergency reviews, findings past
their SLA, the access review, the policy review, the audit log); exit 1 when any is overdue."""

from __future__ import annotations

from typing import Any, Protocol

from changegate.cli.core import Run, command


class Backend(Protocol):
    def obligations(self) -> list[dict[str, Any]]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.obligations:LocalObligations",
        "changegate.cli.remote.obligations:RemoteObligations",
    )


@command(name="obligations")
def obligations(run: Run) -> int:
    """List what is owed now, worst first; exit 1 when anything is overdue (for cron and CI).

    Example: changegate obligations || notify-team "changegate: something is overdue"
    """
    out = backend(run).obligations()

    def human() -> None:
        from changegate.cli.render import show_rows

        show_rows("obligations", out, ["status", "title", "summary", "link"])

    run.emit(out, human)
    return 1 if any(o["status"] == "overdue" for o in out) else 0
