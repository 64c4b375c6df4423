"""What a commit range holds, read from a repository on disk: no policy, no database.

``changegate change from-git`` reads the range where the repository is and hands the read
to the service that classifies it under the policy in force and creates the change: in the
same process (local mode), or sent to the server (CHANGEGATE_URL). Standard library and
``scm.gitrepo`` only, so the remote command imports neither Pydantic nor SQLAlchemy.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from typing import Any, NamedTuple

from changegate.errors import InvalidInput
from changegate.scm.gitformats import ChangedFile, RevisionRange
from changegate.scm.gitrepo import GitRepo


class FromGit(NamedTuple):
    """What `change from-git` asks beside the range: who, a class to raise to, the fields."""

    author: str
    requested_class: str | None
    fields: dict[str, Any]


#: at most this many commits of a range or pull request are listed on its change
MAX_RANGE_COMMITS = 1000


def range_commits(
    repo: GitRepo, base: str, head: str, *, limit: int = MAX_RANGE_COMMITS
) -> list[str]:
    """The commits of ``base..head``, oldest first; the newest ``limit`` when there are more."""
    result = subprocess.run(
        ["git", "-C", str(repo.path), "rev-list", f"--max-count={limit}", f"{base}..{head}", "--"],
        capture_output=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        check=False,
    )
    if result.returncode != 0:
        first = result.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InvalidInput(
            f"git rev-list {base[:12]}..{head[:12]} failed: {first[0] if first else 'no message'}",
            field="git_range",
        )
    return list(reversed(result.stdout.decode().split()))


@dataclass(frozen=True)
class Identity:
    """Who authored and who committed one commit, as git records them."""

    sha: str
    author_name: str
    author_email: str
    committer_name: str
    committer_email: str


@dataclass(frozen=True)
class RangeRead:
    """A resolved range: its ends, its changed files, the other paths its commits touch
    (``GitRepo.paths_of_commits``), its commits oldest first, and their identities."""

    git_range: str
    base: str
    head: str
    files: tuple[ChangedFile, ...]
    commit_paths: tuple[str, ...]
    commits: tuple[str, ...]
    identities: tuple[Identity, ...]

    @property
    def paths(self) -> list[str]:
        """Every path the path rules judge: both sides of each changed file, then the paths
        in which some commit of the range differs from the base."""
        return [path for changed in self.files for path in changed.paths] + list(self.commit_paths)

    def to_dict(self) -> dict[str, Any]:
        """The read as JSON (what the remote backend sends)."""
        return {
            "git_range": self.git_range,
            "base": self.base,
            "head": self.head,
            "files": [
                {"status": f.status, "path": f.path, "old_path": f.old_path} for f in self.files
            ],
            "commit_paths": list(self.commit_paths),
            "commits": list(self.commits),
            "identities": [
                [i.sha, i.author_name, i.author_email, i.committer_name, i.committer_email]
                for i in self.identities
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RangeRead:
        """The read from its JSON form (shapes checked by the caller's schema)."""
        return cls(
            git_range=data["git_range"],
            base=data["base"],
            head=data["head"],
            files=tuple(
                ChangedFile(f["status"], f["path"], f.get("old_path"), None, None, "", "")
                for f in data["files"]
            ),
            commit_paths=tuple(data["commit_paths"]),
            commits=tuple(data["commits"]),
            identities=tuple(Identity(*row) for row in data["identities"]),
        )


def read_range(
    repo: GitRepo | str | os.PathLike[str], git_range: str, *, people: bool = True
) -> RangeRead:
    """Read ``BASE..HEAD`` (or ``BASE...HEAD``, from the merge base) of ``repo``; with
    ``people``, who authored and committed each commit too.

    Both paths of a rename count, and the paths in which any commit of the range differs
    from the base, not only the net diff: each commit of the range is one of the change's
    commits and can be deployed by its SHA. Raises ``NotARepository`` or ``BadRevision``.
    """
    git_repo = repo if isinstance(repo, GitRepo) else GitRepo(repo)
    parsed = RevisionRange.parse(git_range)
    base, head = git_repo.range_ends(parsed)
    files = git_repo.changed_files(RevisionRange(base, head))
    commits = range_commits(git_repo, base, head)
    found = git_repo.identities(commits) if people else {}
    return RangeRead(
        git_range=str(parsed),
        base=base,
        head=head,
        files=tuple(files),
        commit_paths=tuple(git_repo.paths_of_commits(base, head)),
        commits=tuple(commits),
        identities=tuple(Identity(sha, *found[sha]) for sha in commits if sha in found),
    )
