"""A real webhook receiver for the alert tests and bench/alerts.py: a threaded HTTP server that
verifies Standard Webhooks signatures with the spec's algorithm (written here, not imported
from changegate), de-duplicates by webhook-id, and can be told to fail or stall."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def spec_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """standardwebhooks.com: HMAC-SHA256 over "id.timestamp.body" with the base64-decoded
    part of the whsec_ secret, base64-encoded, prefixed "v1,"."""
    key = base64.b64decode(secret.split("_", 1)[1])
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


@dataclass
class Received:
    msg_id: str
    headers: dict[str, str]
    body: bytes
    at: float
    verified: bool | None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str | None = None
    #: what the next requests get: "ok", "fail" (HTTP 500) or "stall" (no answer for stall_s)
    plan: list[str] = field(default_factory=list)
    stall_s: float = 3.0
    #: how long every answer takes (a slow receiver keeps deliveries in flight)
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    #: the webhook-id of every request answered 2xx, and the requests themselves
    answered: list[str] = field(default_factory=list)
    ok: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def next_action(self) -> str:
        with self.lock:
            return self.plan.pop(0) if self.plan else "ok"

    def accepted(self) -> list[Received]:
        """Requests answered 2xx."""
        with self.lock:
            return list(self.ok)

    def ids(self) -> Counter[str]:
        with self.lock:
            return Counter(self.answered)

    def wait_for(self, n: int, timeout: float = 30.0) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if len(set(self.ids())) >= n:
                return True
            time.sleep(0.05)
        return False


def _handler(rx: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            msg_id = headers.get("webhook-id", "")
            verified = None
            if rx.secret is not None:
                want = spec_signature(rx.secret, msg_id, headers["webhook-timestamp"], body)
                given = headers.get("webhook-signature", "").split()
                verified = any(hmac.compare_digest(want, g) for g in given)
            got = Received(msg_id, headers, body, time.time(), verified)
            with rx.lock:
                rx.received.append(got)
            action = rx.next_action()
            if rx.delay_s:
                time.sleep(rx.delay_s)
            if action == "stall":
                time.sleep(rx.stall_s)
            if action != "ok" or verified is False:
                self.send_response(500 if action == "fail" else 401)
                self.end_headers()
                return
            with rx.lock:
                rx.answered.append(msg_id)
                rx.ok.append(got)
            self.send_response(204)
            self.end_headers()

    return Handler


@contextmanager
def receiving(secret: str | None = None, plan: list[str] | None = None) -> Iterator[Receiver]:
    rx = Receiver(secret=secret, plan=list(plan or []))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rx))
    server.daemon_threads = True
    rx.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield rx
    finally:
        server.shutdown()
        server.server_close()
