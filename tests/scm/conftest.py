"""Real git repositories built in temp dirs, for the scm tests."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


class RepoBuilder:
    """Builds a repository with the real git binary: files, commits, branches, merges.

    Commits get fixed, increasing dates so that SHAs are reproducible within a test and
    ``--since`` filters are predictable.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._tick = 0
        self.env = {
            **os.environ,
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(path),
        }
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["git", "-C", str(self.path), *args],
            capture_output=True,
            env={**self.env, **(env or {})},
            check=True,
        )
        return result.stdout.decode()

    def write(self, path: str, content: str | bytes = "x\n") -> None:
        target = self.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)

    def remove(self, path: str) -> None:
        self.git("rm", "-q", "--", path)

    def move(self, old: str, new: str) -> None:
        (self.path / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", "--", old, new)

    def _identity(self, author: str, email: str | None) -> dict[str, str]:
        self._tick += 1
        when = f"{1_700_000_000 + self._tick * 3600} +0000"
        mail = email or f"{author.lower()}@example.com"
        return {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": mail,
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": mail,
            "GIT_COMMITTER_DATE": when,
        }

    def commit(
        self,
        message: str,
        files: dict[str, str | bytes] | None = None,
        *,
        author: str = "Alice",
        email: str | None = None,
    ) -> str:
        for path, content in (files or {}).items():
            self.write(path, content)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, env=self._identity(author, email))
        return self.head()

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("checkout", "-q", "-b", name, start)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)

    def merge(self, branch: str, message: str, *, author: str = "Merger") -> str:
        self.git("merge", "-q", "--no-ff", "-m", message, branch, env=self._identity(author, None))
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], RepoBuilder]:
    def factory(name: str = "repo") -> RepoBuilder:
        return RepoBuilder(tmp_path / name)

    return factory


@pytest.fixture
def repo(make_repo: Callable[[str], RepoBuilder]) -> RepoBuilder:
    return make_repo("repo")
