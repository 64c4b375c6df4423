"""Lists on a year of history: 10,000 changes and 100,000 audit events.

Times, in one run against a real server process on that database (one connection, the requests
taking turns, one of each per round; the median of ``--repeat`` rounds):

- ``GET /healthz``: a single-row read (the schema revision), the floor,
- ``GET /api/me``: a single-row read (the caller's user) through the same token check and
  read transaction as the lists,
- the web page ``/changes`` (first page, 50 rows) and ``GET /api/changes`` (first page, and a
  page 7,500 rows deep via its cursor), its title search matching one change in 13 and one
  change of all (on PostgreSQL the trigram index of migration 0017 serves the latter), and the
  audit log page ``/audit``,

then the peak memory (ru_maxrss of the process) of ``changegate change list --all --json``
(every change, streamed as JSON lines) beside ``change list --limit 100 --json``.

The database is written fast, the way the services write it: change rows as ``create_change``
leaves them (states, classes, authors and creation times spread over a year) and hash-chained
audit events (ten per change: created, edited, submitted, ...) appended with the real chain
code in bulk. Figures only, no assertions.

    python bench/lists.py [--changes 10000] [--events-per-change 10] [--repeat 21]
                          [--db sqlite,postgres | --db postgresql://...]

``--db postgres`` starts a throwaway PostgreSQL cluster (as the tests and
``bench/api_throughput.py`` do); a ``postgresql://`` URL names an empty database of one's own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PY = sys.executable
sys.path.insert(0, str(HERE))

from api_throughput import free_port, start, stop, wait_http  # noqa: E402

STATES = ("draft", "submitted", "approved", "deployed", "closed", "rejected")
CLASSES = ("normal", "normal", "standard", "emergency")
ACTIONS = ("change.created", "change.edited", "change.submitted", "review.approved")


def change_rows(n: int) -> list[dict[str, Any]]:
    start_at = dt.datetime(2025, 11, 1, tzinfo=dt.UTC)
    rows = []
    for i in range(1, n + 1):
        created = start_at + dt.timedelta(minutes=52 * i)
        rows.append(
            {
                "id": i,
                "title": f"Change {i}: bump dependency {i % 97} in service {i % 13}",
                "description": "Keeps the service on a supported release.",
                "change_class": CLASSES[i % 4],
                "category": None,
                "components": ["application"],
                "providers": [],
                "ai_component": None,
                "risk": {d: {"level": "low", "note": ""} for d in ("availability", "security")},
                "rollback_plan": "Redeploy the previous version.",
                "justification": "",
                "links": [],
                "commits": [],
                "security_flag": False,
                "author": ("alice", "bob", "carol", "dave")[i % 4],
                "state": STATES[i % len(STATES)],
                "revision": 1,
                "created_at": created,
                "updated_at": created + dt.timedelta(hours=3),
                "submitted_at": None,
            }
        )
    return rows


def build(db_url: str, changes: int, per_change: int) -> None:
    from sqlalchemy import insert, update

    from changegate.audit.chain import GENESIS, canonical_json, chain_hash, leaf_hash
    from changegate.audit.models import AuditEvent, AuditHead, AuditSubtree
    from changegate.audit.tree import subtree_rows
    from changegate.changes.models import Change
    from changegate.db import iso, make_engine, session_scope
    from changegate.migrate import upgrade

    engine = make_engine(db_url)
    upgrade(engine)
    t0 = time.perf_counter()
    rows = change_rows(changes)
    prev, seq, leaves, batch = GENESIS, 0, [], []
    with session_scope(engine) as s:
        for chunk in range(0, len(rows), 2000):
            s.execute(insert(Change), rows[chunk : chunk + 2000])
        for row in rows:
            state = {k: iso(v) if isinstance(v, dt.datetime) else v for k, v in row.items()}
            state["id"] = f"CHG-{row['id']}"
            for k in range(per_change):
                seq += 1
                ts = row["created_at"] + dt.timedelta(minutes=k)
                event = {
                    "seq": seq,
                    "ts": iso(ts),
                    "actor": row["author"],
                    "action": ACTIONS[min(k, len(ACTIONS) - 1)],
                    "entity": f"change:{state['id']}",
                    "entity_version": k + 1,
                    "before": None,
                    "after": state,
                }
                data = canonical_json(event)
                leaf = leaf_hash(data)
                prev = chain_hash(prev, leaf)
                leaves.append(leaf)
                batch.append({"seq": seq, "data": data, "leaf_hash": leaf, "chain_hash": prev})
            if len(batch) >= 20000:
                s.execute(insert(AuditEvent), batch)
                batch.clear()
        if batch:
            s.execute(insert(AuditEvent), batch)
        s.execute(insert(AuditSubtree), list(subtree_rows(leaves)))
        s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=seq, chain_hash=prev))
    if engine.dialect.name == "postgresql":
        # the planner statistics autovacuum keeps on a database written over a year; without
        # them PostgreSQL plans the title search on a table it thinks is empty
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    print(f"built {changes} changes, {seq} events in {time.perf_counter() - t0:.1f} s")
    engine.dispose()


def credentials(db_url: str, depth: int) -> tuple[str, str, str]:
    """A reader's API token and web session cookie, and the cursor ``depth`` rows deep."""
    from sqlalchemy import select

    from changegate.auth.service import create_token, open_session
    from changegate.changes.listing import encode_cursor
    from changegate.changes.models import Change
    from changegate.db import make_engine, session_scope
    from changegate.policy.loader import load_policy
    from changegate.policy.service import ensure_recorded
    from changegate.users.service import add_user

    engine = make_engine(db_url)
    loaded = load_policy()
    with session_scope(engine) as s:
        ensure_recorded(s, loaded)
        user = add_user(s, loaded.policy, name="reader", roles=["auditor"])
        token = create_token(s, user="reader", actor="system")[1]
        cookie = open_session(s, user, address="bench", ttl=dt.timedelta(hours=2))[1]
        stmt = select(Change).order_by(Change.created_at.desc(), Change.id.desc())
        deep = s.scalars(stmt.offset(depth - 1).limit(1)).one()
        cursor = encode_cursor("-created", deep)
    engine.dispose()
    return token, cookie, cursor


def timed_gets(
    port: int, requests: list[tuple[str, dict[str, str]]], repeat: int
) -> list[tuple[float, int]]:
    """Median milliseconds of ``repeat`` GETs of each path on one keep-alive connection, and
    the size of its answer. The requests take turns (one of each per round, two rounds to warm
    up), so a machine that slows down or speeds up during the run moves every figure alike and
    the ratios between them hold."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    times: list[list[float]] = [[] for _ in requests]
    sizes = [0] * len(requests)
    for _ in range(repeat + 2):
        for i, (path, headers) in enumerate(requests):
            t = time.perf_counter()
            conn.request("GET", path, headers=headers)
            r = conn.getresponse()
            body = r.read()
            times[i].append(time.perf_counter() - t)
            if r.status != 200:
                sys.exit(f"GET {path}: {r.status} {body[:300]!r}")
            sizes[i] = len(body)
    conn.close()
    return [(statistics.median(t[2:]) * 1000, size) for t, size in zip(times, sizes, strict=True)]


def peak_memory(cmd: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """Peak resident memory (MB) of ``cmd`` run in a process of its own, its output lines, and
    its wall time (s)."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
        "t = time.perf_counter() - t\n"
        "assert p.returncode == 0, p.returncode\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
        " p.stdout.count(b'\\n'), t)\n"
    )
    out = subprocess.run([PY, "-c", probe, *cmd], env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stderr[-2000:])
    kb, lines, secs = out.stdout.split()
    return int(kb) / 1024, int(lines), float(secs)


def measure(db_url: str, tmp: Path, repeat: int, changes: int) -> None:
    depth = changes * 3 // 4
    token, cookie, cursor = credentials(db_url, depth)
    env = dict(os.environ, CHANGEGATE_DB=db_url, CHANGEGATE_DATA_DIR=str(tmp))
    env.pop("CHANGEGATE_URL", None)
    env |= {"CHANGEGATE_SECRET_KEY": "bench-" + "s" * 40, "CHANGEGATE_ALERT_WORKER": "0"}
    port = free_port()
    cmd = [PY, "-m", "uvicorn", "changegate.api.app:app_from_env", "--factory"]
    cmd += ["--port", str(port), "--host", "127.0.0.1", "--log-level", "warning"]
    proc = start(cmd, env, HERE.parent)
    try:
        wait_http(port, "/healthz")
        api = {"Authorization": f"Bearer {token}"}
        web = {"Cookie": f"__Host-changegate={cookie}"}
        rows = [
            ("GET /healthz (single-row read)", "/healthz", {}),
            ("GET /api/me (authenticated row)", "/api/me", api),
            ("GET /changes (web, first page)", "/changes", web),
            ("GET /api/changes (first page)", "/api/changes", api),
            (f"GET /api/changes ({depth:,} deep)", f"/api/changes?cursor={cursor}", api),
            ("GET /api/changes?q=service 7", "/api/changes?q=service%207", api),
            # one title of 10,000 matches: a search that reads every row without an index
            ("GET /api/changes?q=Change 4242:", "/api/changes?q=Change%204242%3A", api),
            ("GET /audit (web, latest page)", "/audit", web),
        ]
        timed = timed_gets(port, [(path, h) for _, path, h in rows], repeat)
        results = [(name, ms, size) for (name, _, _), (ms, size) in zip(rows, timed, strict=True)]
    finally:
        stop([proc])
    floor, authed = results[0][1], results[1][1]
    print(f"\nmedian of {repeat} rounds (one of each request per round), one connection\n")
    print(f"{'request':34} {'ms':>8} {'x healthz':>10} {'x /api/me':>10} {'bytes':>9}")
    for name, ms, size in results:
        print(f"{name:34} {ms:>8.2f} {ms / floor:>10.2f} {ms / authed:>10.2f} {size:>9}")
    print(
        "(target: first pages within 2x of a single-row read; /api/me is one through the same "
        "token check and read transaction as the lists, /healthz one without either)"
    )
    cli = [str(Path(PY).with_name("changegate")), "change", "list", "--json"]
    every, n_all, t_all = peak_memory([*cli, "--all"], env)
    page, _, t_page = peak_memory([*cli, "--limit", "100"], env)
    print(f"\npeak memory: change list --all --json {every:.0f} MB ({n_all} lines, {t_all:.2f} s)")
    print(f"             change list --limit 100 --json {page:.0f} MB ({t_page:.2f} s)")
    print(f"             ratio {every / page:.2f} (target: under 2)")


@contextmanager
def database(kind: str, tmp: Path, stack: ExitStack) -> Iterator[str]:
    """A fresh database URL: a SQLite file, a database in a throwaway PostgreSQL cluster, or
    the URL given."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'lists.db'}"
    elif kind == "postgres":
        from sqlalchemy import text
        from tests.pg import cluster

        from changegate.db import make_engine

        url = stack.enter_context(cluster())
        admin = make_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE bench_lists"))
        admin.dispose()
        yield url.rsplit("/", 1)[0] + "/bench_lists"
    else:
        yield kind


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--events-per-change", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=101)
    ap.add_argument(
        "--db",
        default="sqlite",
        help="sqlite, postgres (a throwaway cluster), both (sqlite,postgres), or the URL of an "
        "empty PostgreSQL database",
    )
    args = ap.parse_args()
    sys.path.insert(0, str(HERE.parent))
    kinds = [args.db] if "://" in args.db else args.db.split(",")
    for kind in kinds:
        tmp = Path(tempfile.mkdtemp(prefix="changegate-lists-"))
        try:
            with ExitStack() as stack, database(kind, tmp, stack) as db_url:
                print(f"\n== {kind if '://' not in kind else 'postgresql (given URL)'} ==")
                build(db_url, args.changes, args.events_per_change)
                measure(db_url, tmp, args.repeat, args.changes)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
