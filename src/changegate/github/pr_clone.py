"""Reading a pull request's changed files in the local clone configured for its repository
(``CHANGEGATE_GITHUB_REPOSITORIES``), fetching from ``origin`` when a commit is missing."""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from changegate.changes.from_git import RangeResult, classify_range
from changegate.errors import ChangegateError
from changegate.github.payloads import PullRequest
from changegate.github.settings import GitHubSettings
from changegate.scm.gitrepo import GitRepo

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

log = logging.getLogger("changegate.github")


def local_clone(settings: GitHubSettings, repository: str) -> Path | None:
    for name, path in settings.repositories.items():
        if name.lower() == repository.lower():
            return Path(path)
    return None


def _has_commit(path: Path, sha: str) -> bool:
    result = subprocess.run(
        ["git", "-C", str(path), "cat-file", "-e", f"{sha}^{{commit}}"],
        capture_output=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        check=False,
    )
    return result.returncode == 0


def _fetch(path: Path) -> str | None:
    """Fetch branches and pull request heads from ``origin``; the error, if any."""
    result = subprocess.run(
        [
            "git",
            "-C",
            str(path),
            "fetch",
            "--quiet",
            "--no-tags",
            "origin",
            "+refs/heads/*:refs/remotes/origin/*",
            "+refs/pull/*/head:refs/remotes/origin/pr/*",
        ],
        capture_output=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
        return lines[0] if lines else f"git fetch exited {result.returncode}"
    return None


def classify_pull_request(
    policy: Policy, settings: GitHubSettings, repository: str, pr: PullRequest
) -> tuple[RangeResult | None, str | None]:
    """Classify what the PR changes (``base...head`` in the local clone), or say why not."""
    path = local_clone(settings, repository)
    if path is None:
        return None, (
            f"Changed files: no local clone of {repository} is configured "
            "(CHANGEGATE_GITHUB_REPOSITORIES), so the class cannot be checked against the "
            "policy's path rules"
        )
    shas = (pr.base.sha, pr.head.sha)
    try:
        repo = GitRepo(path)
        if not all(_has_commit(path, sha) for sha in shas) and settings.fetch:
            error = _fetch(path)
            if error is not None:
                log.warning("fetching %s into %s failed: %s", repository, path, error)
        missing = [sha[:12] for sha in shas if not _has_commit(path, sha)]
        if missing:
            return None, (
                f"Changed files: commit {', '.join(missing)} is not in the clone at {path}; "
                "fetch it there (git fetch origin)"
            )
        return classify_range(policy, repo, f"{pr.base.sha}...{pr.head.sha}"), None
    except (ChangegateError, OSError, subprocess.SubprocessError) as exc:
        return None, f"Changed files: cannot be read from {path}: {exc}"
