"""Median wall time of `changegate gate` as a fresh process against a database holding 10,000
changes and 100,000 audit events, beside `changegate --help` and the floor set by our heaviest
dependency (`python -c "import sqlalchemy.orm"`), all measured in the same run.

Targets: --help under 250 ms; gate within 1.5x the floor. Also printed: the gate validating
the policy text in-process (CHANGEGATE_NO_POLICY_CACHE=1) instead of reading the snapshot the
database stores with it.
Usage: python bench/gate_latency.py [--changes 10000] [--runs 15] [--db-dir bench/out]
"""

from __future__ import annotations

import argparse
import sys
import time
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--db-dir", type=Path, default=Path(__file__).parent / "out")
    args = ap.parse_args()
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
    exe = [sys.executable, "-m", "changegate"]
    env = {"CHANGEGATE_DB": f"sqlite:///{db}"}
    key = f"CHG-{args.changes // 2}"
    # warm the OS cache and .pyc files once (and store the policy snapshot, as the first command
    # against a database with this policy does), then measure interleaved
    wall_times([*exe, "--help"], 1)
    wall_times([*exe, "gate", key, "--env", "production", "--deployer", "carol"], 1, env, (0, 1))
    gate_cmd = [*exe, "gate", key, "--env", "production", "--deployer", "carol"]
    uncached_env = env | {"CHANGEGATE_NO_POLICY_CACHE": "1"}
    floor, helpt, gate, uncached = [], [], [], []
    for _ in range(args.runs):
        floor += wall_times([sys.executable, "-c", "import sqlalchemy.orm"], 1)
        helpt += wall_times([*exe, "--help"], 1)
        gate += wall_times(gate_cmd, 1, env, (0, 1))
        uncached += wall_times(gate_cmd, 1, uncached_env, (0, 1))
    f, h, g, u = median_ms(floor), median_ms(helpt), median_ms(gate), median_ms(uncached)
    print(f"database: {db.name} ({args.changes} changes, >= {args.events} audit events)")
    print(f"python -c 'import sqlalchemy.orm' (floor): median {f:7.1f} ms over {args.runs} runs")
    print(
        f"changegate --help:                         median {h:7.1f} ms  (target < 250 ms: {'PASS' if h < 250 else 'FAIL'})"
    )
    print(
        f"changegate gate {key}:                 median {g:7.1f} ms  = {g / f:.2f}x floor "
        f"(target <= 1.5x: {'PASS' if g <= 1.5 * f else 'FAIL'})"
    )
    print(
        f"  same, policy validated in-process (CHANGEGATE_NO_POLICY_CACHE=1): median {u:7.1f} ms "
        f"= {u / f:.2f}x floor (the first call after a policy edit)"
    )


if __name__ == "__main__":
    main()
