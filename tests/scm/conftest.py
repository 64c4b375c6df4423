"""Real git repositories built in temp dirs, for the scm tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.gitrepo import Repo

#: 2023-11-14T22:13:20Z: the scm tests' --since filters count from here
SCM_EPOCH = 1_700_000_000


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], Repo]:
    def factory(name: str = "repo") -> Repo:
        return Repo(tmp_path / name, epoch=SCM_EPOCH, merger="Merger")

    return factory


@pytest.fixture
def repo(make_repo: Callable[[str], Repo]) -> Repo:
    return make_repo("repo")
