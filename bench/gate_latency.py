"""Median wall times of fresh processes, each beside its floor measured in the same run:

- local `changegate gate` against a database holding 10,000 changes and 100,000 audit events,
  beside `python -c "import sqlalchemy.orm"` (our heaviest dependency): target <= 1.2x;
- `changegate --help`, beside `python -c "import click"` (the CLI library alone): target <= 1.5x;
- remote `changegate gate` (CHANGEGATE_URL and a token, against `changegate serve` started here
  on the same database), beside a fresh `python -c` sending one bare `http.client` request to the
  same endpoint: target <= 1.5x.

Also printed: the local gate validating the policy text in-process
(CHANGEGATE_NO_POLICY_CACHE=1) instead of reading the snapshot the database stores with it.
Usage: python bench/gate_latency.py [--changes 10000] [--runs 15] [--db-dir bench/out]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import median_ms, wall_times


def build(db_path: Path, n_changes: int, target_events: int) -> None:
    from sqlalchemy import func, select

    from changegate.audit.models import AuditEvent
    from changegate.changes import service as changes
    from changegate.changes.schemas import ChangeCreate
    from changegate.db import make_engine, session_scope
    from changegate.evidence import service as evidence
    from changegate.migrate import upgrade
    from changegate.policy.loader import load_policy
    from changegate.policy.service import ensure_recorded
    from changegate.reviews import service as reviews
    from changegate.users.service import add_user

    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    loaded = load_policy()
    p = loaded.policy
    with session_scope(engine) as s:
        ensure_recorded(s, loaded)
        for name, roles in (
            ("alice", ["engineer"]),
            ("bob", ["engineer"]),
            ("carol", ["deployer"]),
            ("ci-bot", ["ci"]),  # the pipeline's account: its validations count
        ):
            add_user(s, p, name=name, roles=roles)
    risk = {d: {"level": "low", "note": ""} for d in ("availability", "security", "data")}
    per_change_extra = max(0, target_events // n_changes - 4)
    t0 = time.perf_counter()
    batch = 250
    for start in range(0, n_changes, batch):
        with session_scope(engine) as s:
            for i in range(start, min(start + batch, n_changes)):
                c = changes.create_change(
                    s,
                    p,
                    ChangeCreate(
                        title=f"Change {i}",
                        change_class="normal",
                        author="alice",
                        description="bench",
                        components=["application"],
                        risk=risk,
                        rollback_plan="redeploy",
                    ),
                )
                changes.submit_change(s, p, c, actor="alice")
                reviews.approve(s, p, c, actor="bob")
                for j in range(per_change_extra):
                    evidence.add_validation(
                        s, p, c, name="staging", result="pass", details=str(j), actor="ci-bot"
                    )
        done = min(start + batch, n_changes)
        if done % 2000 == 0:
            print(f"  built {done} changes ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)
    with session_scope(engine, write=False) as s:
        n = s.scalar(select(func.count()).select_from(AuditEvent))
    print(
        f"  database: {n_changes} changes, {n} audit events ({time.perf_counter() - t0:.0f}s to build)",
        file=sys.stderr,
    )
    engine.dispose()


def token_for(db_url: str, user: str) -> str:
    """An API token for ``user`` on the bench database (the remote CLI's CHANGEGATE_TOKEN)."""
    from changegate.auth.service import create_token
    from changegate.db import make_engine, session_scope

    engine = make_engine(db_url)
    with session_scope(engine) as s:
        _, raw = create_token(s, user=user, actor="system", expires="1d", label="bench")
    engine.dispose()
    return raw


@contextmanager
def server(db_url: str) -> Iterator[str]:
    """`changegate serve` on the bench database, on a free port; its base URL once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = dict(os.environ, CHANGEGATE_DB=db_url, CHANGEGATE_SECRET_KEY="bench-" + "k" * 40)
    env.pop("CHANGEGATE_URL", None)
    cmd = [sys.executable, "-m", "changegate", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None:
                    sys.exit(f"changegate serve exited {proc.returncode}")
                time.sleep(0.1)
        else:
            sys.exit("changegate serve did not answer /healthz in 30 s")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


#: one bare standard-library request, as a fresh process: the remote gate's floor
BARE_REQUEST = """
import http.client, json, sys
conn = http.client.HTTPConnection(sys.argv[1], int(sys.argv[2]))
body = json.dumps({"env": "production", "deployer": "carol"})
headers = {"Authorization": "Bearer " + sys.argv[4], "Content-Type": "application/json"}
conn.request("POST", sys.argv[3], body, headers)
answer = conn.getresponse()
answer.read()
sys.exit(0 if answer.status == 200 else 3)
"""


FLOOR_SQLALCHEMY = "python -c 'import sqlalchemy.orm' (floor)"
FLOOR_CLICK = "python -c 'import click' (floor)"


def ratio_line(label: str, ms: float, floor: float, target: float) -> str:
    verdict = "PASS" if ms <= target * floor else "FAIL"
    return (
        f"{label:<44} median {ms:7.1f} ms = {ms / floor:.2f}x floor "
        f"(target <= {target}x: {verdict})"
    )


def prepare(args: argparse.Namespace) -> Path:
    """The bench database, built once and kept; upgraded, and changegate byte-compiled."""
    args.db_dir.mkdir(parents=True, exist_ok=True)
    db = args.db_dir / f"gate-{args.changes}-{args.events}.db"
    if not db.exists():
        print(f"building {db} ...", file=sys.stderr)
        tmp = db.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        build(tmp, args.changes, args.events)
        tmp.rename(db)
    from changegate.db import make_engine
    from changegate.migrate import upgrade

    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)  # a cached database from an older schema
    engine.dispose()
    # byte-compile changegate as `pip install` does (PYTHONDONTWRITEBYTECODE may be set here)
    import compileall

    import changegate

    compileall.compile_dir(str(Path(changegate.__file__).parent), quiet=1)
    return db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--db-dir", type=Path, default=Path(__file__).parent / "out")
    args = ap.parse_args()
    db = prepare(args)
    db_url = f"sqlite:///{db}"
    exe = [sys.executable, "-m", "changegate"]
    env = {"CHANGEGATE_DB": db_url}
    key = f"CHG-{args.changes // 2}"
    gate_cmd = [*exe, "gate", key, "--env", "production", "--deployer", "carol"]
    uncached_env = env | {"CHANGEGATE_NO_POLICY_CACHE": "1"}
    token = token_for(db_url, "carol")
    with server(db_url) as base:
        remote_env = {"CHANGEGATE_URL": base, "CHANGEGATE_TOKEN": token}
        host, port = base.removeprefix("http://").split(":")
        bare = [sys.executable, "-c", BARE_REQUEST, host, port, f"/api/changes/{key}/gate", token]
        cases = {
            "sqlalchemy": ([sys.executable, "-c", "import sqlalchemy.orm"], None),
            "gate": (gate_cmd, env),
            "uncached": (gate_cmd, uncached_env),
            "click": ([sys.executable, "-c", "import click"], None),
            "help": ([*exe, "--help"], None),
            "bare": (bare, None),
            "remote": (gate_cmd, remote_env),
        }
        # warm the OS cache and .pyc files once (and store the policy snapshot, as the first
        # command against a database with this policy does), then measure interleaved
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs + 1):
            for name, (cmd, case_env) in cases.items():
                times[name] += wall_times(cmd, 1, case_env, (0, 1))
        m = {name: median_ms(t[1:]) for name, t in times.items()}
    print(f"database: {db.name} ({args.changes} changes, >= {args.events} audit events)")
    print(f"medians over {args.runs} fresh processes each, interleaved:")
    print(f"{FLOOR_SQLALCHEMY:<44} median {m['sqlalchemy']:7.1f} ms")
    print(ratio_line(f"changegate gate {key} (local)", m["gate"], m["sqlalchemy"], 1.2))
    print(
        f"  same, policy validated in-process (CHANGEGATE_NO_POLICY_CACHE=1): median "
        f"{m['uncached']:7.1f} ms = {m['uncached'] / m['sqlalchemy']:.2f}x (after a policy edit)"
    )
    print(f"{FLOOR_CLICK:<44} median {m['click']:7.1f} ms")
    print(ratio_line("changegate --help", m["help"], m["click"], 1.5))
    print(f"{'python -c one bare http.client request':<44} median {m['bare']:7.1f} ms")
    print(ratio_line(f"changegate gate {key} (remote)", m["remote"], m["bare"], 1.5))


if __name__ == "__main__":
    main()
