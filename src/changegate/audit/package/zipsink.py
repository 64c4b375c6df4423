"""Writing the package's zip while its files are still being made.

Deflating 200 MB of events, proofs and packets takes about as long as making them, and both
hold the interpreter: a thread would take turns with the builder (the GIL), so the zip is
written by a child process (this Python, isolated, running ``_CHILD`` below: the standard
library's ``zipfile``) fed through a pipe as each file is made, into a private temporary
file copied to ``out`` at the end. On two cores the package takes about the time of making
its files. Where no child can be started (no executable Python, a sandbox) the zip is written
in this process, the same bytes.

Members keep the order they were added in, with fixed timestamps: the same input gives the
same zip either way.
"""

from __future__ import annotations

import queue
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile
from typing import IO

from changegate.pipes import widen_pipe

#: the child: frames of (name length, data length, name, data) from stdin into a zip file
_CHILD = """
import struct, sys, zipfile
read = sys.stdin.buffer.read
with zipfile.ZipFile(sys.argv[1], "w", compression=zipfile.ZIP_DEFLATED) as archive:
    while (head := read(12)):
        n, size = struct.unpack(">IQ", head)
        name, data = read(n).decode(), read(size)
        if len(data) != size:
            sys.exit("the package's files ended in the middle of one")
        info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, data)
"""
_FRAME = struct.Struct(">IQ")


def add_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    """One deflated member with the package's fixed timestamp (as ``_CHILD`` writes it)."""
    info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


class ZipSink:
    """``add`` the files in order, then ``close``; ``abort`` after an error."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._tmp = tempfile.NamedTemporaryFile(prefix="changegate-package-", suffix=".zip")  # noqa: SIM115
        self._archive: zipfile.ZipFile | None = None
        self._child: subprocess.Popen[bytes] | None = None
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _CHILD, self._tmp.name],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        except OSError:
            self._archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
            return
        assert self._child.stdin is not None
        widen_pipe(self._child.stdin.fileno())
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._broken = False
        self._feeder = threading.Thread(target=self._feed, name="package-zip-feeder", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        """Hand the queued frames to the child, as many at once as are waiting: the write
        waits for the child without holding the interpreter, so the builder goes on making
        the next files (one write per burst, not per file: few hand-overs of the GIL)."""
        assert self._child is not None and self._child.stdin is not None
        get, get_nowait, stdin = self._queue.get, self._queue.get_nowait, self._child.stdin
        done = False
        while not done:
            parts = [get()]
            while len(parts) < 4096:
                try:
                    parts.append(get_nowait())
                except queue.Empty:
                    break
            if None in parts:
                parts, done = parts[: parts.index(None)], True
            if self._broken:
                continue
            try:
                stdin.write(b"".join(parts))  # type: ignore[arg-type]
            except (BrokenPipeError, OSError):
                self._broken = True

    def add(self, name: str, data: bytes) -> None:
        if self._archive is not None:
            add_member(self._archive, name, data)
            return
        if self._broken:
            self._fail()
        encoded = name.encode()
        self._queue.put(_FRAME.pack(len(encoded), len(data)) + encoded)
        self._queue.put(data)

    def close(self) -> None:
        """Finish the zip and copy it to ``out``."""
        if self._archive is not None:
            self._archive.close()
            return
        assert self._child is not None and self._child.stdin is not None
        self._queue.put(None)
        self._feeder.join()
        try:
            self._child.stdin.close()
        except BrokenPipeError:
            self._broken = True
        if self._broken or self._child.wait() != 0:
            self._fail()
        with open(self._tmp.name, "rb") as written:
            shutil.copyfileobj(written, self._out, 1 << 20)
        self._tmp.close()

    def abort(self) -> None:
        if self._child is not None and self._child.poll() is None:
            self._broken = True
            self._queue.put(None)
            self._child.kill()
            self._child.wait()
        self._tmp.close()

    def _fail(self) -> None:
        assert self._child is not None
        self._child.kill()
        self._child.wait()
        error = b"" if self._child.stderr is None else self._child.stderr.read()
        self._tmp.close()
        why = error.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no message"]
        raise OSError(f"the process writing the package's zip failed: {why[0]}")
