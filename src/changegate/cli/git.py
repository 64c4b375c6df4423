"""Commands that read a git repository: `classify` a range, `change from-git`, `audit git`.

The repository is read where the command runs; what the record holds (the policy in force,
changes, approvals) comes from the backend: the local database, or the server with
CHANGEGATE_URL. `classify` reads local files only (the repository and the policy file).
"""

from __future__ import annotations

import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import click

from changegate.cli.core import Run, command, line

if TYPE_CHECKING:
    from changegate.scm.history import Lookup
    from changegate.scm.range_read import FromGit, RangeRead


class Backend(Protocol):
    def from_git(self, read: RangeRead, request: FromGit) -> dict[str, Any]: ...
    def lookup(self) -> AbstractContextManager[Lookup]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.git:LocalGit", "changegate.cli.remote.git:RemoteGit"
    )


_RANGE_HELP = "BASE..HEAD (compare the trees) or BASE...HEAD (from the merge base)."
_REPO_HELP = "The git repository (default: the current directory)."
_CLASS_HELP = "Raise the class above what the files require (never lower)."


@command(None, "classify")
@click.option("--git-range", "git_range", required=True, help=_RANGE_HELP)
@click.option("--repo", type=click.Path(path_type=Path), default=Path("."), help=_REPO_HELP)
@click.option("--class", "change_class", help=_CLASS_HELP)
def classify(run: Run, git_range: str, repo: Path, change_class: str | None) -> None:
    """Classify a commit range from the files it changes, by the policy's path rules.

    Prints the class (the highest any matching rule names: a floor, raise it with
    --class), categories, components, flags and the requirements the policy attaches.
    Reads local files only (the repository and the policy file), never a database or a
    server, so it runs the same with CHANGEGATE_URL set.

    Example: changegate classify --git-range main...feature/reorder-providers --repo .
    """
    from changegate.changes.from_git import classify_range
    from changegate.policy.loader import load_policy

    policy = load_policy(run.opts.policy).policy
    out = classify_range(policy, repo, git_range, requested_class=change_class).to_dict()

    def human() -> None:
        from changegate.cli.render import show_classification

        show_classification(out)

    run.emit(out, human)


@command(None, "from-git")
@click.option("--git-range", "git_range", required=True, help=_RANGE_HELP)
@click.option("--title", required=True, help="One line saying what changes.")
@click.option("--author", required=True, help="Who requests the change.")
@click.option("--repo", type=click.Path(path_type=Path), default=Path("."), help=_REPO_HELP)
@click.option("--class", "change_class", help=_CLASS_HELP)
@click.option("--description", help="What and why.")
@click.option(
    "--risk",
    multiple=True,
    help="DIMENSION=LEVEL, once per dimension, e.g. --risk availability=low.",
)
@click.option("--risk-note", "risk_note", multiple=True, help="DIMENSION=TEXT.")
@click.option("--rollback", help="Rollback plan.")
@click.option("--justification", help="Why an emergency.")
@click.option("--link", multiple=True, help="PR or issue URL.")
def change_from_git(
    run: Run,
    git_range: str,
    title: str,
    author: str,
    repo: Path,
    change_class: str | None,
    description: str | None,
    risk: tuple[str, ...],
    risk_note: tuple[str, ...],
    rollback: str | None,
    justification: str | None,
    link: tuple[str, ...],
) -> None:
    """Create a change (a draft) for a commit range, classified from its changed files.

    Class, category, components, the security flag and the commits come from the range;
    --class may raise the class, never lower it, now or in later edits. The repository is
    read here; with CHANGEGATE_URL the server classifies what was read by its policy, and a
    range read by a client never makes a standard change (open a pull request instead).

    Example: changegate change from-git --git-range v1.4.0..HEAD --title "Rotate TLS cert"
    --author alice --risk availability=low --risk security=medium --risk data=low
    --risk-note security="new chain" --rollback "redeploy v1.4.0"
    """
    from changegate.changes.risk import merge_risk, risk_options
    from changegate.scm.range_read import read_range

    given = {
        "title": title,
        "description": description,
        "risk": merge_risk(*risk_options(risk, risk_note)),
        "rollback_plan": rollback,
        "justification": justification,
        "links": list(link) or None,
    }
    fields = {k: v for k, v in given.items() if v is not None}
    read = read_range(repo, git_range)
    from changegate.scm.range_read import FromGit

    out = backend(run).from_git(read, FromGit(author, change_class, fields))
    c = out["classification"]
    run.emit(
        out,
        lambda: line(
            f"{out['id']} ({out['change_class']}"
            + (f", {out['category']}" if out["category"] else "")
            + f") from {c['git_range']}: {len(c['commits'])} commit(s)"
        ),
    )


@command(None, "git")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--branch", default="main", show_default=True, help="Branch to walk.")
@click.option("--since", help="Only commits since DATE (YYYY-MM-DD or ISO 8601).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output format (--json: same as --format json).",
)
@click.option(
    "--batch-size",
    "batch_size",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="SHAs per database lookup.",
)
def audit_git(
    run: Run, path: Path, branch: str, since: str | None, fmt: str, batch_size: int
) -> int:
    """Report every commit on a branch's first-parent history that bypassed the process.

    A finding is a commit without a linked change record, without an approval by someone
    other than its author, or deployed without a passing gate. Summary counts at the end
    (on stderr for CSV). Exit 1 when anything is found. The history is read where the
    command runs; the record is looked up in batches (locally, or on the server with
    CHANGEGATE_URL).

    Example: changegate audit git . --branch main --since 2026-01-01 --format csv > findings.csv
    """
    from changegate.scm.gitrepo import GitRepo
    from changegate.scm.history import iter_csv, iter_json, iter_table, parse_since, summary_lines
    from changegate.scm.history_pipelined import PipelinedAudit

    chosen = "json" if run.json else fmt
    moment = parse_since(since)
    repo = GitRepo(path)
    with backend(run).lookup() as lookup, _progress(repo, branch, moment) as progress:
        audit = PipelinedAudit(
            repo, branch, since=moment, lookup=lookup, batch_size=batch_size, progress=progress
        )
        pieces = {"table": iter_table, "json": iter_json, "csv": iter_csv}[chosen](audit)
        write = sys.stdout.write
        for piece in pieces:
            write(piece)
    if chosen == "csv":
        for text in summary_lines(audit.summary):
            sys.stderr.write(text)
    sys.stdout.flush()
    return 1 if audit.summary.commits_with_findings else 0


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
