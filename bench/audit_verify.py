"""Audit events verified per second on 1,000,000 events, beside raw hashlib SHA-256 over the
same stored bytes, measured in the same run. Target: at least 25% of hashlib's rate (issue 10), 50% (issue 12).

The events are realistic canonical-JSON change/review/evidence events (about 400 bytes),
appended with the real hashing code into a real SQLite file; verification is the real
`changegate.audit.verify.verify` (chain recomputation from the database, head check), timed
without and with the proof of every event's indexed columns (entity_key, change_key), which
`audit verify` always gives. The database derives those columns from the bytes (generated
columns, migration 0009): the events are inserted without them, and verify reads their
definitions back once instead of checking every event (on SQLite; see audit/columns.py).
Issue 10's bar: the full verify not slower than the chain-only one, in the same run.
With ``--db postgres`` (or ``both``) the same events are copied into a throwaway PostgreSQL
cluster (started as tests/pg.py does; its generated columns computed by PostgreSQL on COPY) and
verified there too; the target there is 35% of hashlib (issue 12). On PostgreSQL verify proves
every event's indexed columns from its bytes (their values are STORED), so that figure is the
full one beside the chain-only one.
Beside verify, on both databases, the lower bounds of any verifier of this log written in
Python: the rows read with the driver, the leaf and the chain hashed, nothing compared; then
the same with the Merkle work a verify worker cannot skip (every subtree hashed from the leaves
and the stored ones read), in as many processes as verify uses. On a machine with few cores
these bounds sit below the targets: no verifier reaches them there.
Usage: python bench/audit_verify.py [--events 1000000] [--db-dir bench/out] [--db sqlite,postgres]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def build(db_path: Path, n: int) -> None:
    from sqlalchemy import insert, update

    from changegate.audit.chain import GENESIS, canonical_json, chain_hash, leaf_hash
    from changegate.audit.models import AuditEvent, AuditHead, AuditSubtree
    from changegate.audit.tree import subtree_rows
    from changegate.db import make_engine, session_scope
    from changegate.migrate import upgrade

    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    prev = GENESIS
    batch: list[dict[str, object]] = []
    leaves: list[bytes] = []
    t0 = time.perf_counter()
    with session_scope(engine) as s:
        for seq in range(1, n + 1):
            cid = f"CHG-{seq // 10 + 1}"
            kind = seq % 10
            entity = f"change:{cid}" if kind < 4 else f"evidence:{seq}"
            payload = {
                "seq": seq,
                "ts": f"2026-11-25T10:{seq % 60:02d}:{seq % 59:02d}.{seq % 999999:06d}Z",
                "actor": ("alice", "bob", "carol")[seq % 3],
                "action": "change.edited" if kind < 4 else "evidence.added",
                "entity": entity,
                "entity_version": 1,
                "before": None,
                "after": {
                    "id": seq,
                    "change": cid,
                    "kind": "validation",
                    "name": "staging",
                    "passed": True,
                    "details": "smoke tests green on staging-eu-1",
                    "added_by": "bob",
                    "blob_sha256": None,
                    "created_at": "2026-11-25T10:00:00.000000Z",
                },
            }
            data = canonical_json(payload)
            leaf = leaf_hash(data)
            prev = chain_hash(prev, leaf)
            batch.append({"seq": seq, "data": data, "leaf_hash": leaf, "chain_hash": prev})
            if len(batch) == 20000:
                s.execute(insert(AuditEvent), batch)
                batch.clear()
            leaves.append(leaf)
        if batch:
            s.execute(insert(AuditEvent), batch)
        s.execute(insert(AuditSubtree), list(subtree_rows(leaves)))
        s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=n, chain_hash=prev))
    print(f"  built {n} events in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    engine.dispose()


def database(n: int, db_dir: Path) -> Path:
    """The SQLite file of ``n`` events, built once per schema revision (bench/audit_proofs.py
    uses the same files)."""
    from changegate.db import SCHEMA_REVISION

    db_dir.mkdir(parents=True, exist_ok=True)
    db = db_dir / f"audit-{n}-r{SCHEMA_REVISION}.db"  # a new schema: a new file
    if not db.exists():
        tmp = db.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        build(tmp, n)
        tmp.rename(db)
    return db


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--db-dir", type=Path, default=Path(__file__).parent / "out")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--db", default="sqlite", help="sqlite, postgres or both (sqlite,postgres)")
    args = ap.parse_args()
    db = database(args.events, args.db_dir)
    kinds = ["sqlite", "postgres"] if args.db == "both" else args.db.split(",")
    if "sqlite" in kinds:
        measure_sqlite(db, args)
    if "postgres" in kinds:
        measure_postgres(db, args)


def timed_verify(url: str, repeat: int) -> tuple[list[bytes], float, float, float]:
    """The stored events' bytes, and the best of ``repeat`` seconds for hashlib over them, for
    verify of the chain only, and for verify with the indexed columns proven."""
    from sqlalchemy import select

    from changegate.audit.models import AuditEvent
    from changegate.audit.verify import verify
    from changegate.db import make_engine, session_scope

    engine = make_engine(url)
    with session_scope(engine, write=False) as s:
        stored = [bytes(d) for d in s.scalars(select(AuditEvent.data).order_by(AuditEvent.seq))]
    best = {"hash": float("inf"), False: float("inf"), True: float("inf")}
    for _ in range(repeat):
        sha = hashlib.sha256
        t0 = time.perf_counter()
        for data in stored:
            sha(data).digest()
        best["hash"] = min(best["hash"], time.perf_counter() - t0)
        for check_index in (False, True):
            t0 = time.perf_counter()
            with session_scope(engine, write=False) as s:
                report = verify(s, check_rows=False, check_index=check_index)
            best[check_index] = min(best[check_index], time.perf_counter() - t0)
            if not report.ok or report.events != len(stored):
                sys.exit(f"verification failed ({url}): {report.problems[:3]}")
    engine.dispose()
    return stored, best["hash"], best[False], best[True]


def measure_sqlite(db: Path, args: argparse.Namespace) -> None:
    stored, best_hash, best_verify, best_index = timed_verify(f"sqlite:///{db}", args.repeat)
    size = sum(map(len, stored))
    bound = lower_bound(db, args.repeat, len(stored))
    workers = min(os.cpu_count() or 1, 4)  # what verify uses
    parallel = lower_bound(db, args.repeat, len(stored), workers)
    n = len(stored)
    hr, vr, ir = n / best_hash, n / best_verify, n / best_index
    print(f"events: {n} ({size / n:.0f} bytes each on average), best of {args.repeat}")
    print(f"raw hashlib SHA-256 over the stored bytes (in memory): {hr:12,.0f} events/s")
    print(
        f"changegate audit verify (read from SQLite, leaf + chain): {vr:12,.0f} events/s "
        f"= {100 * vr / hr:.0f}% of hashlib (target >= 25% (issue 10): {'PASS' if vr >= 0.25 * hr else 'FAIL'}; >= 50% (issue 12): {'PASS' if vr >= 0.5 * hr else 'FAIL'})"
    )
    print(
        f"  + indexed columns proven (definitions read back): {ir:12,.0f} events/s "
        f"= {100 * ir / hr:.0f}% of hashlib, {100 * ir / vr:.0f}% of the chain-only rate"
    )

    br = n / bound
    print(
        f"lower bound of any verifier of this chain in Python (read seq, bytes and stored "
        f"hashes with sqlite3, hash each event's bytes once and one chain step, nothing "
        f"compared), one process: {br:12,.0f} events/s = at most {100 * br / hr:.0f}% of hashlib"
    )
    pr = n / parallel
    print(
        f"  the same in {workers} processes over {workers} ranges (as verify splits a long log): "
        f"{pr:12,.0f} events/s = at most {100 * pr / hr:.0f}% of hashlib; verify "
        f"{100 * vr / pr:.0f}% of it (verify also recomputes every Merkle subtree)"
    )
    fr = n / lower_bound(db, args.repeat, n, workers, merkle=True)
    print(
        f"  the same with a verify worker's Merkle work (every subtree hashed from the leaves, "
        f"the stored ones read; nothing compared), {workers} processes: {fr:12,.0f} events/s "
        f"= at most {100 * fr / hr:.0f}% of hashlib; verify {100 * vr / fr:.0f}% of it"
    )


def _floor_range(db: Path, lo: int, hi: int, merkle: bool = False) -> None:
    import sqlite3

    sha = hashlib.sha256
    conn = sqlite3.connect(db)
    prev = b"\x00" * 32
    rows = conn.execute(
        "SELECT seq, data, leaf_hash, chain_hash FROM audit_events "
        f"WHERE seq >= {lo} AND seq <= {hi} ORDER BY seq"
    )
    leaves: list[bytes] = []
    for _seq, data, _leaf, _chain in rows:
        leaf = sha(b"\x00" + data).digest()
        prev = sha(prev + leaf).digest()
        if merkle:
            leaves.append(leaf)
    if merkle:
        _subtrees_read(conn.cursor(), lo, leaves)
    conn.close()


def _subtrees_read(cursor: Any, lo: int, leaves: list[bytes]) -> None:
    """The Merkle work a verify worker cannot skip, done and not compared: every subtree of
    its segment hashed from the leaves, level by level, and the stored ones read."""
    from changegate.audit.merkle import levels
    from changegate.audit.tree import SEGMENT_LEVEL

    for level, layer in enumerate(levels(leaves), start=1):
        if level > SEGMENT_LEVEL:
            break
        first = (lo - 1) >> level
        cursor.execute(
            f"SELECT hash FROM audit_subtrees WHERE level = {level} AND idx >= {first} "
            f"AND idx < {first + len(layer)} ORDER BY idx"
        )
        cursor.fetchall()


def _pg_floor_range(url: str, lo: int, hi: int, merkle: bool = False) -> None:
    """:func:`_floor_range` on PostgreSQL, the rows streamed in the binary format as verify
    streams them."""
    import psycopg

    sha = hashlib.sha256
    conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    cur = conn.cursor(binary=True)
    prev = b"\x00" * 32
    leaves: list[bytes] = []
    sql = (
        "SELECT data, leaf_hash, chain_hash FROM audit_events "
        f"WHERE seq >= {lo} AND seq <= {hi} ORDER BY seq"
    )
    for data, _leaf, _chain in cur.stream(sql, size=1000):
        leaf = sha(b"\x00" + data).digest()
        prev = sha(prev + leaf).digest()
        if merkle:
            leaves.append(leaf)
    if merkle:
        _subtrees_read(cur, lo, leaves)
    conn.close()


def lower_bound(
    db: Path | str,
    repeat: int,
    n: int,
    workers: int = 1,
    merkle: bool = False,
    floor: Callable[..., None] | None = None,
) -> float:
    """The least a verifier of this log does, done as fast as Python does it: every row read
    once with the driver (no SQLAlchemy; ``floor``: :func:`_floor_range` for the SQLite file
    ``db``, :func:`_pg_floor_range` for the PostgreSQL URL ``db``), each event's leaf hash computed from its
    bytes and one more hash of 64 bytes for the link to the previous one (the chain, or the
    Merkle tree's interior: either costs a hash per event), nothing compared. With
    ``workers`` > 1, the rows split into that many ranges, one forked process each (as
    `audit verify` splits a long log). With ``merkle``, each range also does the Merkle work
    of a verify worker (:func:`_subtrees_read`), its ranges aligned as verify aligns them."""
    import multiprocessing

    best = float("inf")
    bounds = _bounds(n, workers)
    floor = floor or _floor_range
    for _ in range(repeat):
        t0 = time.perf_counter()
        if workers == 1:
            floor(db, 1, n, merkle)
        else:
            ctx = multiprocessing.get_context("fork")
            procs = [
                ctx.Process(target=floor, args=(db, bounds[i] + 1, bounds[i + 1], merkle))
                for i in range(workers)
            ]
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join()
        best = min(best, time.perf_counter() - t0)
    return best


def _bounds(n: int, workers: int) -> list[int]:
    """Where verify splits ``n`` events among ``workers`` (segments start on a multiple of
    2**SEGMENT_LEVEL events)."""
    from changegate.audit.tree import SEGMENT_LEVEL

    step = 1 << SEGMENT_LEVEL
    inner = [(n * i // workers) // step * step for i in range(1, workers)]
    if workers == 1 or any(b <= a for a, b in zip([0, *inner], [*inner, n], strict=True)):
        return [n * i // workers for i in range(workers + 1)]
    return [0, *inner, n]


def copy_to_postgres(db: Path, url: str) -> None:
    """The SQLite file's events, subtrees and head, copied as they are into a migrated
    PostgreSQL database (COPY; PostgreSQL computes the generated columns)."""
    import sqlite3

    from changegate.db import make_engine
    from changegate.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    src = sqlite3.connect(db)
    raw = engine.raw_connection()
    t0 = time.perf_counter()
    try:
        cur = raw.driver_connection.cursor()  # type: ignore[union-attr]
        tables = (
            ("audit_events", "seq, data, leaf_hash, chain_hash", "seq"),
            ("audit_subtrees", "level, idx, hash", "level, idx"),
        )
        for table, columns, order in tables:
            rows = src.execute(f"SELECT {columns} FROM {table} ORDER BY {order}")
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        seq, chain = src.execute("SELECT seq, chain_hash FROM audit_head WHERE id = 1").fetchone()
        cur.execute("UPDATE audit_head SET seq = %s, chain_hash = %s WHERE id = 1", (seq, chain))
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
        src.close()
        engine.dispose()
    print(f"  copied into PostgreSQL in {time.perf_counter() - t0:.0f}s", file=sys.stderr)


def measure_postgres(db: Path, args: argparse.Namespace) -> None:
    """verify against PostgreSQL holding the same events, beside hashlib over the same bytes."""
    from sqlalchemy import text

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.pg import cluster

    from changegate.db import make_engine

    with cluster() as server:
        admin = make_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE bench_verify"))
        admin.dispose()
        url = server.rsplit("/", 1)[0] + "/bench_verify"
        copy_to_postgres(db, url)
        stored, best_hash, best_chain, best_full = timed_verify(url, args.repeat)
        n = len(stored)
        workers = min(os.cpu_count() or 1, 4)  # what verify uses
        floors = {
            merkle: n / lower_bound(url, args.repeat, n, workers, merkle, _pg_floor_range)
            for merkle in (False, True)
        }
    hr, cr, fr = n / best_hash, n / best_chain, n / best_full
    print(f"\nPostgreSQL, the same {n} events, best of {args.repeat}")
    print(f"raw hashlib SHA-256 over the stored bytes (in memory): {hr:12,.0f} events/s")
    print(
        f"changegate audit verify (PostgreSQL, leaf + chain): {cr:12,.0f} events/s "
        f"= {100 * cr / hr:.0f}% of hashlib (target >= 35% (issue 12): "
        f"{'PASS' if cr >= 0.35 * hr else 'FAIL'})"
    )
    print(
        f"  + every event's indexed columns proven from its bytes: {fr:12,.0f} events/s "
        f"= {100 * fr / hr:.0f}% of hashlib"
    )
    print(
        f"lower bound of any verifier in Python (rows streamed with psycopg as verify streams "
        f"them, the leaf and the chain hashed, nothing compared), {workers} processes: "
        f"{floors[False]:12,.0f} events/s = at most {100 * floors[False] / hr:.0f}% of hashlib"
    )
    print(
        f"  the same with a verify worker's Merkle work (every subtree hashed from the leaves, "
        f"the stored ones read; nothing compared): {floors[True]:12,.0f} events/s = at most "
        f"{100 * floors[True] / hr:.0f}% of hashlib; verify {100 * cr / floors[True]:.0f}% of it"
    )


if __name__ == "__main__":
    main()
