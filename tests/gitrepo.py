"""A real git repository built in a temp dir with the git binary: files, commits, branches,
merges. Shared by every test that needs one (scm, git flow, remote CLI).

Commits get fixed, increasing dates from ``epoch`` so that SHAs are reproducible within a test
and ``--since`` filters are predictable.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

#: 2026-01-01T00:00:00Z
EPOCH_2026 = 1_767_225_600


class Repo:
    def __init__(self, path: Path, *, epoch: int = EPOCH_2026, merger: str = "Mona") -> None:
        self.path = path
        self.epoch, self.merger = epoch, merger
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
        when = f"{self.epoch + self._tick * 3600} +0000"
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
        files: dict[str, str | bytes] | dict[str, str] | None = None,
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

    def merge(self, branch: str, message: str, *, author: str | None = None) -> str:
        who = author or self.merger
        self.git("merge", "-q", "--no-ff", "-m", message, branch, env=self._identity(who, None))
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()
