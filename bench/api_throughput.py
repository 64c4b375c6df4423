"""API throughput: requests per second and p50/p99 latency of the changegate server.

Starts, on 127.0.0.1 only, the changegate app (one process, or two separate processes sharing
the database) and a floor app with the same uvicorn settings, each in its own process, and
drives them with a load generator in another process (asyncio, keep-alive HTTP/1.1, a fixed
number of connections, bounded in requests and time):

- ``GET /bare``: a FastAPI endpoint returning a constant (the floor set by FastAPI + uvicorn),
- ``POST /chain``: the write floor: one SHA-256 hash-chained row appended per request to a
  SQLite file (read the head, hash, insert, commit; what ``audit.record`` does and nothing else),
- ``GET /api/changes/CHG-1/status``: authenticated, the requirement evaluation of a change,
- ``POST /api/changes/CHG-1/evidence/junit``: authenticated, a test-result upload,
- ``POST /api/changes/CHG-n/approve``: authenticated, an approval (a write, audited, committed),
- the pipeline mix of ``bench/load.py`` (status, evidence upload, gate, deploy on pipelines'
  connections; change list, a change, the audit log and approvals on reviewers').

The floors and the endpoints take turns (``--rounds`` slices of ``--seconds / --rounds``
each), so that a ratio compares figures from the same minutes: this VM's speed drifts by up to
half between minutes. The floor app runs for the whole run; the pipeline mix runs after.

On SQLite and on PostgreSQL (a throwaway cluster started as tests/pg.py does), each with one
and two server processes (``--db``, ``--processes``). Then it times a remote-mode
``changegate gate`` as a fresh process (the CI pipeline's call). Figures only, no assertions.

    python bench/api_throughput.py [--seconds 5] [--rounds 5] [--connections 16] [--approvals 1500]
        [--db sqlite,postgres] [--processes 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, NamedTuple

HERE = Path(__file__).resolve().parent
PY = sys.executable
UVICORN_OPTS = ["--host", "127.0.0.1", "--no-access-log", "--log-level", "warning"]
BARE_APP = """
import hashlib, os, sqlite3, threading
from fastapi import FastAPI
app = FastAPI()
DB = os.environ["FLOOR_DB"]
LOCK = threading.Lock()
with sqlite3.connect(DB) as c:
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, data BLOB, hash BLOB)")
local = threading.local()

def conn() -> sqlite3.Connection:
    if not hasattr(local, "c"):
        local.c = sqlite3.connect(DB, timeout=60, isolation_level=None)
        local.c.execute("PRAGMA synchronous=NORMAL")
    return local.c

@app.get("/bare")
async def bare() -> dict[str, bool]:
    return {"ok": True}

@app.post("/chain")
def chain(body: dict) -> dict[str, int]:
    data = repr(sorted(body.items())).encode()
    c = conn()
    with LOCK:
        c.execute("BEGIN IMMEDIATE")
        row = c.execute("SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = row if row else (0, bytes(32))
        digest = hashlib.sha256(prev + hashlib.sha256(data).digest()).digest()
        c.execute("INSERT INTO log VALUES (?, ?, ?)", (seq + 1, data, digest))
        c.execute("COMMIT")
    return {"seq": seq + 1}
"""


# --- the load generator (runs in its own process) ---------------------------------------------


async def _worker(
    host: str,
    port: int,
    requests: list[bytes],
    limit: int,
    next_index: list[int],
    deadline: float,
    latencies: list[float],
    statuses: dict[int, int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            i = next_index[0]
            if i >= limit:
                return
            next_index[0] = i + 1
            start = time.perf_counter()
            writer.write(requests[i % len(requests)])
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
            _worker(
                spec["host"],
                spec["ports"][i % len(spec["ports"])],
                requests,
                spec.get("limit") or len(requests),
                next_index,
                deadline,
                latencies,
                statuses,
            )
            for i in range(spec["connections"])
        )
    )
    return summarise([(time.perf_counter() - start, latencies, statuses)])


def summarise(slices: list[tuple[float, list[float], dict[Any, int]]]) -> dict[str, Any]:
    """Throughput and latency percentiles over one or more timed slices of load:
    ``(seconds, latencies in s, statuses)`` each."""
    elapsed = sum(seconds for seconds, _, _ in slices)
    latencies = sorted(x for _, lat, _ in slices for x in lat)
    statuses: dict[str, int] = {}
    for _, _, st in slices:
        for code, count in st.items():
            statuses[str(code)] = statuses.get(str(code), 0) + count
    n = len(latencies)
    return {
        "requests": n,
        "seconds": elapsed,
        "rps": n / elapsed if elapsed else 0.0,
        "p50_ms": latencies[n // 2] * 1000 if n else 0.0,
        "p99_ms": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        "statuses": statuses,
        "latencies": latencies,
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


def run_load(
    port: int | list[int],
    requests: list[str],
    seconds: float,
    connections: int,
    *,
    repeat: bool = False,
) -> dict[str, Any]:
    """``requests`` sent over ``connections`` for ``seconds`` at most, each once, or over and
    over in turn (``repeat``, up to 200,000)."""
    spec = {
        "host": "127.0.0.1",
        "ports": port if isinstance(port, list) else [port],
        "requests": requests,
        "limit": 200_000 if repeat else len(requests),
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
    """Users, tokens, CHG-1 (with evidence), ``approvals`` submitted changes to approve and
    one more for evidence uploads."""
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
            ("dave", ["deployer", "ci"]),  # bench/load.py's pipeline user
        ):
            add_user(s, policy, name=name, roles=roles)
            tokens[name] = create_token(s, user=name, actor="system")[1]
    for i in range(approvals + 2):
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


@contextmanager
def database(kind: str, tmp: Path, index: int) -> Iterator[str]:
    """A fresh database URL of ``kind``: a SQLite file, or a database in the PostgreSQL cluster
    started once for the run."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / f'bench-{index}.db'}"
        return
    from sqlalchemy import text

    from changegate.db import make_engine

    admin = make_engine(PG[0], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE bench_{index}"))
    admin.dispose()
    yield PG[0].rsplit("/", 1)[0] + f"/bench_{index}"


#: the PostgreSQL cluster's URL, once started
PG: list[str] = []


def start_app(
    env: dict[str, str], processes: int
) -> tuple[list[subprocess.Popen[bytes]], list[int]]:
    """``processes`` separate changegate servers on one database, each on its own port."""
    procs, ports = [], []
    for _ in range(processes):
        port = free_port()
        cmd = [PY, "-m", "uvicorn", "changegate.api.app:app_from_env", "--factory"]
        procs.append(start([*cmd, "--port", str(port), *UVICORN_OPTS], env, HERE.parent))
        ports.append(port)
    for port in ports:
        wait_http(port, "/healthz")
    return procs, ports


class Load(NamedTuple):
    """Requests to send to ``ports``: each once (approvals), or over and over (``repeat``)."""

    ports: list[int]
    requests: list[str]
    repeat: bool = True


def measure_in_turns(loads: dict[str, Load], opts: Any) -> dict[str, dict[str, Any]]:
    """Each load for ``opts.seconds`` in all, in ``opts.rounds`` turns of one slice each, so
    that the floors and the endpoints share the machine's slow and fast minutes (this VM's
    speed drifts by up to half between minutes). Requests sent once go on where their last
    slice stopped."""
    slices: dict[str, list[tuple[float, list[float], dict[Any, int]]]] = {n: [] for n in loads}
    used = dict.fromkeys(loads, 0)
    each = opts.seconds / opts.rounds
    for _ in range(opts.rounds):
        for name, load in loads.items():
            todo = load.requests if load.repeat else load.requests[used[name] :]
            r = run_load(load.ports, todo, each, opts.connections, repeat=load.repeat)
            used[name] += r["requests"]
            slices[name].append((r["seconds"], r["latencies"], r["statuses"]))
    return {name: summarise(parts) for name, parts in slices.items()}


def app_loads(ports: list[int], tokens: dict[str, str], opts: Any) -> dict[str, Load]:
    """The status read, an evidence upload and approvals."""
    status = request("GET", "/api/changes/CHG-1/status", ports[0], tokens["bob"])
    run_load(ports, [status], 1, opts.connections, repeat=True)  # warm up
    junit = (HERE.parent / "tests" / "data" / "junit_pass.xml").read_bytes()
    upload = {"filename": "j.xml", "content_base64": base64.b64encode(junit).decode()}
    # to a change of its own: the uploads would otherwise grow what the status read evaluates
    evidence = request(
        "POST",
        f"/api/changes/CHG-{opts.approvals + 2}/evidence/junit",
        ports[0],
        tokens["alice"],
        upload,
    )
    approvals = [
        request("POST", f"/api/changes/CHG-{i}/approve", ports[0], tokens["bob"], {"comment": "ok"})
        for i in range(2, opts.approvals + 2)
    ]
    # each route's first request builds it (FastAPI >= 0.137 does that lazily): not measured
    run_load(ports, [evidence], 1, 1)
    run_load(ports, approvals[:1], 1, 1)
    return {
        "GET /api/changes/{id}/status": Load(ports, [status]),
        "POST .../evidence/junit": Load(ports, [evidence]),
        "POST /api/changes/{id}/approve": Load(ports, approvals[1:], repeat=False),
    }


@contextmanager
def floor_server(tmp: Path, env: dict[str, str], opts: Any) -> Iterator[dict[str, Load]]:
    """The floor app in its own process, for the whole run: its loads."""
    (tmp / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    floor_env = env | {"FLOOR_DB": str(tmp / "floor.db")}
    cmd = [PY, "-m", "uvicorn", "bare_app:app", "--port", str(port), *UVICORN_OPTS]
    proc = start(cmd, floor_env, tmp)
    try:
        wait_http(port, "/bare")
        bare = request("GET", "/bare", port)
        run_load(port, [bare], 1, opts.connections, repeat=True)  # warm up
        chain = request("POST", "/chain", port, body={"actor": "bench", "action": "x"})
        yield {
            "GET /bare (FastAPI floor)": Load([port], [bare]),
            "POST /chain (write floor)": Load([port], [chain]),
        }
    finally:
        stop([proc])


def pipeline_mix(ports: list[int], tokens: dict[str, str], opts: Any) -> None:
    """bench/load.py's pipelines and reviewers against the first server (its own process)."""
    args = ["--url", f"http://127.0.0.1:{ports[-1]}", "--token", tokens["dave"]]
    args += ["--reviewer-token", tokens["bob"], "--seconds", str(opts.seconds)]
    args += ["--connections", str(opts.connections), "--max-requests", "100000"]
    args += ["--approvals", "100"]
    out = subprocess.run(
        [PY, str(HERE / "load.py"), *args], capture_output=True, text=True, timeout=900
    )
    lines = out.stdout.splitlines()
    print("\n".join(lines[1:]) if out.returncode == 0 else out.stderr[-2000:])


def show(title: str, results: dict[str, dict[str, Any]]) -> None:
    print(f"\n{title}\n")
    print(f"{'endpoint':34} {'requests':>9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for name, r in results.items():
        print(
            f"{name:34} {r['requests']:>9} {r['rps']:>9.0f} {r['p50_ms']:>8.2f} "
            f"{r['p99_ms']:>8.2f}  {r['statuses']}"
        )


def ratios(results: dict[str, dict[str, Any]], floors: dict[str, dict[str, Any]]) -> None:
    bare = floors["GET /bare (FastAPI floor)"]["rps"] or 1.0
    chain = floors["POST /chain (write floor)"]["rps"] or 1.0
    status = results["GET /api/changes/{id}/status"]["rps"]
    print(f"\nstatus / bare: {status / bare:.0%} (target: at least 50%)")
    for name in ("POST /api/changes/{id}/approve", "POST .../evidence/junit"):
        r = results[name]
        print(
            f"{name} / write floor: {r['rps'] / chain:.0%}, p99 {r['p99_ms']:.0f} ms "
            "(target: at least 25%, p99 under 250 ms on SQLite)"
        )


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def gate_timing(port: int, env: dict[str, str], token: str, runs: int) -> None:
    # as `pip install` leaves a package: compiled (this machine sets PYTHONDONTWRITEBYTECODE,
    # which would make every fresh process compile changegate's modules from source)
    subprocess.run(
        [PY, "-m", "compileall", "-q", str(HERE.parent / "src" / "changegate")], check=False
    )
    cg = str(Path(PY).with_name("changegate"))
    remote_env = env | {"CHANGEGATE_URL": f"http://127.0.0.1:{port}", "CHANGEGATE_TOKEN": token}
    gate = [cg, "gate", "CHG-1", "--env", "production", "--deployer", "carol"]
    human = time_process(gate, remote_env, runs)
    as_json = time_process([*gate, "--json"], remote_env, runs)
    floor = time_process([PY, "-c", "pass"], env, runs)
    print(f"\nremote `changegate gate` as a fresh process, median of {runs}:")
    print(f"  human output (Rich table)  {human:7.1f} ms")
    print(f"  --json                     {as_json:7.1f} ms   (target: under 150 ms)")
    print(f"  python -c pass             {floor:7.1f} ms   (interpreter start, the floor)")


def server_env(db_url: str, tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("CHANGEGATE_URL", None)
    return env | {
        "CHANGEGATE_DB": db_url,
        "CHANGEGATE_SECRET_KEY": "bench-" + "s" * 40,
        "CHANGEGATE_DATA_DIR": str(tmp),
        "CHANGEGATE_COOKIE_SECURE": "true",
        "CHANGEGATE_ALERT_WORKER": "0",
    }


def one_setup(
    kind: str,
    processes: int,
    index: int,
    tmp: Path,
    opts: Any,
    floors: dict[str, Load],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The endpoints on one setup, in turns with the floors: (floors, endpoints)."""
    with database(kind, tmp, index) as db_url:
        print(f"\nseeding {opts.approvals + 2} changes in {kind} ...", flush=True)
        tokens = seed(db_url, opts.approvals)
        env = server_env(db_url, tmp)
        procs, ports = start_app(env, processes)
        try:
            measured = measure_in_turns(floors | app_loads(ports, tokens, opts), opts)
            floor = {name: measured.pop(name) for name in floors}
            title = f"{kind}, {processes} server process(es), {opts.connections} connections"
            show(f"{title}, in {opts.rounds} turns with the floors", floor | measured)
            print(f"\npipeline mix (bench/load.py), {kind}, {processes} process(es):")
            pipeline_mix(ports, tokens, opts)
            if index == 0 and opts.runs:
                gate_timing(ports[0], env, tokens["carol"], opts.runs)
        finally:
            stop(procs)
        return floor, measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per measurement")
    parser.add_argument(
        "--rounds", type=int, default=5, help="turns the measurements take, one slice each"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--approvals", type=int, default=1500, help="changes prepared to approve")
    parser.add_argument("--runs", type=int, default=21, help="fresh processes for the gate timing")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--processes", default="1,2", help="server processes, e.g. 1,2")
    opts = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    tmp = Path(tempfile.mkdtemp(prefix="changegate-bench-"))
    try:
        with ExitStack() as stack:
            floor_loads = stack.enter_context(floor_server(tmp, server_env("sqlite://", tmp), opts))
            index, table = 0, []
            for kind in opts.db.split(","):
                if kind == "postgres" and not PG:
                    from tests.pg import cluster

                    PG.append(stack.enter_context(cluster()))
                for processes in (int(p) for p in opts.processes.split(",")):
                    floors, results = one_setup(kind, processes, index, tmp, opts, floor_loads)
                    ratios(results, floors)
                    table.append((kind, processes, results))
                    index += 1
            summary(table)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def summary(table: list[tuple[str, int, dict[str, dict[str, Any]]]]) -> None:
    print("\nreq/s by setup (p99 ms)")
    for kind, processes, results in table:
        cells = "  ".join(
            f"{name.split()[1]}: {r['rps']:.0f} ({r['p99_ms']:.0f})" for name, r in results.items()
        )
        print(f"  {kind:8} x{processes}  {cells}")


if __name__ == "__main__":
    if "--load" in sys.argv:
        load_main()
    else:
        main()
