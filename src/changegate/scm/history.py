"""History audit: which commits reached a branch outside the change process.

``audit_history`` walks the first-parent history of a branch (the commits that *landed* on
it: merge commits of pull requests, squash merges, direct pushes) and asks a ``lookup``
callable, in batches of SHAs, for the change record linked to each commit. It reports every
commit that

- has no linked change record (``no_linked_change``),
- has one, but no approval by someone other than its author (``no_independent_approval``),
- or was deployed (deployments recorded against it) without a passing gate
  (``deployed_without_passing_gate``).

The lookup is plain data in, plain data out, so the audit needs no database: the
foundation supplies a lookup backed by its tables, tests and the benchmark a dict.

An approval is independent when the approver is neither the change's author (compared by
user name) nor the commit's author (the commit's author email compared, case-insensitively,
with the approver's known emails). Emergency changes are approved retrospectively; until
then they show up here, which is the point.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Protocol

from changegate.errors import InvalidInput
from changegate.scm.errors import ScmError
from changegate.scm.gitformats import Commit
from changegate.scm.gitrepo import GitRepo


@dataclass(frozen=True, slots=True)
class Approver:
    """A person whose approval is recorded on a change."""

    user: str
    emails: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """A deployment recorded against a commit, and whether its gate passed."""

    environment: str
    gate_passed: bool
    deployment_id: str | None = None


@dataclass(frozen=True, slots=True)
class LinkedChange:
    """What the change record linked to one commit says, as plain data.

    ``change_id`` is None when deployments are recorded against the commit but no change
    is linked to it.
    """

    change_id: str | None
    author: str | None = None
    approvers: tuple[Approver, ...] = ()
    deployments: tuple[DeploymentRecord, ...] = ()


Lookup = Callable[[Sequence[str]], Mapping[str, LinkedChange]]
"""Given a batch of full commit SHAs, the linked change of each; absent SHAs have none."""

ProgressCallback = Callable[[int], None]
"""Called after each batch with the number of commits scanned so far."""


class Problem(StrEnum):
    """Why a commit is reported."""

    NO_LINKED_CHANGE = "no_linked_change"
    NO_INDEPENDENT_APPROVAL = "no_independent_approval"
    DEPLOYED_WITHOUT_PASSING_GATE = "deployed_without_passing_gate"


@dataclass(frozen=True, slots=True)
class Finding:
    """A commit that reached the branch outside the process, and why."""

    commit: Commit
    change_id: str | None
    problems: tuple[Problem, ...]
    details: tuple[str, ...]


@dataclass(slots=True)
class Summary:
    """Counts for one audit; ``complete`` turns True once the walk has finished."""

    branch: str
    head: str
    since: str | None
    commits_scanned: int = 0
    commits_with_findings: int = 0
    problems: dict[Problem, int] = field(default_factory=lambda: dict.fromkeys(Problem, 0))
    complete: bool = False

    @property
    def passed(self) -> bool:
        """True when the walk finished and found nothing."""
        return self.complete and self.commits_with_findings == 0

    def to_dict(self) -> dict[str, object]:
        return {
            "branch": self.branch,
            "head": self.head,
            "since": self.since,
            "commits_scanned": self.commits_scanned,
            "commits_with_findings": self.commits_with_findings,
            "problems": {problem.value: count for problem, count in self.problems.items()},
            "complete": self.complete,
            "passed": self.passed,
        }


def evaluate_commit(commit: Commit, link: LinkedChange | None) -> Finding | None:
    """The finding for one commit given its linked change, or None when it is clean."""
    # Fast path first: most commits of a healthy history are clean, and this runs once per
    # commit of the branch.
    if link is not None and link.change_id is not None:
        gated = True
        for deployment in link.deployments:
            if not deployment.gate_passed:
                gated = False
                break
        if gated and _has_independent_approval(link, commit):
            return None
    return _finding(commit, link)


def _has_independent_approval(link: LinkedChange, commit: Commit) -> bool:
    author = link.author
    commit_email: str | None = None
    for approver in link.approvers:
        if author is not None and approver.user == author:
            continue
        if approver.emails:
            if commit_email is None:
                commit_email = commit.author_email.lower()
            if any(email.lower() == commit_email for email in approver.emails):
                continue
        return True
    return False


def _finding(commit: Commit, link: LinkedChange | None) -> Finding | None:
    problems: list[Problem] = []
    details: list[str] = []
    change_id = link.change_id if link is not None else None
    if link is None or change_id is None:
        problems.append(Problem.NO_LINKED_CHANGE)
        details.append("no change record is linked to this commit")
    elif not _has_independent_approval(link, commit):
        problems.append(Problem.NO_INDEPENDENT_APPROVAL)
        if link.approvers:
            names = ", ".join(sorted({a.user for a in link.approvers}))
            details.append(f"{change_id} is approved only by its author ({names})")
        else:
            details.append(f"{change_id} has no approval")
    if link is not None:
        ungated = [d for d in link.deployments if not d.gate_passed]
        if ungated:
            problems.append(Problem.DEPLOYED_WITHOUT_PASSING_GATE)
            for deployment in ungated:
                which = (
                    f" (deployment {deployment.deployment_id})" if deployment.deployment_id else ""
                )
                details.append(
                    f"deployed to {deployment.environment}{which} without a passing gate"
                )
    if not problems:
        return None
    return Finding(
        commit=commit, change_id=change_id, problems=tuple(problems), details=tuple(details)
    )


class HistoryAudit:
    """An audit in progress: iterate it for findings; ``summary`` fills in as it goes.

    It can be iterated once. ``summary.complete`` is True after the last finding.
    """

    def __init__(
        self,
        repo: GitRepo,
        branch: str,
        *,
        since: datetime | date | None,
        lookup: Lookup,
        batch_size: int,
        progress: ProgressCallback | None,
    ) -> None:
        if batch_size < 1:
            raise ScmError(
                f"batch_size: {batch_size} is below 1; give a positive batch size",
                field="batch_size",
            )
        self.repo = repo
        self.branch = branch
        self._lookup = lookup
        self._batch_size = batch_size
        self._progress = progress
        # Resolve the branch now, so a bad branch fails here and not at first iteration,
        # and walk from that SHA, so the summary names exactly the head that was audited.
        head = repo.resolve(branch, field="branch")
        self._commits: Iterator[Commit] | None = repo.iter_first_parent(
            head, since=since, trailers=False
        )
        self.summary = Summary(
            branch=branch,
            head=head,
            since=since.isoformat() if since is not None else None,
        )

    def __iter__(self) -> Iterator[Finding]:
        if self._commits is None:
            raise ScmError("this audit has already been iterated; run audit_history again")
        commits, self._commits = self._commits, None
        return self._run(commits)

    def _run(self, commits: Iterator[Commit]) -> Iterator[Finding]:
        for batch in self._batches(commits):
            yield from self._evaluate(batch, self._lookup([commit.sha for commit in batch]))
        self.summary.complete = True

    def _batches(self, commits: Iterator[Commit]) -> Iterator[list[Commit]]:
        """``commits`` in lists of ``batch_size`` (the last one shorter)."""
        batch: list[Commit] = []
        size = self._batch_size
        for commit in commits:
            batch.append(commit)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _evaluate(self, batch: list[Commit], links: Mapping[str, LinkedChange]) -> list[Finding]:
        """The findings of one batch, given what ``lookup`` answered for it; counted in the
        summary, and ``progress`` told."""
        if not isinstance(links, Mapping):
            raise ScmError(
                f"lookup: returned {type(links).__name__}; it must return a mapping from "
                "SHA to LinkedChange",
                field="lookup",
            )
        summary = self.summary
        counts = summary.problems
        get = links.get
        findings: list[Finding] = []
        for commit in batch:
            finding = evaluate_commit(commit, get(commit.sha))
            if finding is not None:
                findings.append(finding)
                for problem in finding.problems:
                    counts[problem] += 1
        summary.commits_scanned += len(batch)
        summary.commits_with_findings += len(findings)
        if self._progress is not None:
            self._progress(summary.commits_scanned)
        return findings


def audit_history(
    repo: GitRepo | str | os.PathLike[str],
    branch: str,
    since: datetime | date | None = None,
    *,
    lookup: Lookup,
    batch_size: int = 1000,
    progress: ProgressCallback | None = None,
) -> HistoryAudit:
    """Audit the first-parent history of ``branch`` in ``repo``.

    Returns a ``HistoryAudit``: iterate it for ``Finding`` objects (newest commit first);
    its ``summary`` holds the counts, complete once iteration ends. ``lookup`` is called
    once per batch of ``batch_size`` SHAs. ``progress`` is called after each batch with the
    number of commits scanned so far (``GitRepo.count_first_parent`` gives the total).

    Raises ``NotARepository`` or ``BadRevision`` at once for a bad path or branch.
    """
    git_repo = repo if isinstance(repo, GitRepo) else GitRepo(repo)
    return HistoryAudit(
        git_repo, branch, since=since, lookup=lookup, batch_size=batch_size, progress=progress
    )


def parse_since(value: str | None) -> datetime | date | None:
    """``--since`` as a date (YYYY-MM-DD) or an ISO 8601 timestamp."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInput(
            f"--since {value!r} is not a date; use YYYY-MM-DD or an ISO 8601 timestamp",
            field="since",
        ) from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# -- output ---------------------------------------------------------------------------


class AuditStream(Protocol):
    """Findings to iterate, and a summary that is complete once they are exhausted."""

    summary: Summary

    def __iter__(self) -> Iterator[Finding]: ...


@dataclass(slots=True)
class AuditResult:
    """A finished audit held in memory (also an ``AuditStream``)."""

    findings: list[Finding]
    summary: Summary

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)


def run_audit(audit: HistoryAudit) -> AuditResult:
    """Consume an audit into memory."""
    findings = list(audit)
    return AuditResult(findings=findings, summary=audit.summary)


def finding_to_dict(finding: Finding) -> dict[str, object]:
    """The stable JSON shape of one finding (documented in docs/git.md)."""
    commit = finding.commit
    return {
        "sha": commit.sha,
        "committed_at": commit.committed_at,
        "author_name": commit.author_name,
        "author_email": commit.author_email,
        "subject": commit.subject,
        "change_id": finding.change_id,
        "problems": [problem.value for problem in finding.problems],
        "details": list(finding.details),
    }


def iter_json(audit: AuditStream) -> Iterator[str]:
    """One JSON document ``{"findings": [...], "summary": {...}}``, streamed in pieces."""
    yield '{"findings": ['
    first = True
    for finding in audit:
        yield ("\n  " if first else ",\n  ") + json.dumps(finding_to_dict(finding))
        first = False
    yield ("\n" if not first else "") + '], "summary": '
    yield json.dumps(audit.summary.to_dict())
    yield "}\n"


def format_json(audit: AuditStream) -> str:
    return "".join(iter_json(audit))


CSV_COLUMNS = (
    "sha",
    "committed_at",
    "author_name",
    "author_email",
    "subject",
    "change_id",
    "problems",
    "details",
)


def iter_csv(findings: Iterable[Finding]) -> Iterator[str]:
    """CSV lines (header first) with one row per finding; problems and details joined by
    '; '. The summary is not part of the CSV: print it elsewhere (stderr)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for finding in findings:
        commit = finding.commit
        writer.writerow(
            (
                commit.sha,
                commit.committed_at,
                commit.author_name,
                commit.author_email,
                commit.subject,
                finding.change_id or "",
                "; ".join(problem.value for problem in finding.problems),
                "; ".join(finding.details),
            )
        )
        yield flush()


def format_csv(findings: Iterable[Finding]) -> str:
    return "".join(iter_csv(findings))


_TABLE_WIDTHS = (12, 10, 20, 10, 30)


def _cell(text: str, width: int) -> str:
    text = " ".join(text.split())
    if len(text) > width:
        text = text[: width - 1] + "…"
    return text.ljust(width)


def iter_table(audit: AuditStream) -> Iterator[str]:
    """A plain-text table, one line per finding, then the summary lines."""
    headers = ("COMMIT", "DATE", "AUTHOR", "CHANGE", "PROBLEMS")
    yield "  ".join(_cell(h, w) for h, w in zip(headers, _TABLE_WIDTHS, strict=True)) + (
        "  SUBJECT\n"
    )
    for finding in audit:
        commit = finding.commit
        cells = (
            commit.sha[:12],
            commit.committed_at[:10],
            commit.author_name,
            finding.change_id or "-",
            ",".join(problem.value for problem in finding.problems),
        )
        row = "  ".join(_cell(c, w) for c, w in zip(cells, _TABLE_WIDTHS, strict=True))
        yield f"{row}  {' '.join(commit.subject.split())}\n"
        for detail in finding.details:
            yield f"{'':14}- {detail}\n"
    yield from summary_lines(audit.summary)


def summary_lines(summary: Summary) -> Iterator[str]:
    """The human-readable summary of an audit."""
    since = f" since {summary.since}" if summary.since else ""
    yield "\n"
    yield (
        f"{summary.commits_scanned} commits on {summary.branch}{since} "
        f"(head {summary.head[:12]}): {summary.commits_with_findings} with findings\n"
    )
    for problem, count in summary.problems.items():
        yield f"  {problem.value}: {count}\n"
    if not summary.complete:
        yield "  (incomplete: the walk stopped early)\n"


def format_table(audit: AuditStream) -> str:
    return "".join(iter_table(audit))
