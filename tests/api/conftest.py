"""Server fixtures: one app per backend per module (SQLite file and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.support import Org, database, running_org


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    tmp: Path = tmp_path_factory.mktemp("api")
    with database(str(request.param), request, tmp) as url, running_org(url) as o:
        yield o
