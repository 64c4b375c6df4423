"""`changegate init`: create or upgrade the database and load the policy."""

from __future__ import annotations

from typing import Any, Protocol

from changegate.cli.core import Run, command, line


class Backend(Protocol):
    def init(self) -> dict[str, Any]: ...


@command(None, "init")
def init(run: Run) -> None:
    """Create or upgrade the database and load the policy.

    Example: changegate init --db sqlite:///changes.db
    """
    be: Backend = run.backend(
        "changegate.cli.local.setup:LocalSetup", "changegate.cli.remote.setup:RemoteSetup"
    )
    out = be.init()
    run.emit(
        out,
        lambda: line(
            f"database ready at {out['db']} (schema {out['schema']}); policy {out['policy']} loaded"
        ),
    )
