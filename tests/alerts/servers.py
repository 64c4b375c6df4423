"""`changegate serve` processes for the tests and bench/alerts.py: started on a free port with
the given environment, their stderr (JSON log lines) kept in a file."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECRET_KEY = "s" * 48


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[dict[str, Any]]:
        """The JSON lines the server logged so far."""
        out = []
        for raw in self.log.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(raw))
            except ValueError:
                continue
        return out

    def kill(self) -> None:
        """kill -9: no shutdown, no lifespan exit, claims left as they are."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def start(db_url: str, log: Path, env: dict[str, str], *extra: str) -> Server:
    port = free_port()
    full = dict(os.environ) | {
        "CHANGEGATE_DB": db_url,
        "CHANGEGATE_SECRET_KEY": SECRET_KEY,
        "CHANGEGATE_URL": "",
    }
    full.pop("CHANGEGATE_URL")
    full |= env
    args = [sys.executable, "-m", "changegate", "serve", "--port", str(port), *extra]
    with log.open("wb") as fh:
        proc = subprocess.Popen(args, env=full, stdout=subprocess.DEVNULL, stderr=fh)
    server = Server(proc, port, log)
    _wait_ready(server)
    return server


def _wait_ready(server: Server, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited: {server.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"server not ready: {server.log.read_text()[-2000:]}")
