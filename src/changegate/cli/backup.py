"""`changegate backup` and `changegate restore`: the whole database (the record, evidence
files' bytes, the audit log and its Merkle tree) to one file and back into a new database.
They work on a local database (a server's, from its machine), never through CHANGEGATE_URL."""

from __future__ import annotations

from pathlib import Path

import click

from changegate.cli.core import Run, command, line


@command(None, "backup", policy=False)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="The new backup file.")
def backup(run: Run, out: Path) -> None:
    """Back up the database to a new file, evidence bytes included.

    SQLite: the online backup API (consistent while the server runs). PostgreSQL: `pg_dump`
    (custom format; Debian's postgresql-client). Keep the file with a signed checkpoint
    (`audit checkpoint`): after a restore, `audit verify --checkpoint` proves the record intact.

    Example: changegate backup --out /backups/changegate-2026-11-29.db
    """
    from changegate.retention.backup import backup as write_backup

    run.backend("changegate.cli.local.base:LocalBackend")  # refuses CHANGEGATE_URL
    got = write_backup(run.opts.db_url, out)
    run.emit(
        got,
        lambda: line(f"backed up the {got['database']} database to {out} ({got['bytes']} bytes)"),
    )


@command(None, "restore", policy=False, db_default="none: name the new database")
@click.argument("file", type=click.Path(path_type=Path))
def restore(run: Run, file: Path) -> None:
    """Restore a backup (`changegate backup`) into a new database named by --db.

    SQLite: a new file (an existing one is never overwritten). PostgreSQL: an empty database
    (createdb it first), loaded with `pg_restore`. Then check it: `changegate audit verify
    --checkpoint KEPT.txt --vkey KEY --db URL`.

    Example: changegate restore /backups/changegate-2026-11-29.db --db sqlite:///restored.db
    """
    from changegate.errors import InvalidInput
    from changegate.retention.backup import restore as load_backup

    if not run.opts.db:
        raise InvalidInput(
            "--db: name the new database to restore into, e.g. sqlite:///restored.db", field="db"
        )
    got = load_backup(file, run.opts.db)
    run.emit(got, lambda: line(f"restored {file} into {got['restored_to']}"))
