"""`changegate audit`: verify the tamper-evident record, read its timeline, export it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TextIO

import click

from changegate.cli.core import Run, command, group, line

audit = group(
    "audit",
    "The tamper-evident audit record: verify, log, export.",
    lazy={"git": "changegate.cli.git:audit_git"},
)

#: opens where the export goes, once there is something to write
Opener = Callable[[], AbstractContextManager[TextIO]]


class Backend(Protocol):
    def verify(self, anchors: list[str], deep: bool) -> dict[str, Any]: ...
    def log(
        self, change: str | None, limit: int | None
    ) -> tuple[str | None, list[dict[str, Any]]]: ...
    def export(self, open_out: Opener) -> int: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.audit:LocalAudit", "changegate.cli.remote.audit:RemoteAudit"
    )


@command(audit, "verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    help="SEQ:HASH of a head printed earlier and kept outside the database; the chain must "
    "still pass through it (catches a rewrite of the whole log).",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Also have the database recompute every index entry of the log (slower; catches an "
    "index rebuilt under a forged definition by someone who could edit the database file).",
)
def audit_verify(run: Run, anchors: tuple[str, ...], deep: bool) -> int:
    """Recompute the hash chain and check every record against its last audit event; exit 1 on a break.

    Example: changegate audit verify --anchor 1042:3f6c...   (the head printed last time)
    """
    out = backend(run).verify(list(anchors), deep)

    def human() -> None:
        from changegate.cli.render import show_verify

        show_verify(out)

    run.emit(out, human)
    return 0 if out["ok"] else 1


@command(audit, "log")
@click.argument("change", required=False)
@click.option("--limit", type=int, help="Only the last N events.")
def audit_log(run: Run, change: str | None, limit: int | None) -> None:
    """Show the audit timeline, of everything or of one change (CHANGE, e.g. CHG-1).

    Example: changegate audit log CHG-1
    """
    key, rows = backend(run).log(change, limit)

    def human() -> None:
        from changegate.cli.render import show_timeline

        show_timeline(f"audit log{' of ' + key if key else ''}", rows)

    run.emit(rows, human)


@command(audit, "export")
@click.option("--out", required=True, help="File to write (JSON Lines), '-' for stdout.")
def audit_export(run: Run, out: str) -> None:
    """Export every event as JSON Lines: the exact stored bytes plus leaf and chain hashes.

    Example: changegate audit export --out audit.jsonl
    """
    n = backend(run).export(lambda: _opened(out))
    if out != "-":
        run.emit({"events": n, "file": out}, lambda: line(f"exported {n} events to {out}"))


@contextmanager
def _opened(target: str) -> Iterator[TextIO]:
    """The file named by --out, or stdout for '-' (left open)."""
    if target == "-":
        yield sys.stdout
        return
    from changegate.errors import InvalidInput

    try:
        fh = open(target, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InvalidInput(
            f"--out {target}: cannot write the file ({exc.strerror})", field="out"
        ) from None
    with fh:
        yield fh
