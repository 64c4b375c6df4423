"""Writers of one SQLite file take turns across processes before they ask SQLite for its lock.

Within a process, writers queue on a lock in memory (:func:`changegate.db.writer_lock`). A
second process's writers (two ``changegate serve`` processes, or ``serve --workers 2``) still
met at SQLite's own lock, which a waiter polls from its busy handler, sleeping 1 ms growing to
100 ms between tries: the process holding the lock hands it from one of its writers to the next
at once, while the other process's writer sleeps and finds it taken again (bench/
api_throughput.py, SQLite with two processes: approvals p99 near a second). So before
``BEGIN IMMEDIATE`` a writer takes an exclusive ``flock`` on a file beside the database
(``<database>-writers``): the kernel keeps the waiters and wakes them the moment it is released,
so a waiting process gets its turn instead of losing the race to sleep.

The lock orders writers; it does not guard anything. SQLite's lock is still what keeps two
writers apart, and a writer that does not take this one (a migration, another tool) meets the
others there as before. Where the file cannot be opened (a read-only directory, a system
without ``flock``), writers go straight to SQLite's lock.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from changegate.errors import DatabaseBusy

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's own lock alone
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("changegate.db")


def lock_path(engine: Engine) -> str | None:
    """The file the writers of ``engine``'s SQLite database take turns on; None for a database
    in memory (one process only) or where ``flock`` is missing."""
    database = engine.url.database
    if fcntl is None or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return f"{database}-writers"


@contextmanager
def turn(path: str, timeout: float, *, budget: float | None = None) -> Iterator[None]:
    """Hold the exclusive lock on ``path`` for the block, waiting at most ``timeout`` seconds
    for it (then DatabaseBusy, nothing written; ``budget``: the writer's whole wait, which the
    message names, when ``timeout`` is what is left of it). The lock belongs to an open file,
    not to a thread: the block may end on another thread than it began (as FastAPI may)."""
    fd = _open(path)
    if fd is not None and not _acquire(fd, timeout, timeout if budget is None else budget):
        os.close(fd)  # the file cannot be locked here (an error, not a wait): SQLite's lock alone
        fd = None
    try:
        yield
    finally:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def _open(path: str) -> int | None:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        log.debug("writers' turn file %s unavailable (%s): SQLite's lock alone", path, exc)
        return None


def _acquire(fd: int, timeout: float, budget: float) -> bool:
    """Take the lock on ``fd`` (True), or find that it cannot be taken here (False: the
    system refused, as some network file systems do). At once when it is free; else a helper
    thread waits for it in the kernel (``flock`` itself has no timeout) while this one waits
    at most ``timeout``, then DatabaseBusy. A wait given up leaves the helper to release the
    lock as soon as it gets it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    except OSError as exc:
        log.debug("writers' turn file not lockable (%s): SQLite's lock alone", exc)
        return False
    got = threading.Event()
    decided = threading.Lock()
    outcome: list[bool] = []  # the helper's: True locked, False refused
    abandoned = False

    def wait() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            locked = True
        except OSError:
            locked = False
        with decided:
            if abandoned:
                os.close(fd)  # releases the lock nobody waits for any more
                return
            outcome.append(locked)
            got.set()

    threading.Thread(target=wait, name="changegate-writer-turn", daemon=True).start()
    if got.wait(timeout):
        return outcome[0]
    with decided:
        if got.is_set():
            return outcome[0]
        abandoned = True
    raise DatabaseBusy(
        f"the database stayed busy for {budget:.0f} s (another process was writing); try again",
        field="db",
    )
