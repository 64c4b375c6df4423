"""Backing up the whole database (the record, the evidence files' bytes, the audit log and its
Merkle tree) and restoring it into a new database.

SQLite: the online backup API (a consistent copy while the server runs) into a new file;
restore copies it into a new file, never over an existing database. PostgreSQL: ``pg_dump`` in
its custom format, restored with ``pg_restore`` into an empty database (Debian's
``postgresql-client``). After a restore, ``changegate audit verify --checkpoint`` with a
checkpoint kept outside shows the restored record is the one signed.
"""

from __future__ import annotations

import glob
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from changegate.errors import Conflict, InvalidInput

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"


def _sqlite_path(url: str) -> Path | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise InvalidInput(
            f"--db {url}: name a SQLite file, e.g. sqlite:///restored.db", field="db"
        )
    return Path(parsed.database)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL as the connection URI the PostgreSQL tools take, and their
    environment: the password goes in PGPASSWORD, never on a command line others can read."""
    import os

    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    uri = parsed.set(drivername="postgresql", password=None)
    return uri.render_as_string(hide_password=False), env


def pg_tool(name: str) -> str:
    """A PostgreSQL client program (``pg_dump``, ``pg_restore``): on PATH, or the newest in
    Debian's /usr/lib/postgresql/*/bin; InvalidInput naming the package when neither."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if candidates:
        return candidates[-1]
    raise InvalidInput(
        f"{name} not found: install PostgreSQL's client programs (apt-get install "
        "postgresql-client), or put them on PATH",
        field="db",
    )


def _new_file(out: Path, what: str) -> None:
    if out.exists():
        raise InvalidInput(
            f"{what} {out}: the file exists; give a new file name", field=what.lstrip("-")
        )
    if not out.parent.is_dir():
        raise InvalidInput(f"{what} {out}: no directory {out.parent}", field=what.lstrip("-"))


def backup(url: str, out: Path) -> dict[str, Any]:
    """Write a backup of the database at ``url`` to the new file ``out``."""
    _new_file(out, "--out")
    source = _sqlite_path(url)
    if source is not None:
        if not source.is_file():
            raise InvalidInput(f"--db {url}: no such database file", field="db")
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(out)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        kind = "sqlite"
    else:
        uri, env = _libpq(url)
        dump = [pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
        _run([*dump, f"--file={out}", f"--dbname={uri}"], env, "pg_dump")
        kind = "postgresql"
    return {"file": str(out), "database": kind, "bytes": out.stat().st_size}


def restore(file: Path, url: str) -> dict[str, Any]:
    """Restore the backup ``file`` into a new SQLite file or an empty PostgreSQL database."""
    try:
        with file.open("rb") as fh:
            magic = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise InvalidInput(f"FILE {file}: cannot read it ({exc.strerror})", field="file") from None
    target = _sqlite_path(url)
    if target is not None:
        if not magic.startswith(SQLITE_MAGIC):
            raise InvalidInput(
                f"FILE {file}: not a SQLite backup (`changegate backup` of a SQLite database); "
                "restore a PostgreSQL dump into a postgresql:// database",
                field="file",
            )
        _new_file(target, "--db")
        partial = target.with_name(target.name + ".restoring")
        partial.unlink(missing_ok=True)
        src, dst = sqlite3.connect(f"file:{file}?mode=ro", uri=True), sqlite3.connect(partial)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        partial.rename(target)
        return {"file": str(file), "database": "sqlite", "restored_to": str(target)}
    if not magic.startswith(PG_MAGIC):
        raise InvalidInput(
            f"FILE {file}: not a PostgreSQL backup (`changegate backup` of a PostgreSQL "
            "database); restore a SQLite backup into a sqlite:/// file",
            field="file",
        )
    _refuse_non_empty(url)
    uri, env = _libpq(url)
    load = [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
    _run([*load, "--single-transaction", f"--dbname={uri}", str(file)], env, "pg_restore")
    return {"file": str(file), "database": "postgresql", "restored_to": _safe(url)}


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _refuse_non_empty(url: str) -> None:
    from sqlalchemy import text

    from changegate.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables: int = conn.execute(
                text(
                    "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN "
                    "('pg_catalog', 'information_schema')"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    if tables:
        raise InvalidInput(
            f"--db {_safe(url)}: the database holds {tables} tables; restore into a new, empty "
            "database (createdb NAME)",
            field="db",
        )


def _run(args: list[str], env: dict[str, str], name: str) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise Conflict(f"{name} failed: {last}")
