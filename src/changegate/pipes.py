"""Pipes between changegate and the processes it feeds or reads (git, the package's zip
writer)."""

from __future__ import annotations


def widen_pipe(fd: int) -> None:
    """Make the pipe ``fd`` hold 1 MiB (Linux; elsewhere, or when the system refuses, it
    keeps its size), so the process on each end runs on its own core instead of the two
    waiting for each other every 64 KiB."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass
