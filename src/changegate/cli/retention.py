"""Retention of the record: `change hold` / `change release` (legal holds), `audit retention`
(what is past the policy's retention period) and `audit purge` (evidence bytes past it)."""

from __future__ import annotations

from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, line


class Backend(Protocol):
    def hold(self, change: str, reason: str, by: str) -> dict[str, Any]: ...
    def release(self, change: str, reason: str, by: str) -> dict[str, Any]: ...
    def report(self) -> dict[str, Any]: ...
    def purge(self, before: str | None, by: str) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.retention:LocalRetention",
        "changegate.cli.remote.retention:RemoteRetention",
    )


def _on_hold(run: Run, action: str, change: str, reason: str, by: str) -> None:
    """`change hold` / `change release`: the backend's answer, the hold as it now is."""
    out = getattr(backend(run), action)(change, reason, by)
    run.emit(out, lambda: _show_hold(out))


def _show_hold(out: dict[str, Any]) -> None:
    if out["released_at"] is None:
        line(
            f"{out['change']} on legal hold (hold {out['id']} by {out['held_by']}): {out['reason']}"
        )
    else:
        line(f"{out['change']} legal hold {out['id']} released by {out['released_by']}")


@command(None, "hold")
@click.argument("change")
@click.option("--reason", required=True, help="Why the change is held (e.g. the matter).")
@click.option("--by", required=True, help="Who places the hold (policy: retention.hold).")
def change_hold(run: Run, change: str, reason: str, by: str) -> None:
    """Place a legal hold on a change: nothing of its record is purged until it is released.

    Example: changegate change hold CHG-7 --reason "litigation 2027-14" --by ada
    """
    _on_hold(run, "hold", change, reason, by)


@command(None, "release")
@click.argument("change")
@click.option("--reason", default="", help="Why the hold ends.")
@click.option("--by", required=True, help="Who releases it (policy: retention.hold).")
def change_release(run: Run, change: str, reason: str, by: str) -> None:
    """Release the legal hold on a change (the hold stays in the record).

    Example: changegate change release CHG-7 --reason "matter closed" --by ada
    """
    _on_hold(run, "release", change, reason, by)


@command(None, "retention")
def audit_retention(run: Run) -> None:
    """List what is past the policy's retention period: changes, and evidence files (with
    whether each may be purged, or what keeps it: a legal hold, another change).

    A change is retained for `retention.audit_years` after its last activity (its last update
    or the last evidence attached to it).

    Example: changegate audit retention --json
    """
    out = backend(run).report()

    def human() -> None:
        from changegate.cli.render import show_rows

        line(f"retention {out['retention_years']} years, as of {out['as_of']}")
        show_rows("changes past retention", out["changes"], ["change", "retained_until", "held"])
        rows = [b | {"why": b["blocked"] or "purgeable"} for b in out["blobs"]]
        show_rows("evidence files past retention", rows, ["sha256", "size", "changes", "why"])
        if out["purged"]:
            line(f"{len(out['purged'])} evidence files purged already")

    run.emit(out, human)


@command(None, "purge")
@click.option(
    "--before",
    help="Only files whose retention ended before this date (ISO 8601; default: now).",
)
@click.option("--by", required=True, help="Who purges (policy: retention.purge).")
def audit_purge(run: Run, before: str | None, by: str) -> None:
    """Erase the bytes of evidence files past retention and on no change under legal hold.

    Each file's purge is an audit event naming its SHA-256; hashes and sizes stay, and
    `audit verify` reports the files as purged per retention.

    Example: changegate audit purge --before 2026-01-01 --by ada
    """
    out = backend(run).purge(before, by)

    def human() -> None:
        for p in out["purged"]:
            line(
                f"purged {p['sha256']} ({p['size']} bytes; {', '.join(p['changes'])}) event #{p['event']}"
            )
        line(f"{out['count']} evidence files purged (retention ended before {out['before']})")

    run.emit(out, human)
