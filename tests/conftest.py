"""Fixtures that build real databases: a SQLite file and a PostgreSQL database per test, each
with the schema made by the real Alembic migrations (copied from a migrated template)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from changegate.db import make_engine
from changegate.migrate import upgrade
from tests import pg

IN_CI = bool(os.environ.get("CI"))
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    if not pg.available() and not os.environ.get("CHANGEGATE_TEST_PG_URL"):
        if IN_CI:
            pytest.fail("PostgreSQL is required in CI but initdb/pg_ctl were not found")
        pytest.skip("PostgreSQL not installed (apt-get install postgresql); CI runs these")
    with pg.cluster() as url:
        engine = make_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS cg_template"))
            conn.execute(text("CREATE DATABASE cg_template"))
        engine.dispose()
        template = make_engine(url.rsplit("/", 1)[0] + "/cg_template")
        upgrade(template)
        template.dispose()
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of a fresh, migrated database on the test's backend."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "changegate.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("pg_server")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE cg_template"))
    yield server.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def written_db(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite file for the write line's tests (tests/writes_support.py)."""
    from tests.writes_support import written_engine

    eng = written_engine(tmp_path / "written.db")
    yield eng
    eng.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failure: nothing may silently not run."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if IN_CI and skipped and exitstatus == 0:
        session.exitstatus = 1
        if reporter:
            reporter.write_line(
                f"FAILED: {skipped} test(s) skipped in CI; install what they need", red=True
            )
