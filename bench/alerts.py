"""Alert delivery under load: violations produced at a steady rate against two `changegate serve`
instances sharing one PostgreSQL, delivered by their background workers to a local receiver.

Prints delivered, duplicates, lost, and the p50/p99 latency from the event (the refused gate's
recorded time) to its receipt. Targets: 0 lost, 0 duplicates without a crash, p99 under 2 s.
`--kill` kills one server (SIGKILL) halfway: duplicates may then appear, always under the same
webhook-id, and nothing may be lost.

    python bench/alerts.py [--violations 2000] [--seconds 20] [--kill]

PostgreSQL: a throwaway cluster as tests/pg.py starts one, or CHANGEGATE_TEST_PG_URL.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SECRET = "whsec_" + base64.b64encode(b"bench-alerts-secret-32-bytes-ok!").decode()


def prepare(url: str) -> tuple[str, str]:
    """A migrated database with a deployer and a draft change; the deployer's token, the key."""
    from tests.factories import make_change, make_team, tx

    from changegate.auth.service import create_token
    from changegate.db import make_engine
    from changegate.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    make_team(engine)
    key = make_change(engine)
    token = tx(engine, lambda s: create_token(s, user="carol", actor="system"))[1]
    engine.dispose()
    return token, key


def database(server_url: str) -> str:
    from sqlalchemy import text

    from changegate.db import make_engine

    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS cg_bench_alerts WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE cg_bench_alerts"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + "/cg_bench_alerts"


def produce(bases: list[str], token: str, key: str, n: int, seconds: float) -> int:
    """``n`` refused gates, evenly over ``seconds``, alternating between the servers."""
    body = json.dumps({"env": "production"}).encode()
    start = time.monotonic()
    refused = 0
    lock = threading.Lock()

    def one(i: int) -> None:
        nonlocal refused
        delay = start + i * seconds / n - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        req = urllib.request.Request(
            f"{bases[i % len(bases)]}/api/changes/{key}/gate",
            data=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            urllib.request.urlopen(req, timeout=30).close()
        except urllib.error.HTTPError:
            pass
        except OSError:
            req.full_url = f"{bases[(i + 1) % len(bases)]}/api/changes/{key}/gate"
            urllib.request.urlopen(req, timeout=30).close()  # that server was killed
        with lock:
            refused += 1

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(n)))
    return refused


def outcome(url: str, receipts: dict[str, list[float]]) -> dict[str, Any]:
    from sqlalchemy import select

    from changegate.alerts.models import Alert, AlertDelivery
    from changegate.db import make_engine, session_scope

    engine = make_engine(url)
    with session_scope(engine, write=False) as s:
        rows = s.execute(
            select(AlertDelivery.webhook_id, Alert.created_at).join(
                Alert, Alert.id == AlertDelivery.alert_id
            )
        ).all()
        alerts = len(s.scalars(select(Alert.id)).all())
    engine.dispose()
    latencies = sorted(
        (min(receipts[wid]) - created.timestamp()) for wid, created in rows if wid in receipts
    )
    lost = sum(1 for wid, _ in rows if wid not in receipts)
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "alerts": alerts,
        "deliveries": len(rows),
        "delivered": len(rows) - lost,
        "lost": lost,
        "duplicates": sum(len(v) - 1 for v in receipts.values()),
        "p50_s": round(q[49], 3),
        "p99_s": round(q[98], 3),
    }


def run(opts: argparse.Namespace, pg_server: str, tmp: Path) -> dict[str, Any]:
    from tests.alerts import servers
    from tests.alerts.receiver import receiving

    url = database(pg_server)
    token, key = prepare(url)
    with receiving(SECRET) as rx:
        env = {
            "CHANGEGATE_ALERT_WEBHOOK_URL": rx.url,
            "CHANGEGATE_ALERT_WEBHOOK_SECRET": SECRET,
            "CHANGEGATE_ALERT_LEASE_SECONDS": "5",
        }
        started = [servers.start(url, tmp / f"server{i}.log", env) for i in range(2)]
        try:
            if opts.kill:
                threading.Timer(opts.seconds / 2, started[0].kill).start()
            t0 = time.monotonic()
            produce([s.url for s in started], token, key, opts.violations, opts.seconds)
            produced_s = time.monotonic() - t0
            rx.wait_for(opts.violations, timeout=120)
            time.sleep(1)  # late retries, if any, are counted too
        finally:
            for s in started:
                s.stop()
        ms = sorted(x["ms"] for s in started for x in s.lines() if x.get("kind") == "request")
        with rx.lock:
            receipts: dict[str, list[float]] = {}
            for r in rx.ok:
                receipts.setdefault(r.msg_id, []).append(r.at)
        bad = sum(1 for r in rx.received if r.verified is False)
    extra = {"produced_in_s": round(produced_s, 1), "bad_signatures": bad}
    extra["gate_request_p50_ms"] = ms[len(ms) // 2] if ms else None
    return outcome(url, receipts) | extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--violations", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kill", action="store_true", help="SIGKILL one server halfway")
    opts = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    import os

    from tests.pg import cluster

    with tempfile.TemporaryDirectory(prefix="changegate-bench-alerts-") as tmp:
        if os.environ.get("CHANGEGATE_TEST_PG_URL"):
            out = run(opts, os.environ["CHANGEGATE_TEST_PG_URL"], Path(tmp))
        else:
            with cluster() as pg:
                out = run(opts, pg, Path(tmp))
    print(
        f"violations {opts.violations} over {out['produced_in_s']} s, 2 servers on PostgreSQL"
        + (", one killed halfway" if opts.kill else "")
    )
    print(f"  alerts raised     {out['alerts']}")
    print(f"  delivered         {out['delivered']}   (target: all)")
    print(f"  lost              {out['lost']}   (target: 0)")
    print(f"  duplicates        {out['duplicates']}   (target: 0 without a crash; same id after)")
    print(f"  bad signatures    {out['bad_signatures']}")
    print(f"  event->receipt    p50 {out['p50_s']} s   p99 {out['p99_s']} s   (target: p99 < 2 s)")
    print(f"  gate request      p50 {out['gate_request_p50_ms']} ms (server side, with the alert)")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
