"""`changegate change` (create, edit, submit, close, show, list) and `changegate status`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, group, line

change = group(
    "change",
    "Change requests: create, edit, submit, show, list, close.",
    lazy={
        "from-git": "changegate.cli.git:change_from_git",
        "hold": "changegate.cli.retention:change_hold",
        "release": "changegate.cli.retention:change_release",
    },
)

#: a risk edit: the levels and the notes given, merged into the change's risk by the backend
RiskEdit = tuple[dict[str, str], dict[str, str]]


class Backend(Protocol):
    def create(self, data: dict[str, Any]) -> dict[str, Any]: ...
    def edit(
        self, change: str, data: dict[str, Any], risk: RiskEdit | None, by: str
    ) -> dict[str, Any]: ...
    def submit(self, change: str, by: str) -> dict[str, Any]: ...
    def close(self, change: str, by: str) -> dict[str, Any]: ...
    def show(self, change: str) -> dict[str, Any]: ...
    def changes(
        self, query: dict[str, str | None], limit: int, cursor: str | None
    ) -> tuple[list[dict[str, Any]], str | None]: ...
    def stream(self, query: dict[str, str | None], per_page: int) -> Iterator[dict[str, Any]]: ...
    def status(self, change: str) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.changes:LocalChanges", "changegate.cli.remote.changes:RemoteChanges"
    )


def change_fields(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The options `change new` and `change edit` share, each named as the change's field."""
    options = [
        click.option("--description", help="What and why."),
        click.option("--category", help="Category slug from the policy."),
        click.option("--component", "components", multiple=True, help="Affected component."),
        click.option("--provider", "providers", multiple=True, help="Affected model provider."),
        click.option("--ai-component", help="AI component (§10.3)."),
        click.option(
            "--risk",
            multiple=True,
            help="DIMENSION=LEVEL, once per dimension, e.g. --risk availability=low.",
        ),
        click.option("--risk-note", multiple=True, help="DIMENSION=TEXT."),
        click.option("--rollback", "rollback_plan", help="Rollback plan."),
        click.option("--link", "links", multiple=True, help="PR or issue URL."),
        click.option("--commit", "commits", multiple=True, help="Commit SHA."),
        click.option("--justification", help="Why an emergency."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _given(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields given on the command line (repeated options as lists); abbreviated commit
    SHAs expanded in the repository the CLI runs in, or refused with the fix."""
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
    data = {k: v for k, v in data.items() if v is not None and v != []}
    if data.get("commits"):
        from changegate.scm.gitrepo import expand_commits

        data["commits"] = expand_commits(data["commits"])
    return data


@command(change, "new")
@click.option("--title", required=True, help="One line saying what changes.")
@click.option("--class", "change_class", required=True, help="standard | normal | emergency.")
@click.option("--author", required=True, help="Who requests the change.")
@change_fields
@click.option("--security-impacting", is_flag=True, help="Flag as security-impacting.")
@click.option("--fixes", multiple=True, metavar="FINDING", help="A finding it fixes (repeat).")
@click.option(
    "--triggered-by",
    "triggered_by",
    multiple=True,
    metavar="FINDING",
    help="Emergency change: the finding that triggered it (which it fixes).",
)
def change_new(
    run: Run,
    author: str,
    risk: tuple[str, ...],
    risk_note: tuple[str, ...],
    security_impacting: bool,
    **fields: Any,
) -> None:
    """Create a change request (a draft) and print its id.

    Example: changegate change new --title "Rotate TLS cert" --class normal --risk availability=low
    --risk security=high --risk data=low --rollback "redeploy previous cert" --description "..." --author alice
    """
    from changegate.changes.risk import merge_risk, risk_options

    assessed = merge_risk(*risk_options(risk, risk_note))
    data = _given(fields) | {"author": author}
    if assessed is not None:
        data["risk"] = assessed
    if security_impacting:
        data["security_flag"] = True
    out = backend(run).create(data)
    run.emit(out, lambda: line(out["id"]))


@command(change, "edit")
@click.argument("change")
@click.option("--by", required=True, help="Who edits.")
@click.option("--title", help="One line saying what changes.")
@click.option("--class", "change_class", help="standard | normal | emergency.")
@change_fields
@click.option("--author", help="Ignored: the author never changes.")
def change_edit(
    run: Run,
    change: str,
    by: str,
    author: str | None,
    risk: tuple[str, ...],
    risk_note: tuple[str, ...],
    **fields: Any,
) -> None:
    """Edit a change. Approvals given on earlier content become stale; so do test results
    and validations when a field the policy binds them to changes (default: commits,
    components, providers, AI component, category).

    Example: changegate change edit CHG-1 --rollback "revert commit abc123" --by alice
    """
    from changegate.changes.risk import risk_options

    levels, notes = risk_options(risk, risk_note)
    edit: RiskEdit | None = (levels, notes) if levels or notes else None
    out = backend(run).edit(change, _given(fields), edit, by)
    run.emit(out, lambda: line(f"{out['id']} edited (revision {out['revision']}, {out['state']})"))


def _transition(action: str, help: str) -> click.Command:
    """`change submit` / `change close`: move a change on, printing its id and new state."""

    def move(run: Run, change: str, by: str) -> None:
        out = getattr(backend(run), action)(change, by)
        run.emit(out, lambda: line(f"{out['id']} {out['state']}"))

    move.__doc__ = f"{help}\n\n    Example: changegate change {action} CHG-1 --by alice\n    "
    declared = click.argument("change")(click.option("--by", required=True)(move))
    return command(change, action)(declared)


change_submit = _transition(
    "submit", "Submit a draft for review; the policy's required fields are checked here."
)
change_close = _transition(
    "close",
    "Close a deployed, rolled back or rejected change once post-deployment requirements are met.",
)


@command(change, "show")
@click.argument("change")
def change_show(run: Run, change: str) -> None:
    """Show every field of a change, its reviews and evidence.

    Example: changegate change show CHG-1
    """
    out = backend(run).show(change)

    def human() -> None:
        from changegate.cli.render import show_change, show_rows

        show_change(out)
        if out["reviews"]:
            columns = ["reviewer", "verdict", "comment", "stale", "created_at"]
            show_rows("reviews", out["reviews"], columns)
        if out["evidence"]:
            columns = ["kind", "name", "passed", "stale", "details", "blob_sha256"]
            show_rows("evidence", out["evidence"], columns)

    run.emit(out, human)


LIST_COLUMNS = ["id", "state", "change_class", "category", "title", "author"]


@command(change, "list")
@click.option("--state", help="Only changes in this state.")
@click.option("--class", "change_class", help="Only this class: standard, normal, emergency.")
@click.option("--category", help="Only this category.")
@click.option("--author", help="Only changes this person created.")
@click.option("--environment", help="Only changes deployed to this environment.")
@click.option("--since", help="Created at or after, e.g. 2026-11-01 or 2026-11-01T14:00Z.")
@click.option("--until", help="Created before, e.g. 2026-12-01.")
@click.option("--search", "q", help="Text in the title (case-insensitive).")
@click.option(
    "--sort",
    type=click.Choice(["-created", "created", "-updated", "updated"]),
    default="-created",
    show_default=True,
    help="created or updated; a leading - is newest first.",
)
@click.option("--limit", type=int, help="Changes per page (default 50; with --all, 500).")
@click.option("--cursor", help="Where the previous page ended (printed on stderr).")
@click.option(
    "--all",
    "every",
    is_flag=True,
    help="Every matching change, streamed in batches of --limit (500).",
)
def change_list(
    run: Run, limit: int | None, cursor: str | None, every: bool, **query: str | None
) -> None:
    """List changes, newest first, a page at a time; the next page's --cursor goes to stderr.
    With --all --json: one JSON object per line (JSON lines), memory flat however many.

    Example: changegate change list --state submitted --environment production --limit 20
    """
    query["class"] = query.pop("change_class")
    if every:
        _stream(run, backend(run).stream(query, 500 if limit is None else limit))
        return
    rows, more = backend(run).changes(query, 50 if limit is None else limit, cursor)

    def human() -> None:
        from changegate.cli.render import show_rows

        show_rows("changes", rows, LIST_COLUMNS)

    run.emit(rows, human)
    if more:
        click.echo(f"more: add --cursor {more} for the next page", err=True)


def _stream(run: Run, rows: Iterator[dict[str, Any]]) -> None:
    import json
    import sys

    for row in rows:
        if run.json:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        else:
            sys.stdout.write("\t".join(str(row.get(c) or "") for c in LIST_COLUMNS) + "\n")


@command(None, "status")
@click.argument("change")
def status(run: Run, change: str) -> None:
    """List every requirement the policy puts on a change, met or unmet, with the rule behind it.

    Example: changegate status CHG-1
    """
    out = backend(run).status(change)
    run.emit(out, lambda: _show_status(out))


def _show_status(out: dict[str, Any]) -> None:
    from changegate.cli.render import show_requirements, violation_notes

    flags = ", ".join(
        name
        for name, on in (
            ("high risk", out["high_risk"]),
            ("security-impacting", out["security_impacting"]),
            ("AI/GenAI", out["ai"]),
        )
        if on
    )
    show_requirements(
        f"{out['change']} [{out['state']}] {out['title']} — {out['class']}"
        + (f" {out['category']}" if out["category"] else "")
        + (f" ({flags})" if flags else ""),
        out["requirements"],
        f"{len(out['unmet'])} unmet of {len(out['requirements'])} — {out['policy']}",
        violation_notes(out.get("violations", [])),
    )
