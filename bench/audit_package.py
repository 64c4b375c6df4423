"""The auditor evidence package on 10,000 changes and 100,000 events: the time to build it
beside zipping the same files' bytes with `zipfile` (target: at most 3x), and verify-package's
throughput beside hashlib SHA-256 over the same bytes (target: at least 50%), in one run.

The log is written fast but with the real hashing code into a real SQLite file (migrated
schema, Merkle subtrees stored): ten events per change as the services record them (created,
submitted, approved, state changes, JUnit and staging evidence, a gate decision, a
deployment, closed), canonical JSON, entity versions counted. The package is the real
`build_package` (checkpoint signed and recorded, events selected, rows derived, proofs,
packets, zip); verification is the real `verify.check` on the zip (reading and inflating it,
file hashes, signature, 100,000 inclusion proofs, rows recomputed and compared).
Usage: python bench/audit_package.py [--changes 10000] [--events 100000] [--db-dir bench/out]
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

DAY = "2026-06-15"


def _events(changes: int, per_change: int) -> Any:
    """(entity, payload without seq/entity_version) in log order, per_change for each change."""
    digest = "ab" * 32
    for i in range(1, changes + 1):
        key, ts = (
            f"CHG-{i}",
            f"{DAY}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:{i % 60:02d}.{i % 999999:06d}Z",
        )
        state = {
            "id": key, "title": f"Change {i}", "description": "Tune the cache", "change_class": "normal",
            "category": None, "components": ["application"], "providers": [], "ai_component": None,
            "risk": {"availability": {"level": "low", "note": ""}}, "rollback_plan": "Redeploy",
            "justification": "", "links": [], "commits": [f"{i:040x}"], "security_flag": False,
            "author": "alice", "state": "draft", "revision": 1, "created_at": ts,
            "updated_at": ts, "submitted_at": None,
        }  # fmt: skip
        steps: list[tuple[str, str, dict[str, Any]]] = [
            (f"change:{key}", "change.created", dict(state)),
            (f"change:{key}", "change.submitted", state | {"state": "submitted", "submitted_at": ts}),
            (f"review:{i}", "review.approved", {"id": i, "change": key, "reviewer": "bob", "verdict": "approve", "comment": "ok", "content_digest": digest, "roles": "engineer", "created_at": ts}),
            (f"change:{key}", "change.state_changed", state | {"state": "approved"}),
            (f"evidence:{2 * i}", "evidence.added", {"id": 2 * i, "change": key, "kind": "junit", "name": "pytest", "passed": True, "blob_sha256": None, "added_by": "ci-bot", "created_at": ts}),
            (f"evidence:{2 * i + 1}", "evidence.added", {"id": 2 * i + 1, "change": key, "kind": "validation", "name": "staging", "passed": True, "blob_sha256": None, "added_by": "ci-bot", "created_at": ts}),
            (f"gate_decision:{i}", "gate.evaluated", {"id": i, "change": key, "environment": "production", "deployer": "carol", "passed": True, "bypass": False, "unmet": [], "policy": "v1.2", "created_at": ts}),
            (f"deployment:{i}", "deployment.recorded", {"id": i, "change": key, "environment": "production", "version": f"v{i}", "kind": "deploy", "actor": "carol", "reason": "", "bypass": False, "gate_decision": i, "created_at": ts}),
            (f"change:{key}", "change.state_changed", state | {"state": "deployed"}),
            (f"change:{key}", "change.state_changed", state | {"state": "closed"}),
        ]  # fmt: skip
        for entity, action, after in steps[:per_change]:
            yield entity, {"ts": ts, "actor": "alice", "action": action, "after": after}


def build(db_path: Path, changes: int, events: int) -> None:
    from sqlalchemy import insert, update

    from changegate.audit.chain import GENESIS, canonical_json, chain_hash, leaf_hash
    from changegate.audit.models import AuditEvent, AuditHead, AuditSubtree
    from changegate.audit.tree import subtree_rows
    from changegate.db import make_engine, session_scope
    from changegate.migrate import upgrade

    engine = make_engine(f"sqlite:///{db_path}")
    upgrade(engine)
    prev, batch, leaves, versions = GENESIS, [], [], {}  # type: ignore[var-annotated]
    with session_scope(engine) as s:
        for seq, (entity, ev) in enumerate(_events(changes, max(1, events // changes)), start=1):
            versions[entity] = versions.get(entity, 0) + 1
            data = canonical_json(
                ev
                | {"seq": seq, "entity": entity, "entity_version": versions[entity], "before": None}
            )
            leaf = leaf_hash(data)
            prev = chain_hash(prev, leaf)
            batch.append({"seq": seq, "data": data, "leaf_hash": leaf, "chain_hash": prev})
            leaves.append(leaf)
            if len(batch) == 20000:
                s.execute(insert(AuditEvent), batch)
                batch.clear()
        if batch:
            s.execute(insert(AuditEvent), batch)
        s.execute(insert(AuditSubtree), list(subtree_rows(leaves)))
        n = len(leaves)
        s.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=n, chain_hash=prev))
    engine.dispose()


def database(changes: int, events: int, db_dir: Path) -> Path:
    from changegate.db import SCHEMA_REVISION

    db_dir.mkdir(parents=True, exist_ok=True)
    db = db_dir / f"package-{changes}-{events}-r{SCHEMA_REVISION}.db"
    if not db.exists():
        tmp = db.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        t0 = time.perf_counter()
        build(tmp, changes, events)
        print(f"  built the log in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
        tmp.rename(db)
    return db


def package(db: Path, out: Path) -> float:
    """Build the package of the whole day on a copy of the log (signing appends an event)."""
    import shutil

    from changegate.audit.checkpoint import SignerKey
    from changegate.audit.package.build import build_package
    from changegate.audit.package.service import period
    from changegate.db import make_engine, session_scope
    from changegate.policy.loader import load_policy

    work = out.with_suffix(".db")
    shutil.copy(db, work)
    engine = make_engine(f"sqlite:///{work}")
    policy, signer = load_policy().policy, SignerKey.generate("bench/audit")
    t0 = time.perf_counter()
    with session_scope(engine) as s, out.open("wb") as fh:
        build_package(s, policy, period(DAY, DAY), fh, signer=signer, actor="bench")
    took = time.perf_counter() - t0
    engine.dispose()
    work.unlink()
    (out.parent / "bench.vkey").write_text(str(signer.verifier()))
    return took


def stdlib_lower_bound(out: Path, files: dict[str, bytes]) -> float:
    """What every verifier limited to the standard library must at least do, done as fast as
    the standard library does it: inflate the zip's members and parse the events (one
    json.loads over all event lines as one array, the C parser's best case), checking nothing."""
    import gc
    import json
    import zlib

    data = out.read_bytes()
    with zipfile.ZipFile(out) as z:
        infos = z.infolist()
    events = [d for n, d in files.items() if n.endswith(".jsonl")]
    gc.disable()
    t0 = time.perf_counter()
    for info in infos:
        at = info.header_offset
        start = at + 30 + int.from_bytes(data[at + 26 : at + 28], "little")
        start += int.from_bytes(data[at + 28 : at + 30], "little")
        zlib.decompressobj(-15).decompress(data[start : start + info.compress_size])
    json.loads(b"[" + b",".join(e.rstrip(b"\n").replace(b"\n", b",") for e in events) + b"]")
    took = time.perf_counter() - t0
    gc.enable()
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--db-dir", type=Path, default=Path(__file__).parent / "out")
    args = ap.parse_args()
    db = database(args.changes, args.events, args.db_dir)
    out = args.db_dir / "package-bench.zip"

    from changegate.audit.package import verify

    built = package(db, out)
    with zipfile.ZipFile(out) as z:
        files = {n: z.read(n) for n in z.namelist()}
    size = sum(map(len, files.values()))
    t0 = time.perf_counter()
    with zipfile.ZipFile(io.BytesIO(), "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    zipped = time.perf_counter() - t0
    t0 = time.perf_counter()
    for data in files.values():
        hashlib.sha256(data).digest()
    hashed = time.perf_counter() - t0
    vkey = (args.db_dir / "bench.vkey").read_text()
    t0 = time.perf_counter()
    report = verify.check(out, vkey)
    verified = time.perf_counter() - t0
    if not report["ok"]:
        sys.exit(f"the package does not verify: {report['problems'][:3]}")
    bound = stdlib_lower_bound(out, files)
    mb = size / 1e6
    print(
        f"package: {report['counts']} in {len(files)} files, {mb:.1f} MB ({out.stat().st_size / 1e6:.1f} MB zipped)"
    )
    ratio = built / zipped
    print(f"audit package (select, prove, derive, sign, write): {built:6.2f} s")
    print(f"zipfile of the same files' bytes (floor):           {zipped:6.2f} s")
    print(f"  = {ratio:.1f}x the floor (target <= 3x: {'PASS' if ratio <= 3 else 'FAIL'})")
    vr, hr = mb / verified, mb / hashed
    print(
        f"verify-package (read, inflate, hash, prove, derive, compare): {vr:8.1f} MB/s ({verified:.2f} s)"
    )
    print(
        f"hashlib SHA-256 over the same bytes (in memory, floor):       {hr:8.1f} MB/s ({hashed:.2f} s)"
    )
    print(
        f"  = {100 * vr / hr:.0f}% of hashlib (target >= 50%: {'PASS' if vr >= 0.5 * hr else 'FAIL'})"
    )
    print(
        f"lower bound of any verifier on the standard library (inflate the members, one "
        f"json.loads of all event lines, nothing checked): {bound:.2f} s = at most "
        f"{100 * hashed / bound:.0f}% of hashlib"
    )


if __name__ == "__main__":
    main()
