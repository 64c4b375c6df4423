"""`changegate dora` over the local database."""

from __future__ import annotations

from typing import Any

from changegate.cli.local.base import LocalBackend


class LocalDora(LocalBackend):
    def dora(
        self, env: str, start: str | None, end: str | None, service: str | None, repo: str | None
    ) -> dict[str, Any]:
        from changegate.dora.service import dora, window

        span = window(start, end)
        times = None
        if repo is not None:
            from changegate.scm.gitrepo import GitRepo

            times = GitRepo(repo).commit_times
        with self.tx(write=False) as (s, pol):
            return dora(s, pol, env=env, span=span, service=service, commit_times=times)
