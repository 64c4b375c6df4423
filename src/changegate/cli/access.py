"""`changegate access`: periodic access reviews (policy §7, docs/access-reviews.md)."""

from __future__ import annotations

import sys
from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, group, line

access = group("access", "Periodic access reviews of who can do what (policy §7).")

ITEM_COLUMNS = [
    "id", "subject", "system", "entitlement", "privileged", "last_activity_at", "decision",
    "decided_by", "applied_at",
]  # fmt: skip
REVIEW_COLUMNS = ["id", "name", "state", "due_on", "owner", "population_count", "closed_by"]


class Backend(Protocol):
    def open(
        self, fields: dict[str, Any], csv: bytes | None, draft: bool, by: str
    ) -> dict[str, Any]: ...
    def reviews(self) -> list[dict[str, Any]]: ...
    def show(self, review: int) -> dict[str, Any]: ...
    def decide(
        self, review: int, item: int, decision: str, justification: str, by: str
    ) -> dict[str, Any]: ...
    def apply(
        self, review: int, item: int, reference: str, verified: str | None, by: str
    ) -> dict[str, Any]: ...
    def close(self, review: int, by: str) -> dict[str, Any]: ...
    def overdue(self) -> dict[str, Any]: ...
    def export(self, review: int) -> dict[str, str]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.access:LocalAccess", "changegate.cli.remote.access:RemoteAccess"
    )


REVIEW = click.argument("review", type=click.IntRange(1, 2**31 - 1))
ITEM = click.argument("item", type=click.IntRange(1, 2**31 - 1))
BY = click.option("--by", required=True, help="Who acts (a changegate user).")


@command(access, "open")
@click.option("--name", required=True, help="The campaign's name, e.g. '2026 Q4 production'.")
@click.option("--csv", "csv_file", help="Other systems' access: subject,system,entitlement.")
@click.option("--due", help="Due date YYYY-MM-DD (default: access_review_interval_days on).")
@click.option("--scope", default="", help="What the campaign covers.")
@click.option("--period", default="", help="The period reviewed, e.g. 2026-Q4.")
@click.option("--draft", is_flag=True, help="Create it as a draft without opening it.")
@BY
def access_open(
    run: Run,
    name: str,
    csv_file: str | None,
    due: str | None,
    scope: str,
    period: str,
    draft: bool,
    by: str,
) -> None:
    """Open an access review: snapshot every user, role and token (and the CSV's rows); print
    its id.

    Example: changegate access open --name "2026 Q4" --csv aws.csv --by ada
    """
    from changegate.cli.core import read_file

    data = read_file(csv_file, "csv") if csv_file else None
    fields = {"name": name, "due": due, "scope": scope, "period": period}
    out = backend(run).open(fields, data, draft, by)

    def human() -> None:
        line(str(out["id"]))
        sys.stderr.write(
            f"access review {out['id']} {out['state']}: {out['population_count']} entitlements, "
            f"population sha256 {out['population_sha256'] or '-'}, due {out['due_on']}\n"
        )

    run.emit(out, human)


@command(access, "list")
def access_list(run: Run) -> None:
    """List access reviews.

    Example: changegate access list --json
    """
    rows = backend(run).reviews()
    run.emit(rows, lambda: _rows("access reviews", rows, REVIEW_COLUMNS))


@command(access, "show")
@REVIEW
def access_show(run: Run, review: int) -> None:
    """Show an access review and its items.

    Example: changegate access show 1
    """
    out = backend(run).show(review)

    def human() -> None:
        counts = ", ".join(f"{k} {v}" for k, v in out["counts"].items())
        line(f"access review {out['id']} {out['name']!r}: {out['state']}, due {out['due_on']}")
        line(f"population {out['population_count']} sha256 {out['population_sha256']}; {counts}")
        _rows("items", out["items"], ITEM_COLUMNS)

    run.emit(out, human)


@command(access, "decide")
@REVIEW
@ITEM
@click.option(
    "--decision", required=True, type=click.Choice(["keep", "revoke", "modify"]), help="Decision."
)
@click.option("--justification", default="", help="Why (required to keep privileged access).")
@BY
def access_decide(
    run: Run, review: int, item: int, decision: str, justification: str, by: str
) -> None:
    """Decide one item of an open access review (never your own access).

    Example: changegate access decide 1 7 --decision revoke --by sam
    """
    out = backend(run).decide(review, item, decision, justification, by)
    run.emit(out, lambda: line(f"item {out['id']} ({out['subject']}): {out['decision']}"))


@command(access, "apply")
@REVIEW
@ITEM
@click.option("--reference", default="", help="Ticket or change that carried it out.")
@click.option("--verified", help="Day the removal was verified, YYYY-MM-DD (default: today).")
@BY
def access_apply(
    run: Run, review: int, item: int, reference: str, verified: str | None, by: str
) -> None:
    """Carry out a revoke or modify decision: changegate roles and tokens are revoked here;
    other systems' are recorded with --reference.

    Example: changegate access apply 1 7 --by ada
    """
    out = backend(run).apply(review, item, reference, verified, by)
    run.emit(
        out, lambda: line(f"item {out['id']}: {out['decision']} carried out ({out['reference']})")
    )


@command(access, "close")
@REVIEW
@BY
def access_close(run: Run, review: int, by: str) -> None:
    """Sign off and close an access review (every item decided and carried out).

    Example: changegate access close 1 --by artur
    """
    out = backend(run).close(review, by)
    run.emit(out, lambda: line(f"access review {out['id']} closed by {out['closed_by']}"))


@command(access, "overdue")
def access_overdue(run: Run) -> int:
    """When the next access review is due; exit 1 when it is overdue (for cron and CI).

    Example: changegate access overdue --json
    """
    out = backend(run).overdue()

    def human() -> None:
        state = "OVERDUE" if out["overdue"] else "not overdue"
        line(f"next access review due {out['due']} ({out['basis']}): {state}")

    run.emit(out, human)
    return 1 if out["overdue"] else 0


@command(access, "export")
@REVIEW
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder.")
def access_export(run: Run, review: int, out_dir: str) -> None:
    """Write before.csv, decisions.csv and after.csv of an access review for the auditor.

    Example: changegate access export 1 --out audit/2026-q4
    """
    from pathlib import Path

    files = backend(run).export(review)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_bytes(text.encode("utf-8"))
    written = [str(folder / n) for n in files]
    run.emit({"review": review, "files": written}, lambda: line("\n".join(written)))


def _rows(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    from changegate.cli.render import show_rows

    show_rows(title, rows, columns)
