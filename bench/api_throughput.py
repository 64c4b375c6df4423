"""API throughput: requests per second and p50/p99 latency of the changegate server.

Starts, on 127.0.0.1 only, the changegate app and a bare FastAPI app with the same uvicorn
settings, each in its own process, and drives them with a load generator in a third process
(asyncio, keep-alive HTTP/1.1, a fixed number of connections, bounded in requests and time):

- ``GET /bare``: a FastAPI endpoint returning a constant (the floor set by FastAPI + uvicorn),
- ``GET /api/changes/CHG-1/status``: authenticated, the requirement evaluation of a change,
- ``POST /api/changes/CHG-n/approve``: authenticated, an approval (a write, audited, committed).

Then it times a remote-mode ``changegate gate`` as a fresh process (the CI pipeline's call).

    python bench/api_throughput.py [--seconds 5] [--connections 16] [--approvals 600]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PY = sys.executable
BARE_APP = """
from fastapi import FastAPI
app = FastAPI()

@app.get("/bare")
async def bare() -> dict[str, bool]:
    return {"ok": True}
"""


# --- the load generator (runs in its own process) ---------------------------------------------


async def _worker(
    host: str,
    port: int,
    requests: list[bytes],
    next_index: list[int],
    deadline: float,
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            i = next_index[0]
            if i >= len(requests):
                return
            next_index[0] = i + 1
            start = time.perf_counter()
            writer.write(requests[i])
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    requests = [r.encode("latin-1") for r in spec["requests"]]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_index = [0]
    start = time.perf_counter()
    deadline = start + spec["seconds"]
    await asyncio.gather(
        *(
            _worker(spec["host"], spec["port"], requests, next_index, deadline, latencies, statuses)
            for _ in range(spec["connections"])
        )
    )
    elapsed = time.perf_counter() - start
    latencies.sort()
    n = len(latencies)
    return {
        "requests": n,
        "seconds": elapsed,
        "rps": n / elapsed if elapsed else 0.0,
        "p50_ms": latencies[n // 2] * 1000 if n else 0.0,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        "statuses": statuses,
    }


def load_main() -> None:
    spec = json.loads(sys.stdin.read())
    print(json.dumps(asyncio.run(_load(spec))))


# --- orchestration -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, path: str, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not answer {path}")


def request(method: str, path: str, port: int, token: str | None = None, body: Any = None) -> str:
    data = "" if body is None else json.dumps(body)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(data.encode())}")
    return "\r\n".join(lines) + "\r\n\r\n" + data


def run_load(port: int, requests: list[str], seconds: float, connections: int) -> dict[str, Any]:
    spec = {
        "host": "127.0.0.1",
        "port": port,
        "requests": requests,
        "seconds": seconds,
        "connections": connections,
    }
    out = subprocess.run(
        [PY, __file__, "--load"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def seed(db_url: str, approvals: int) -> dict[str, str]:
    """Users, tokens, CHG-1 (with evidence) and ``approvals`` submitted changes."""
    from changegate.auth.service import create_token
    from changegate.changes import service as changes
    from changegate.changes.schemas import ChangeCreate
    from changegate.db import make_engine, session_scope
    from changegate.evidence.service import add_junit, add_validation
    from changegate.migrate import upgrade
    from changegate.policy.loader import load_policy
    from changegate.policy.service import ensure_recorded
    from changegate.users.service import add_user

    engine = make_engine(db_url)
    upgrade(engine)
    loaded = load_policy()
    policy = loaded.policy
    tokens: dict[str, str] = {}
    junit = (HERE.parent / "tests" / "data" / "junit_pass.xml").read_bytes()
    risk = {d: {"level": "low", "note": ""} for d in ("availability", "security", "data")}
    with session_scope(engine) as s:
        ensure_recorded(s, loaded)
        for name, roles in (
            ("alice", ["engineer"]),
            ("bob", ["engineer"]),
            ("carol", ["deployer"]),
        ):
            add_user(s, policy, name=name, roles=roles)
            tokens[name] = create_token(s, user=name, actor="system")[1]
    for i in range(approvals + 1):
        with session_scope(engine) as s:
            change = changes.create_change(
                s,
                policy,
                ChangeCreate(
                    title=f"Change {i + 1}",
                    change_class="normal",
                    author="alice",
                    description="bench",
                    components=["application"],
                    risk=risk,
                    rollback_plan="redeploy",
                ),
            )
            changes.submit_change(s, policy, change, actor="alice")
            if i == 0:
                add_junit(s, policy, change, content=junit, filename="j.xml", actor="alice")
                add_validation(s, policy, change, name="staging", result="pass", actor="alice")
    engine.dispose()
    return tokens


def start(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def time_process(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, timeout=60)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--approvals", type=int, default=600, help="changes prepared to approve")
    parser.add_argument("--runs", type=int, default=21, help="fresh processes for the gate timing")
    opts = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="changegate-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        db_url = f"sqlite:///{tmp / 'bench.db'}"
        print(f"seeding {opts.approvals + 1} changes in {db_url} ...", flush=True)
        tokens = seed(db_url, opts.approvals)
        (tmp / "bare_app.py").write_text(BARE_APP)
        env = dict(os.environ)
        env.pop("CHANGEGATE_URL", None)
        env |= {
            "CHANGEGATE_DB": db_url,
            "CHANGEGATE_SECRET_KEY": "bench-" + "s" * 40,
            "CHANGEGATE_DATA_DIR": str(tmp),
            "CHANGEGATE_COOKIE_SECURE": "true",
        }
        uvicorn_opts = ["--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]
        app_port, bare_port = free_port(), free_port()
        procs.append(
            start(
                [
                    PY,
                    "-m",
                    "uvicorn",
                    "changegate.api.app:app_from_env",
                    "--factory",
                    "--port",
                    str(app_port),
                    *uvicorn_opts,
                ],
                env,
                HERE.parent,
            )
        )
        procs.append(
            start(
                [PY, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port), *uvicorn_opts],
                env,
                tmp,
            )
        )
        wait_http(app_port, "/healthz")
        wait_http(bare_port, "/bare")

        n = 200_000
        results: dict[str, dict[str, Any]] = {}
        warm = [request("GET", "/bare", bare_port)] * 2000
        run_load(bare_port, warm, 1, opts.connections)
        results["GET /bare (FastAPI floor)"] = run_load(
            bare_port, [request("GET", "/bare", bare_port)] * n, opts.seconds, opts.connections
        )
        status = request("GET", "/api/changes/CHG-1/status", app_port, tokens["bob"])
        run_load(app_port, [status] * 2000, 1, opts.connections)
        results["GET /api/changes/{id}/status"] = run_load(
            app_port, [status] * n, opts.seconds, opts.connections
        )
        approvals = [
            request(
                "POST", f"/api/changes/CHG-{i}/approve", app_port, tokens["bob"], {"comment": "ok"}
            )
            for i in range(2, opts.approvals + 2)
        ]
        results["POST /api/changes/{id}/approve"] = run_load(
            app_port, approvals, opts.seconds, opts.connections
        )

        print(
            f"\n{opts.connections} connections, up to {opts.seconds:g} s each, SQLite, 1 worker\n"
        )
        print(f"{'endpoint':34} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses")
        for name, r in results.items():
            print(
                f"{name:34} {r['requests']:>9} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} "
                f"{r['p99_ms']:>8.2f}  {r['statuses']}"
            )
        bare_rps = results["GET /bare (FastAPI floor)"]["rps"]
        status_rps = results["GET /api/changes/{id}/status"]["rps"]
        ratio = status_rps / bare_rps if bare_rps else 0.0
        print(f"\nstatus / bare throughput: {ratio:.0%} (target: at least 50%)")

        # as `pip install` leaves a package: compiled (this machine sets PYTHONDONTWRITEBYTECODE,
        # which would make every fresh process compile changegate's modules from source)
        subprocess.run(
            [PY, "-m", "compileall", "-q", str(HERE.parent / "src" / "changegate")], check=False
        )
        cg = str(Path(PY).with_name("changegate"))
        remote_env = env | {
            "CHANGEGATE_URL": f"http://127.0.0.1:{app_port}",
            "CHANGEGATE_TOKEN": tokens["carol"],
        }
        gate = [cg, "gate", "CHG-1", "--env", "production", "--deployer", "carol"]
        human = time_process(gate, remote_env, opts.runs)
        as_json = time_process([*gate, "--json"], remote_env, opts.runs)
        floor = time_process([PY, "-c", "pass"], env, opts.runs)
        print(f"\nremote `changegate gate` as a fresh process, median of {opts.runs}:")
        print(f"  human output (Rich table)  {human:7.1f} ms")
        print(f"  --json                     {as_json:7.1f} ms   (target: under 150 ms)")
        print(f"  python -c pass             {floor:7.1f} ms   (interpreter start, the floor)")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if "--load" in sys.argv:
        load_main()
    else:
        main()
