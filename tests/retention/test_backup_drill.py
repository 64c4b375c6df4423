"""The backup drill, on SQLite and PostgreSQL: write a record, sign a checkpoint, back up,
restore into a new database, and `audit verify --checkpoint` passes there; a backup whose
event bytes were altered after the signature fails the same check."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from changegate.changes import service as changes
from changegate.db import make_engine
from changegate.evidence import service as evidence
from tests.cli_runner import Run, cli
from tests.factories import DEFAULT, JUNIT_PASS, make_change, make_team, tx

P = DEFAULT.policy
TITLE = "Round tax per line item"
FORGED = "Round tax per line itex"  # the same length: the file's layout is unchanged


@pytest.fixture
def new_db(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """Makes URLs of new, empty databases on the test's backend (dropped afterwards)."""
    made: list[str] = []
    server = request.getfixturevalue("pg_server") if backend == "postgres" else None

    def make() -> str:
        if server is None:
            return f"sqlite:///{tmp_path / f'restored-{uuid.uuid4().hex[:6]}.db'}"
        name = f"r_{uuid.uuid4().hex[:12]}"
        admin = make_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name} TEMPLATE template0"))
        admin.dispose()
        made.append(name)
        return server.rsplit("/", 1)[0] + "/" + name

    yield make
    if server is not None:
        admin = make_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def _record(engine: Engine) -> None:
    make_team(engine)
    key = make_change(engine, title=TITLE)
    tx(
        engine,
        lambda s: evidence.add_junit(
            s, P, changes.get_change(s, key), content=JUNIT_PASS, filename="j.xml", actor="ci-bot"
        ),
    )


def _signed(db_url: str, tmp_path: Path) -> tuple[Path, str]:
    key = tmp_path / "audit.key"
    vkey = cli(db_url, "audit", "keygen", "--out", str(key), "--json").json()["vkey"]
    note = cli(db_url, "audit", "checkpoint", "--key", str(key), "--json").json()["checkpoint"]
    kept = tmp_path / "checkpoint.txt"
    kept.write_text(note)
    return kept, vkey


def _verify(url: str, kept: Path, vkey: str) -> Run:
    return cli(url, "audit", "verify", "--checkpoint", str(kept), "--vkey", vkey, "--json")


def test_backup_restore_drill(engine: Engine, db_url: str, new_db: object, tmp_path: Path) -> None:
    make = new_db  # type: ignore[assignment]
    _record(engine)
    kept, vkey = _signed(db_url, tmp_path)
    backup = tmp_path / "changegate.backup"
    out = cli(db_url, "backup", "--out", str(backup), "--json")
    assert out.code == 0, out.stderr
    assert cli(db_url, "backup", "--out", str(backup)).code == 2  # never over a file

    restored = make()  # type: ignore[operator]
    done = cli(db_url, "restore", str(backup), "--db", restored, "--json")
    assert done.code == 0, done.stderr
    check = _verify(restored, kept, vkey)
    assert check.code == 0, check.stdout
    assert check.json()["checkpoint"]["ok"] and check.json()["rows_checked"] > 0
    # the evidence file's bytes came along
    with make_engine(restored).connect() as conn:
        assert bytes(conn.execute(text("SELECT content FROM blobs")).scalar_one()) == JUNIT_PASS
    # restoring again is refused: the database is no longer new or empty
    again = cli(db_url, "restore", str(backup), "--db", restored)
    assert again.code == 2 and "--db" in again.stderr


def test_an_altered_backup_fails_the_checkpoint_check(
    backend: str, engine: Engine, db_url: str, new_db: object, tmp_path: Path
) -> None:
    """Attack: edit an event's bytes in the backup after the checkpoint was signed."""
    make = new_db  # type: ignore[assignment]
    _record(engine)
    kept, vkey = _signed(db_url, tmp_path)
    backup = tmp_path / "changegate.backup"
    assert cli(db_url, "backup", "--out", str(backup)).code == 0
    if backend == "sqlite":
        data = backup.read_bytes()
        assert TITLE.encode() in data
        backup.write_bytes(data.replace(TITLE.encode(), FORGED.encode()))
    else:  # the dump is compressed: alter it through a database and dump that again
        scratch = make()  # type: ignore[operator]
        assert cli(db_url, "restore", str(backup), "--db", scratch).code == 0
        eng = make_engine(scratch)
        with eng.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
            conn.execute(
                text(
                    "UPDATE audit_events SET data = "
                    "convert_to(replace(convert_from(data, 'UTF8'), :a, :b), 'UTF8')"
                ),
                {"a": TITLE, "b": FORGED},
            )
        eng.dispose()
        backup.unlink()
        assert cli(scratch, "backup", "--out", str(backup)).code == 0
    restored = make()  # type: ignore[operator]
    assert cli(db_url, "restore", str(backup), "--db", restored).code == 0
    check = _verify(restored, kept, vkey)
    assert check.code == 1
    assert not check.json()["ok"] and check.json()["problems"]


def test_restore_refuses_bad_input(db_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup")
    run = cli(db_url, "restore", str(junk), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert run.code == 2 and "not a SQLite backup" in run.stderr
    run = cli(db_url, "restore", str(junk))
    assert run.code == 2 and "--db" in run.stderr
    run = cli(
        db_url, "restore", str(tmp_path / "missing"), "--db", f"sqlite:///{tmp_path / 'y.db'}"
    )
    assert run.code == 2 and "cannot read" in run.stderr
