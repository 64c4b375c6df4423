"""Thin, fast wrappers over the ``git`` binary.

Everything here runs git as a subprocess with a fixed argument list (never a shell), with
``--end-of-options`` before user-supplied revisions so that a revision can never be taken
for an option. Output is read in git's NUL-separated machine formats, so paths and messages
with spaces, newlines or non-ASCII characters come through intact.

The first-parent log is streamed: one ``git log`` process whose output is parsed
incrementally, never one process per commit. The records and the parsers of git's output
are in ``changegate.scm.gitformats``.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path

from changegate.pipes import widen_pipe
from changegate.scm.errors import BadRevision, GitError, NotARepository
from changegate.scm.gitformats import (
    LOG_FORMAT,
    LOG_FORMAT_BASE,
    ChangedFile,
    Commit,
    RevisionRange,
    decode,
    parse_cat_file_batch,
    parse_log_stream,
    parse_raw_diff,
)

_SHA_RE = re.compile(r"\A[0-9a-f]{40}(?:[0-9a-f]{24})?\Z")

# Environment for every git process: no prompts, no pager, no user-level surprises in
# output that we parse (dates, colours and replacement objects do not apply to plumbing
# formats, but a terminal prompt for credentials would hang us).
_GIT_ENV_OVERRIDES = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "LC_ALL": "C",
    # Fully buffered output: without this, git flushes after every record when writing
    # to a pipe, one write per commit, which makes a long log several times slower.
    "GIT_FLUSH": "0",
}


def _since_argument(since: datetime | date) -> str:
    if isinstance(since, datetime):
        moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    else:
        moment = datetime.combine(since, time.min, tzinfo=UTC)
    return f"--since={moment.isoformat()}"


class GitRepo:
    """A git repository on disk, worked through the ``git`` binary.

    ``GitRepo(path)`` checks at once that ``path`` is a repository (work tree or bare) and
    raises ``NotARepository`` otherwise.
    """

    def __init__(self, path: str | os.PathLike[str], *, git: str = "git") -> None:
        self.path = Path(path)
        self._git = git
        self._env = {**os.environ, **_GIT_ENV_OVERRIDES}
        if not self.path.exists():
            raise NotARepository(
                f"repo: {str(self.path)!r} does not exist; give the path of a git repository",
                field="repo",
            )
        if not self.path.is_dir():
            raise NotARepository(
                f"repo: {str(self.path)!r} is not a directory; give the path of a git repository",
                field="repo",
            )
        result = self._run(["rev-parse", "--git-dir"], check=False)
        if result.returncode != 0:
            raise NotARepository(
                f"repo: {str(self.path)!r} is not a git repository "
                f"({self._first_line(result.stderr)}); give the path of a clone, "
                "or run 'git init' there",
                field="repo",
            )

    # -- running git -----------------------------------------------------------------

    def _command(self, args: list[str]) -> list[str]:
        return [self._git, "-C", str(self.path), *args]

    def _run(
        self, args: list[str], *, check: bool = True, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        try:
            result = subprocess.run(
                self._command(args),
                input=stdin,
                capture_output=True,
                env=self._env,
                check=False,
            )
        except FileNotFoundError as exc:
            raise GitError(
                f"git executable {self._git!r} not found; install git or put it on PATH",
                field="git",
            ) from exc
        if check and result.returncode != 0:
            raise GitError(
                f"git {args[0]} failed in {str(self.path)!r}: {self._first_line(result.stderr)}",
                field="repo",
            )
        return result

    @staticmethod
    def _first_line(stderr: bytes) -> str:
        text = decode(stderr).strip()
        return text.splitlines()[0] if text else "no message from git"

    @staticmethod
    def _check_revision_text(rev: str, field: str) -> None:
        if not rev or rev.startswith("-") or "\0" in rev or "\n" in rev:
            raise BadRevision(
                f"{field}: {rev!r} is not a revision; give a branch, tag or commit SHA",
                field=field,
            )

    # -- revisions ---------------------------------------------------------------------

    def resolve(self, rev: str, *, field: str = "rev") -> str:
        """The full SHA of the commit ``rev`` names (a branch, tag, SHA or expression).

        Raises ``BadRevision`` when it names no commit.
        """
        self._check_revision_text(rev, field)
        result = self._run(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
            check=False,
        )
        sha = decode(result.stdout).strip()
        if result.returncode != 0 or not _SHA_RE.match(sha):
            raise BadRevision(
                f"{field}: {rev!r} does not name a commit in {str(self.path)!r}; "
                "check the spelling, or fetch it first (git fetch)",
                field=field,
            )
        return sha

    def expand_commit(self, sha: str, *, field: str = "commit") -> str:
        """The full object name of the commit an abbreviated SHA (at least 7 hex digits) names
        here; ``BadRevision`` when it names none, several, or is not a SHA at all."""
        from changegate.scm.sha import MIN_ABBREVIATED, is_abbreviated_sha, is_full_sha

        value = sha.strip().lower()
        if is_full_sha(value):
            return value
        if not is_abbreviated_sha(value):
            raise BadRevision(
                f"--{field} {sha!r} is not a commit SHA; give at least {MIN_ABBREVIATED} hex "
                "digits (better: the full SHA from `git rev-parse`)",
                field=field,
            )
        result = self._run(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{value}^{{commit}}"],
            check=False,
        )
        full = decode(result.stdout).strip()
        # a branch or tag may be spelled like a SHA: only the commit it abbreviates counts
        if result.returncode != 0 or not _SHA_RE.match(full) or not full.startswith(value):
            raise BadRevision(
                f"--{field} {sha!r} names no single commit in {str(self.path)!r} (unknown or "
                f"ambiguous); give the full SHA: git rev-parse {value}",
                field=field,
            )
        return full

    def identities(self, shas: Iterable[str]) -> dict[str, tuple[str, str, str, str]]:
        """``sha -> (author name, author email, committer name, committer email)`` for the
        commits that exist here (one ``git log --no-walk`` for all of them)."""
        rows = self._no_walk(shas, ["%H", "%an", "%ae", "%cn", "%ce"])
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    def commit_times(self, shas: Iterable[str]) -> dict[str, datetime]:
        """``sha -> committer date`` for the commits that exist here (the time a change was
        committed to version control, where DORA's lead time starts)."""
        return {sha: datetime.fromisoformat(at) for sha, at in self._no_walk(shas, ["%H", "%cI"])}

    def _no_walk(self, shas: Iterable[str], fields: list[str]) -> list[list[str]]:
        """One row of ``fields`` (git log format placeholders) per commit of ``shas`` that
        exists here; other names are ignored. One ``cat-file`` and one ``log --no-walk``."""
        wanted = [s for s in dict.fromkeys(shas) if _SHA_RE.match(s)]
        if not wanted:
            return []
        present = self._run(
            ["cat-file", "--batch-check=%(objectname) %(objecttype)"],
            check=False,
            stdin="".join(f"{s}\n" for s in wanted).encode(),
        )
        commits = [
            line.split()[0]
            for line in decode(present.stdout).splitlines()
            if line.endswith(" commit")
        ]
        if not commits:
            return []
        fmt = "%x00".join(fields)
        result = self._run(
            [
                "log",
                "--no-walk=unsorted",
                "-z",
                f"--format={fmt}",
                "--end-of-options",
                *commits,
                "--",
            ],
            check=False,
        )
        values = decode(result.stdout).split("\0")
        n = len(fields)
        rows = [values[i : i + n] for i in range(0, len(values) - (n - 1), n)]
        return [[r[0].strip(), *r[1:]] for r in rows]

    def merge_base(self, a: str, b: str) -> str:
        """The best common ancestor of two commits."""
        sha_a = self.resolve(a)
        sha_b = self.resolve(b)
        result = self._run(["merge-base", "--end-of-options", sha_a, sha_b], check=False)
        if result.returncode != 0:
            raise BadRevision(
                f"git_range: {a!r} and {b!r} have no common ancestor; use BASE..HEAD (two dots)",
                field="git_range",
            )
        return decode(result.stdout).strip()

    # -- diffs -------------------------------------------------------------------------

    def range_ends(self, revision_range: RevisionRange) -> tuple[str, str]:
        """``(base, head)`` as full SHAs: ``A..B`` compares A with B, ``A...B`` the merge base
        of A and B with B."""
        head = self.resolve(revision_range.head, field="git_range")
        if revision_range.symmetric:
            return self.merge_base(revision_range.base, revision_range.head), head
        return self.resolve(revision_range.base, field="git_range"), head

    def changed_files(
        self, revision_range: str | RevisionRange, *, contents: bool = False
    ) -> list[ChangedFile]:
        """Files changed between the two ends of a range, with rename detection.

        ``A..B`` compares the trees of A and B; ``A...B`` compares B with the merge base of
        A and B (what a pull request from B into A changes). With ``contents=True`` the blobs
        on both sides are read through one ``git cat-file --batch`` process.
        """
        if isinstance(revision_range, str):
            revision_range = RevisionRange.parse(revision_range)
        base, head = self.range_ends(revision_range)
        result = self._run(
            [
                "diff-tree",
                "-r",
                "-z",
                "-M",
                "--no-abbrev",
                "--no-commit-id",
                "--raw",
                "--end-of-options",
                base,
                head,
            ]
        )
        files = parse_raw_diff(result.stdout)
        if contents:
            files = self._with_contents(files)
        return files

    def paths_of_commits(self, base: str, head: str) -> list[str]:
        """Every path in which some commit of ``base..head`` differs from ``base`` (both sides
        of a rename), in first-seen order. A range's net diff can hide a commit that changed a
        file and a later one that put it back; each commit of the range can still be checked
        out and deployed by its SHA, and deploying it changes these files. Compared with
        ``base`` rather than with its parent, a merge of the target branch into the range adds
        nothing the target branch already had."""
        listed = self._run(["rev-list", "--end-of-options", f"{base}..{head}", "--"])
        commits = decode(listed.stdout).split()
        if not commits:
            return []
        pairs = "".join(f"{base} {commit}\n" for commit in commits).encode()
        result = self._run(
            ["diff-tree", "--stdin", "-r", "-z", "--no-commit-id", "--name-only", "--no-renames"],
            stdin=pairs,
        )
        paths = (decode(token) for token in result.stdout.split(b"\0"))
        return list(dict.fromkeys(p for p in paths if p))

    def _with_contents(self, files: list[ChangedFile]) -> list[ChangedFile]:
        wanted: list[str] = []
        for f in files:
            for oid, mode in ((f.old_oid, f.old_mode), (f.new_oid, f.new_mode)):
                if oid is not None and mode != "160000":
                    wanted.append(oid)
        blobs = self.read_blobs(wanted)
        return [
            replace(
                f,
                old_content=blobs.get(f.old_oid) if f.old_oid else None,
                new_content=blobs.get(f.new_oid) if f.new_oid else None,
            )
            for f in files
        ]

    def read_blobs(self, oids: Iterable[str]) -> dict[str, bytes]:
        """The contents of many objects through one ``git cat-file --batch`` process.

        Missing objects are left out of the result.
        """
        unique = list(dict.fromkeys(oids))
        if not unique:
            return {}
        for oid in unique:
            if not _SHA_RE.match(oid):
                raise BadRevision(f"oid: {oid!r} is not a full object id", field="oid")
        result = self._run(["cat-file", "--batch"], stdin=("\n".join(unique) + "\n").encode())
        return parse_cat_file_batch(result.stdout)

    # -- history -----------------------------------------------------------------------

    def count_first_parent(self, rev: str, *, since: datetime | date | None = None) -> int:
        """How many commits a first-parent walk from ``rev`` visits (for progress bars)."""
        sha = self.resolve(rev, field="branch")
        args = ["rev-list", "--first-parent", "--count"]
        if since is not None:
            args.append(_since_argument(since))
        result = self._run([*args, "--end-of-options", sha, "--"])
        return int(decode(result.stdout).strip() or "0")

    def iter_first_parent(
        self,
        rev: str,
        *,
        since: datetime | date | None = None,
        trailers: bool = True,
    ) -> Iterator[Commit]:
        """Stream the first-parent history of ``rev``, newest first.

        One ``git log --first-parent -z`` process; its output is parsed as it arrives, so
        memory stays flat on any history length. ``since`` limits the walk by committer
        date (git stops at the first older commit, as ``git log --since`` does). With
        ``trailers=False`` git skips parsing message bodies and every commit's ``trailers``
        is empty. Stopping the iteration early ends the git process.
        """
        sha = self.resolve(rev, field="branch")
        log_format = LOG_FORMAT if trailers else LOG_FORMAT_BASE
        args = ["log", "--first-parent", "-z", f"--format={log_format}", "--no-color"]
        if since is not None:
            args.append(_since_argument(since))
        args += ["--end-of-options", sha, "--"]
        return self._stream_log(args)

    def _stream_log(self, args: list[str]) -> Iterator[Commit]:
        with tempfile.TemporaryFile() as stderr:
            try:
                process = subprocess.Popen(
                    self._command(args),
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    stdin=subprocess.DEVNULL,
                    env=self._env,
                )
            except FileNotFoundError as exc:
                raise GitError(
                    f"git executable {self._git!r} not found; install git or put it on PATH",
                    field="git",
                ) from exc
            assert process.stdout is not None
            widen_pipe(process.stdout.fileno())  # git runs ahead of the parser
            parse_error: GitError | None = None
            try:
                try:
                    yield from parse_log_stream(process.stdout)
                except GitError as exc:
                    parse_error = exc  # git's own message, if it failed, says more
            finally:
                if process.poll() is None:
                    process.kill()
                process.stdout.close()
                returncode = process.wait()
            if returncode != 0:
                stderr.seek(0)
                raise GitError(
                    f"git log failed in {str(self.path)!r}: {self._first_line(stderr.read())}",
                    field="repo",
                )
            if parse_error is not None:
                raise parse_error


def expand_commits(
    values: Iterable[str], *, repo: str | os.PathLike[str] = ".", field: str = "commit"
) -> list[str]:
    """Commit SHAs as the CLI stores them on a change: full names kept, abbreviated ones
    expanded in ``repo`` (the repository the CLI runs in), anything else refused."""
    from changegate.errors import InvalidInput
    from changegate.scm.sha import is_full_sha

    out: list[str] = []
    git: GitRepo | None = None
    for value in values:
        sha = value.strip().lower()
        if is_full_sha(sha):
            out.append(sha)
            continue
        if git is None:
            try:
                git = GitRepo(repo)
            except NotARepository as exc:
                raise InvalidInput(
                    f"--{field} {value!r} is abbreviated and {str(Path(repo).resolve())!r} is "
                    f"not a git repository to expand it in; run the command in the repository, "
                    f"or give the full SHA (git rev-parse {sha})",
                    field=field,
                ) from exc
        out.append(git.expand_commit(sha, field=field))
    return out
