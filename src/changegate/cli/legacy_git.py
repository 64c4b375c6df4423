"""Commands that read git: classify a range, create a change from one, audit a branch."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from changegate.cli.context import (
    DbOpt,
    JsonOpt,
    Opts,
    PolicyOpt,
    emit,
    guarded,
    loaded_policy,
    transaction,
)
from changegate.cli.legacy_changes import Risk, RiskNote, _pydantic_message, _risk

GitRange = Annotated[
    str,
    typer.Option(
        "--git-range", help="BASE..HEAD (compare the trees) or BASE...HEAD (from the merge base)."
    ),
]
RepoOpt = Annotated[
    Path, typer.Option("--repo", help="The git repository (default: the current directory).")
]
ClassOpt = Annotated[
    str | None,
    typer.Option("--class", help="Raise the class above what the files require (never lower)."),
]


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def _group(app: typer.Typer, name: str) -> typer.Typer:
    for info in app.registered_groups:
        if info.name == name and info.typer_instance is not None:
            return info.typer_instance
    raise RuntimeError(f"the '{name}' command group must be registered before cli.git")


def _show_classification(out: dict[str, Any]) -> None:
    from rich.table import Table

    from changegate.cli.render import console

    c = console()
    c.print(
        f"[bold]{out['git_range']}[/bold]  {out['base'][:12]}..{out['head'][:12]}  "
        f"{len(out['files'])} file(s), {len(out['commits'])} commit(s)"
    )
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="dim")
    t.add_column()
    floor = out["minimum_class"]
    t.add_row(
        "class",
        out["class"] + (f" (the files require at least {floor})" if out["class"] != floor else ""),
    )
    t.add_row("categories", ", ".join(out["categories"]) or "-")
    if out["category"]:
        t.add_row("category", out["category"])
    t.add_row("components", ", ".join(out["components"]) or "-")
    t.add_row("flags", ", ".join(out["flags"]) or "-")
    c.print(t)
    c.print("[bold]requirements[/bold] (for this class; a high risk adds more):")
    for r in out["requirements"]:
        stage = " [dim](after deployment)[/]" if r["stage"] == "post_deploy" else ""
        c.print(f"  §{r['section']} {r['rule']}: {r['description']}{stage}")
    for r in out["other_requirements"]:
        c.print(f"  [yellow]§{r['section']} {r['rule']}[/]: {r['description']} (another category)")
    for note in out["notes"]:
        c.print(f"[yellow]note:[/] {note}")
    c.print("[bold]files[/bold]:")
    for f in out["files"]:
        rules = ", ".join(f["rules"]) or "[dim]no rule[/]"
        old = f"{f['old_path']} → " if f.get("old_path") else ""
        c.print(f"  {f['status']} {old}{f['path']}  {rules}")


def register(app: typer.Typer) -> None:
    audit_app = _group(app, "audit")
    change_app = _group(app, "change")

    @app.command()
    def classify(
        git_range: GitRange,
        repo: RepoOpt = Path("."),
        change_class: ClassOpt = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Classify a commit range from the files it changes, by the policy's path rules.

        Prints the class (the highest any matching rule names: a floor, raise it with
        --class), categories, components, flags and the requirements the policy attaches.

        Example: changegate classify --git-range main...feature/reorder-providers --repo .
        """
        o = Opts(json, db, policy)  # reads no database: the policy and the repository

        def body() -> None:
            from changegate.scm.service import classify_range

            pol = loaded_policy(o).policy
            out = classify_range(pol, repo, git_range, requested_class=change_class).to_dict()
            emit(o, out, lambda: _show_classification(out))

        guarded(o, body)

    @change_app.command("from-git")
    def change_from_git(
        git_range: GitRange,
        title: Annotated[str, typer.Option("--title", help="One line saying what changes.")],
        author: Annotated[str, typer.Option("--author", help="Who requests the change.")],
        repo: RepoOpt = Path("."),
        change_class: ClassOpt = None,
        description: Annotated[
            str | None, typer.Option("--description", help="What and why.")
        ] = None,
        risk: Risk = None,
        risk_note: RiskNote = None,
        rollback: Annotated[str | None, typer.Option("--rollback", help="Rollback plan.")] = None,
        justification: Annotated[
            str | None, typer.Option("--justification", help="Why an emergency.")
        ] = None,
        link: Annotated[list[str] | None, typer.Option("--link", help="PR or issue URL.")] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Create a change (a draft) for a commit range, classified from its changed files.

        Class, category, components, the security flag and the commits come from the range;
        --class may raise the class, never lower it, now or in later edits.

        Example: changegate change from-git --git-range v1.4.0..HEAD --title "Rotate TLS cert"
        --author alice --risk availability=low --risk security=medium --risk data=low
        --risk-note security="new chain" --rollback "redeploy v1.4.0"
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from pydantic import ValidationError

            from changegate.errors import InvalidInput
            from changegate.scm.service import create_change_from_range

            fields = {
                k: v
                for k, v in {
                    "title": title,
                    "description": description,
                    "risk": _risk(risk, risk_note),
                    "rollback_plan": rollback,
                    "justification": justification,
                    "links": link,
                }.items()
                if v is not None
            }
            with transaction(o) as (s, pol):
                try:
                    change, result = create_change_from_range(
                        s,
                        pol,
                        repo=repo,
                        git_range=git_range,
                        author=author,
                        requested_class=change_class,
                        fields=fields,
                    )
                except ValidationError as exc:
                    raise InvalidInput(_pydantic_message(exc)) from exc
                out = change.audit_state() | {"classification": result.to_dict()}
            emit(
                o,
                out,
                lambda: print(
                    f"{out['id']} ({out['change_class']}"
                    + (f", {out['category']}" if out["category"] else "")
                    + f") from {result.range.git_range}: {len(result.commits)} commit(s)"
                ),
            )

        guarded(o, body)

    @audit_app.command("git")
    def audit_git(
        path: Annotated[Path, typer.Argument(help="The git repository to audit.")],
        branch: Annotated[str, typer.Option("--branch", help="Branch to walk.")] = "main",
        since: Annotated[
            str | None,
            typer.Option("--since", help="Only commits since DATE (YYYY-MM-DD or ISO 8601)."),
        ] = None,
        fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
        batch_size: Annotated[
            int, typer.Option("--batch-size", help="SHAs per database lookup.", min=1)
        ] = 2000,
        json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Report every commit on a branch's first-parent history that bypassed the process.

        A finding is a commit without a linked change record, without an approval by someone
        other than its author, or deployed without a passing gate. Summary counts at the end
        (on stderr for CSV). Exit 1 when anything is found.

        Example: changegate audit git . --branch main --since 2026-01-01 --format csv > findings.csv
        """
        o = Opts(json, db, policy)
        chosen = Format.json if json else fmt

        def body() -> None:
            from changegate.scm.gitrepo import GitRepo
            from changegate.scm.history import iter_csv, iter_json, iter_table, summary_lines
            from changegate.scm.service import audit_branch, parse_since

            moment = parse_since(since)
            repo = GitRepo(path)
            with transaction(o, write=False) as (s, pol):
                with _progress(repo, branch, moment) as progress:
                    audit = audit_branch(
                        s, pol, repo, branch, moment, batch_size=batch_size, progress=progress
                    )
                    pieces = {
                        Format.table: iter_table,
                        Format.json: iter_json,
                        Format.csv: iter_csv,
                    }[chosen](audit)
                    write = sys.stdout.write
                    for piece in pieces:
                        write(piece)
                if chosen is Format.csv:
                    for line in summary_lines(audit.summary):
                        sys.stderr.write(line)
            sys.stdout.flush()
            if audit.summary.commits_with_findings:
                raise typer.Exit(1)

        guarded(o, body)


class _progress:
    """A Rich progress bar on stderr when it is a terminal; otherwise nothing."""

    def __init__(self, repo: Any, branch: str, since: Any) -> None:
        self.repo, self.branch, self.since = repo, branch, since
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Any:
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        total = self.repo.count_first_parent(self.branch, since=self.since)
        self._bar = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        self._task = self._bar.add_task(f"auditing {self.branch}", total=total)

        def advance(done: int) -> None:
            self._bar.update(self._task, completed=done)

        return advance

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
