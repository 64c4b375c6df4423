"""Writers in two processes on one SQLite file (two `changegate serve` processes, or
`serve --workers 2`): they take turns on the file beside the database before SQLite's own lock
(changegate/sqlite_writers.py). Every write lands, the audit sequence stays dense and verifies;
a writer that cannot get its turn is refused with DatabaseBusy and writes nothing; where the
turn file cannot be made, writers go straight to SQLite's lock."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from changegate.audit.models import AuditEvent
from changegate.audit.verify import verify
from changegate.changes.models import Change
from changegate.db import make_engine, session_scope
from changegate.errors import DatabaseBusy
from changegate.migrate import upgrade
from changegate.sqlite_writers import lock_path, turn
from tests.factories import make_team

ROOT = Path(__file__).resolve().parents[1]
THREADS, EACH = 4, 8

WRITER = """
import sys, threading, time
sys.path.insert(0, {root!r})
from changegate.db import make_engine
from tests.factories import make_change
engine = make_engine({url!r})
start_at = {start!r}
def write(t):
    for i in range({each}):
        make_change(engine, title=f"{{sys.argv[1]}} thread {{t}} change {{i}}")
time.sleep(max(0.0, start_at - time.time()))
threads = [threading.Thread(target=write, args=(t,)) for t in range({threads})]
for t in threads: t.start()
for t in threads: t.join()
print("done")
"""

HOLDER = """
import sys
sys.path.insert(0, {root!r})
from changegate.sqlite_writers import turn
with turn({path!r}, 60):
    print("held", flush=True)
    sys.stdin.read()
"""


def test_two_processes_of_writers_all_land_with_a_dense_verified_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    engine = make_engine(url)
    upgrade(engine)
    make_team(engine)
    start = time.time() + 3.0  # both processes begin writing together
    script = WRITER.format(root=str(ROOT), url=url, start=start, each=EACH, threads=THREADS)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, name], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for name in ("first", "second")
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err.decode()[-2000:]
        assert out.decode().strip() == "done"
    assert Path(f"{tmp_path / 'two.db'}-writers").exists()  # they took turns on it
    with session_scope(engine, write=False) as s:
        titles = list(s.scalars(select(Change.title)))
        assert len(titles) == 2 * THREADS * EACH
        assert {t.split(" ")[0] for t in titles} == {"first", "second"}
        seqs = list(s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        assert seqs == list(range(1, len(seqs) + 1))  # dense: no gap, no duplicate
        report = verify(s)
        assert report.ok, report.problems
    engine.dispose()


def test_a_writer_whose_turn_another_process_holds_is_refused_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import changegate.db as db

    url = f"sqlite:///{tmp_path / 'held.db'}"
    engine = make_engine(url)
    upgrade(engine)
    path = lock_path(engine)
    assert path == f"{tmp_path / 'held.db'}-writers"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(root=str(ROOT), path=path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().decode().strip() == "held"
        monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", 0.3)
        with session_scope(engine, write=False) as s:
            before = s.scalar(select(func.count()).select_from(AuditEvent))
        with (
            pytest.raises(DatabaseBusy, match="another process was writing"),
            session_scope(engine) as s,
        ):
            pytest.fail("the writer must not begin while another process holds the turn")
        with session_scope(engine, write=False) as s:
            assert s.scalar(select(func.count()).select_from(AuditEvent)) == before
    finally:
        holder.communicate(input=b"", timeout=60)  # the holder lets go and ends
    assert holder.returncode == 0
    # the abandoned wait took the turn when the holder let go, and gave it back at once
    monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", 10.0)
    make_team(engine)
    with session_scope(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) > before
    engine.dispose()


def test_the_queue_here_and_the_turn_share_one_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that queued in its process behind one waiting for another process's turn
    gets what is left of ``WRITER_WAIT_SECONDS`` for the turn, not the whole wait again: it
    is refused once, about one budget after it began (two budgets before)."""
    import threading

    import changegate.db as db

    engine = make_engine(f"sqlite:///{tmp_path / 'budget.db'}")
    upgrade(engine)
    path = lock_path(engine)
    assert path is not None
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.format(root=str(ROOT), path=path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    budget = 1.0
    outcomes: dict[str, tuple[str, float]] = {}

    def writer(name: str) -> None:
        began = time.monotonic()
        try:
            with session_scope(engine):
                outcome = "wrote"
        except DatabaseBusy as exc:
            outcome = str(exc)
        outcomes[name] = (outcome, time.monotonic() - began)

    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().decode().strip() == "held"
        monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", budget)
        first = threading.Thread(target=writer, args=("first",))
        first.start()  # holds the queue here while it waits for the other process's turn
        time.sleep(0.2)
        writer("second")  # queues behind it, then finds the turn still held
        first.join()
    finally:
        holder.communicate(input=b"", timeout=60)
    assert holder.returncode == 0
    for name in ("first", "second"):
        message, waited = outcomes[name]
        assert "the database stayed busy for 1 s" in message, (name, message)
        assert budget * 0.75 <= waited < budget * 1.5, (name, waited)  # two budgets: 2 s
    engine.dispose()


def test_without_a_turn_file_writers_go_straight_to_sqlites_lock(tmp_path: Path) -> None:
    assert lock_path(make_engine("sqlite://")) is None  # in memory: one process only
    missing = tmp_path / "no such directory" / "db-writers"
    with turn(str(missing), 0.1):  # cannot be made: no turn taken, no error
        pass
    assert not missing.exists()


def test_a_system_that_refuses_the_lock_leaves_writers_to_sqlites_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As some network file systems answer flock: ENOLCK. The write goes on (SQLite's lock
    still keeps writers apart), with no file descriptor left open."""
    import errno
    import os

    import changegate.sqlite_writers as writers

    def refused(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    url = f"sqlite:///{tmp_path / 'nolock.db'}"
    engine = make_engine(url)
    upgrade(engine)
    monkeypatch.setattr(writers.fcntl, "flock", refused)
    opened = len(os.listdir("/proc/self/fd"))
    make_team(engine)
    assert len(os.listdir("/proc/self/fd")) <= opened + 1  # at most the pool's connection
    with session_scope(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent))
    engine.dispose()
