"""Load test of a changegate deployment, through its API only, bounded in time and requests.

    python bench/load.py --url https://changegate.example.com --token PIPELINE_TOKEN \\
        [--reviewer-token REVIEWER_TOKEN] [--seconds 30] [--connections 8] [--max-requests 5000]

It drives the calls CI pipelines and reviewers make, at once, on keep-alive connections:

- pipelines (three connections in four): ``GET /api/changes/{id}/status``, a JUnit upload
  (``POST .../evidence/junit``), the gate (``POST .../gate``) and the deploy (``POST .../deploy``),
  in that order, over and over on a change of their own;
- reviewers (the rest): the change list (``GET /api/changes``), a change (``GET
  /api/changes/{id}``), the audit log's latest page, and ``POST .../approve`` of a change
  waiting for review,

and prints each endpoint's throughput and p50/p95/p99 latency, with the HTTP statuses seen.

What it writes is real: the changes it creates (titled "changegate load test"), their evidence,
approvals, gate decisions and deployments to ``--env`` (default ``staging``) stay in the
append-only audit log. Run it against a staging deployment, or a copy of production's database.

Tokens (``changegate token create``): ``--token`` is the pipeline's user, who creates the
changes, attaches their test results and deploys them: roles granting ``change.create``,
``evidence.add``, ``gate.check`` and ``deploy`` in the policy, and the role whose test results
count (``attached_by``); with the default policy ``deployer`` and ``ci``.
``--reviewer-token`` is another user with ``review.approve`` (``engineer``): segregation of
duties forbids approving one's own change. Without it the approvals are skipped and the
pipelines' gates stay closed (their deploys are recorded refusals, HTTP 409).

Standard library only: it runs wherever Python 3.11 does, without changegate installed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

JUNIT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="load" tests="2" failures="0" '
    b'errors="0" skipped="0"><testcase classname="load" name="a"/>'
    b'<testcase classname="load" name="b"/></testsuite>\n'
)
RISK = {d: {"level": "low", "note": "load test"} for d in ("availability", "security", "data")}


# --- setup, one call at a time ----------------------------------------------------------------


class Api:
    """Blocking JSON calls for the setup."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.loads(r.read() or b"null")
        except urllib.error.HTTPError as err:
            if err.code in ok:
                return json.loads(err.read() or b"null")
            sys.exit(f"{method} {path}: HTTP {err.code} {err.read()[:300]!r}")


def new_change(api: Api, title: str) -> str:
    body = {
        "title": title,
        "change_class": "normal",
        "description": "Created by bench/load.py to measure the server under load.",
        "components": ["application"],
        "risk": RISK,
        "rollback_plan": "Nothing to roll back: a load test.",
    }
    key: str = api.call("POST", "/api/changes", body)["id"]
    api.call("POST", f"/api/changes/{key}/submit", {})
    return key


def prepare(opts: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Changes for the pipelines (approved when a reviewer token is given, with passing test
    results and a validation) and changes waiting for the reviewers' approvals."""
    api = Api(opts.url, opts.token)
    reviewer = Api(opts.url, opts.reviewer_token) if opts.reviewer_token else None
    pipelines = max(1, opts.connections - reviewers_of(opts))
    ready: list[str] = []
    for i in range(max(pipelines, opts.changes)):
        key = new_change(api, f"changegate load test: pipeline {i + 1}")
        content = base64.b64encode(JUNIT).decode()
        api.call(
            "POST",
            f"/api/changes/{key}/evidence/junit",
            {"filename": "junit.xml", "content_base64": content},
        )
        api.call(
            "POST",
            f"/api/changes/{key}/evidence/validation",
            {"name": opts.env, "result": "pass", "details": "load test"},
        )
        if reviewer is not None:
            reviewer.call("POST", f"/api/changes/{key}/approve", {"comment": "load test"})
        ready.append(key)
    waiting = [
        new_change(api, f"changegate load test: review {i + 1}")
        for i in range(opts.approvals if reviewer is not None else 0)
    ]
    return ready, waiting


def reviewers_of(opts: argparse.Namespace) -> int:
    return 0 if opts.connections < 2 else max(1, opts.connections // 4)


# --- the load, on keep-alive connections -------------------------------------------------------


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[int, int]] = field(default_factory=dict)
    sent: int = 0


class Conn:
    """One keep-alive HTTP/1.1 connection (TLS for https), reopened when the server closes it."""

    def __init__(self, url: str, token: str) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.https else 80)
        self.base = parts.path.rstrip("/")
        self.netloc, self.token = parts.netloc, token
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        if self.streams is None:
            tls = ssl.create_default_context() if self.https else None
            self.streams = await asyncio.open_connection(self.host, self.port, ssl=tls)
        reader, writer = self.streams
        data = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {self.base}{path} HTTP/1.1\r\nHost: {self.netloc}\r\n"
            f"Authorization: Bearer {self.token}\r\nAccept: application/json\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
        )
        writer.write(head.encode() + data)
        await writer.drain()
        status, headers = await self._head(reader)
        payload = await self._body(reader, headers)
        if headers.get("connection", "").lower() == "close":
            writer.close()
            self.streams = None
        return status, payload

    @staticmethod
    async def _head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return int(lines[0].split(" ", 2)[1]), headers

    @staticmethod
    async def _body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() != "chunked":
            return await reader.readexactly(int(headers.get("content-length", "0")))
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunks.append(await reader.readexactly(size + 2))
            if size == 0:
                return b"".join(chunks)

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()


class Load:
    def __init__(self, opts: argparse.Namespace, ready: list[str], waiting: list[str]) -> None:
        self.opts, self.ready, self.waiting = opts, ready, waiting
        self.tally = Tally()
        self.deadline = 0.0

    def more(self) -> bool:
        return time.perf_counter() < self.deadline and self.tally.sent < self.opts.max_requests

    async def timed(self, conn: Conn, name: str, method: str, path: str, body: Any = None) -> bytes:
        self.tally.sent += 1
        start = time.perf_counter()
        status, payload = await conn.request(method, path, body)
        self.tally.latencies.setdefault(name, []).append(time.perf_counter() - start)
        seen = self.tally.statuses.setdefault(name, {})
        seen[status] = seen.get(status, 0) + 1
        return payload

    async def pipeline(self, conn: Conn) -> None:
        """Pipeline runs, each on a change of its own while prepared ones last; after that a
        re-run of the last one (same version: the server recognises the re-run)."""
        env, junit = self.opts.env, base64.b64encode(JUNIT).decode()
        key = ""
        while self.more():
            key = self.ready.pop() if self.ready else key
            steps: list[tuple[str, str, str, Any]] = [
                ("status", "GET", f"/api/changes/{key}/status", None),
                ("evidence upload", "POST", f"/api/changes/{key}/evidence/junit", None),
                ("gate", "POST", f"/api/changes/{key}/gate", {"env": env}),
                ("deploy", "POST", f"/api/changes/{key}/deploy", None),
            ]
            for name, method, path, body in steps:
                if not self.more():
                    return
                if name == "evidence upload":
                    body = {"filename": "junit.xml", "content_base64": junit}
                elif name == "deploy":
                    body = {"env": env, "version": f"load-{key}"}
                await self.timed(conn, name, method, path, body)

    async def reviewer(self, conn: Conn) -> None:
        while self.more():
            listed = await self.timed(conn, "change list", "GET", "/api/changes?limit=50")
            rows = json.loads(listed or b"[]")
            if rows and self.more():
                await self.timed(conn, "change page", "GET", f"/api/changes/{rows[0]['id']}")
            if self.more():
                await self.timed(conn, "audit log page", "GET", "/api/audit/events?limit=50")
            if self.waiting and self.more():
                key = self.waiting.pop()
                body = {"comment": "load test"}
                await self.timed(conn, "approve", "POST", f"/api/changes/{key}/approve", body)

    async def run(self) -> float:
        opts = self.opts
        pipes = [Conn(opts.url, opts.token) for _ in range(opts.connections - reviewers_of(opts))]
        token = opts.reviewer_token or opts.token
        views = [Conn(opts.url, token) for _ in range(reviewers_of(opts))]
        start = time.perf_counter()
        self.deadline = start + opts.seconds
        try:
            await asyncio.gather(
                *(self.pipeline(c) for c in pipes),
                *(self.reviewer(c) for c in views),
            )
        finally:
            for c in pipes + views:
                c.close()
        return time.perf_counter() - start


def percentile(sorted_values: list[float], p: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))] * 1000


def report(tally: Tally, elapsed: float, opts: argparse.Namespace) -> None:
    print(
        f"\n{opts.url}: {opts.connections} connections ({reviewers_of(opts)} reviewers), "
        f"{elapsed:.1f} s, {tally.sent} requests\n"
    )
    print(
        f"{'endpoint':18} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8}  statuses"
    )
    for name, values in tally.latencies.items():
        values.sort()
        print(
            f"{name:18} {len(values):>8} {len(values) / elapsed:>8.1f} "
            f"{percentile(values, 0.5):>8.1f} {percentile(values, 0.95):>8.1f} "
            f"{percentile(values, 0.99):>8.1f}  {tally.statuses[name]}"
        )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--url", required=True, help="The server, e.g. https://changegate.example.com"
    )
    parser.add_argument("--token", required=True, help="The pipeline user's API token")
    parser.add_argument("--reviewer-token", help="Another user's token, who may approve")
    parser.add_argument("--seconds", type=float, default=30.0, help="At most this long (30)")
    parser.add_argument("--connections", type=int, default=8, help="Concurrent connections (8)")
    parser.add_argument("--max-requests", type=int, default=5000, help="At most this many (5000)")
    parser.add_argument("--changes", type=int, default=20, help="Changes prepared to deploy")
    parser.add_argument("--approvals", type=int, default=50, help="Changes prepared for review")
    parser.add_argument("--env", default="staging", help="Where the pipelines deploy (staging)")
    opts = parser.parse_args(argv)
    if opts.connections < 1 or opts.seconds <= 0 or opts.max_requests < 1:
        parser.error("--connections, --seconds and --max-requests must be positive")
    if not opts.url.startswith(("http://", "https://")):
        parser.error("--url must be an http(s) URL")
    return opts


def main(argv: list[str] | None = None) -> None:
    opts = parse(argv)
    print(f"preparing changes on {opts.url} ...", flush=True)
    ready, waiting = prepare(opts)
    if not opts.reviewer_token:
        print("no --reviewer-token: approvals skipped, the pipelines' gates stay closed (409)")
    load = Load(opts, ready, waiting)
    elapsed = asyncio.run(load.run())
    report(load.tally, elapsed, opts)


if __name__ == "__main__":
    main()
