"""Importing a 50,000-finding Trivy report, and re-importing it with 10% changed, beside the
floor measured in the same run: `json.load` of the same file plus an `executemany` insert of
the same rows (one per finding, the columns changegate stores) into a SQLite file.
Target: at most 4x the floor.

changegate's import is the real `findings.service.import_file` over a migrated SQLite file:
parse (the Trivy parser), de-duplicate per scope, SLA due dates, one audit event per finding
that opens, changes or is fixed (hash-chained, in the same transaction), commit. The re-import
drops 5% of the findings (fixed) and adds 5% new ones; the rest are seen again.
Usage: python bench/findings_import.py [--findings 50000] [--db-dir bench/out] [--profile FILE]
(``--profile`` writes a cProfile of the two changegate imports, for ``python -m pstats FILE``;
the times printed then include the profiler's overhead.)
"""

from __future__ import annotations

import argparse
import cProfile
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")


def report(n: int, *, start: int = 0) -> dict[str, Any]:
    """A Trivy JSON report of ``n`` vulnerabilities, numbered from ``start``."""
    vulns = [
        {
            "VulnerabilityID": f"CVE-2026-{i:06d}",
            "PkgName": f"pkg-{i % 997}",
            "PkgIdentifier": {"PURL": f"pkg:deb/debian/pkg-{i % 997}@1.{i % 13}"},
            "InstalledVersion": f"1.{i % 13}",
            "FixedVersion": f"1.{i % 13 + 1}",
            "Severity": SEVERITIES[i % 4],
            "Title": f"pkg-{i % 997}: flaw number {i}",
            "CVSS": {"nvd": {"V3Score": 5.0 + i % 5}},
        }
        for i in range(start, start + n)
    ]
    return {
        "SchemaVersion": 2,
        "ArtifactName": "registry.example.com/bench/app:1",
        "Results": [
            {"Target": "registry.example.com/bench/app:1 (debian 12)", "Vulnerabilities": vulns}
        ],
    }


def floor(path: Path, db: Path) -> float:
    """json.load of the file and executemany of one row per finding into SQLite."""
    t0 = time.perf_counter()
    with path.open() as fh:
        data = json.load(fh)
    rows = [
        (
            v["VulnerabilityID"],
            v["PkgName"],
            v["PkgIdentifier"]["PURL"],
            v["InstalledVersion"],
            v["FixedVersion"],
            v["Severity"],
            v["Title"],
            r["Target"],
        )
        for r in data["Results"]
        for v in r["Vulnerabilities"]
    ]
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS f (rule TEXT, component TEXT, purl TEXT, installed TEXT, "
        "fixed TEXT, severity TEXT, title TEXT, location TEXT)"
    )
    with conn:
        conn.executemany("INSERT INTO f VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()
    return time.perf_counter() - t0


def audited_lower_bound(path: Path, db: Path) -> float:
    """The floor plus the least that one audit event per finding costs, with nothing else:
    no de-duplication, SLA, KEV, fingerprint (a stand-in), ORM or SQLAlchemy. Each finding's
    row is its audited columns (changegate's 24, the values read straight from the JSON), and
    its event is the canonical JSON of that state (changegate's ``canonical_json``), its RFC 9162
    leaf hash and chain hash, inserted with ``executemany`` beside the rows in one transaction.
    What "every mutation is an audit event" costs at least, whatever the code around it."""
    from changegate.audit.chain import GENESIS, canonical_json, chain_hash, leaf_hash

    t0 = time.perf_counter()
    with path.open() as fh:
        data = json.load(fh)
    rows, events, prev, seq = [], [], GENESIS, 0
    for r in data["Results"]:
        for v in r["Vulnerabilities"]:
            seq += 1
            state = {
                "id": seq, "scope": "app", "fingerprint": v["VulnerabilityID"], "source_format": "trivy",
                "tool": "Trivy", "rule_id": v["VulnerabilityID"], "aliases": [], "title": v["Title"],
                "severity": v["Severity"].lower(), "source_severity": v["Severity"],
                "cvss": v["CVSS"]["nvd"]["V3Score"], "component": v["PkgName"],
                "purl": v["PkgIdentifier"]["PURL"], "location": r["Target"],
                "installed_version": v["InstalledVersion"], "fixed_version": v["FixedVersion"],
                "vex_state": None, "status": "open", "owner": "sam", "first_seen": "2026-11-29T00:00:00Z",
                "sla_start": "2026-11-29", "due": "2026-12-29", "kev_due": None, "change": None,
                "updated_at": "2026-11-29T00:00:00Z",
            }  # fmt: skip
            rows.append(tuple(json.dumps(x) if type(x) is list else x for x in state.values()))
            event = canonical_json(
                {"seq": seq, "ts": "2026-11-29T00:00:00Z", "actor": "sam", "action": "finding.opened",
                 "entity": f"finding:{seq}", "entity_version": 1, "before": None, "after": state}
            )  # fmt: skip
            leaf = leaf_hash(event)
            prev = chain_hash(prev, leaf)
            events.append((seq, event, leaf, prev))
    conn = sqlite3.connect(db)
    columns = ", ".join(f"c{i}" for i in range(len(rows[0])))
    conn.execute(f"CREATE TABLE IF NOT EXISTS f ({columns})")
    conn.execute("CREATE TABLE IF NOT EXISTS e (seq INTEGER PRIMARY KEY, data, leaf, chain)")
    with conn:
        conn.executemany(f"INSERT INTO f VALUES ({', '.join('?' * len(rows[0]))})", rows)
        conn.executemany("INSERT INTO e VALUES (?, ?, ?, ?)", events)
    conn.close()
    return time.perf_counter() - t0


def changegate_import(
    url: str, path: Path, profiler: cProfile.Profile | None = None
) -> tuple[float, dict[str, Any]]:
    from changegate.db import make_engine, session_scope
    from changegate.findings.service import import_file
    from changegate.policy.loader import load_policy
    from changegate.policy.service import ensure_recorded

    engine = make_engine(url)
    loaded = load_policy()
    data = path.read_bytes()
    t0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    with session_scope(engine) as s:
        ensure_recorded(s, loaded)
        batch = import_file(s, loaded.policy, data, source_format="trivy", actor="sam", scope="app")
        out = batch.audit_state()
    if profiler is not None:
        profiler.disable()
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return elapsed, out


def setup(url: str) -> None:
    from changegate.db import make_engine, session_scope
    from changegate.migrate import upgrade
    from changegate.policy.loader import load_policy
    from changegate.policy.service import ensure_recorded
    from changegate.users.service import add_user

    engine = make_engine(url)
    upgrade(engine)
    loaded = load_policy()
    with session_scope(engine) as s:
        ensure_recorded(s, loaded)
        add_user(s, loaded.policy, name="sam", roles=["security"])
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=50_000)
    parser.add_argument("--db-dir", type=Path, default=Path("bench/out"))
    parser.add_argument("--profile", type=Path, help="write a cProfile of the imports here")
    args = parser.parse_args()
    n, out = args.findings, args.db_dir
    out.mkdir(parents=True, exist_ok=True)
    first, second = out / "trivy-first.json", out / "trivy-second.json"
    first.write_text(json.dumps(report(n)))
    changed = n // 20  # 5% gone, 5% new: 10% of the report changed
    second.write_text(json.dumps(report(n, start=changed)))
    for name in ("floor.db", "findings.db", "bound.db"):
        (out / name).unlink(missing_ok=True)
    url = f"sqlite:///{out / 'findings.db'}"
    setup(url)
    floor_first = floor(first, out / "floor.db")
    floor_second = floor(second, out / "floor.db")
    (out / "bound.db").unlink(missing_ok=True)
    bound = audited_lower_bound(first, out / "bound.db")
    profiler = None if args.profile is None else cProfile.Profile()
    t_first, a = changegate_import(url, first, profiler)
    t_second, b = changegate_import(url, second, profiler)
    if profiler is not None:
        profiler.dump_stats(args.profile)
    print(f"{n:,} findings, Trivy JSON {first.stat().st_size / 1e6:.1f} MB")
    for label, cg, fl, counts in (
        ("import", t_first, floor_first, a),
        ("re-import (10% changed)", t_second, floor_second, b),
    ):
        ratio = cg / fl
        verdict = "meets" if ratio <= 4 else "misses"
        print(
            f"{label}: changegate {cg:.2f} s ({counts['new']} new, {counts['fixed']} fixed); "
            f"floor json.load+executemany {fl:.2f} s; {ratio:.1f}x ({verdict} the 4x target)"
        )
    print(
        f"lower bound of an import that records one audit event per finding (the floor plus "
        f"each finding's canonical JSON, hashes and event row, nothing else): {bound:.2f} s = "
        f"{bound / floor_first:.1f}x the floor"
    )


if __name__ == "__main__":
    main()
