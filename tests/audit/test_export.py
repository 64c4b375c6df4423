"""The exported record can be verified by an auditor with nothing but hashlib."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import Engine

from tests.cli_runner import cli
from tests.factories import make_change, make_team


def test_export_verifies_independently(db_url: str, engine: Engine, tmp_path: Path) -> None:
    make_team(engine)
    make_change(engine)
    out = tmp_path / "audit.jsonl"
    r = cli(db_url, "audit", "export", "--out", str(out), "--json")
    assert r.code == 0
    lines = out.read_text().splitlines()
    assert r.json()["events"] == len(lines) > 5
    prev = b"\x00" * 32
    for i, line in enumerate(lines, start=1):
        row = json.loads(line)
        data = row["event"].encode("utf-8")
        leaf = hashlib.sha256(b"\x00" + data).digest()
        prev = hashlib.sha256(prev + leaf).digest()
        assert row["seq"] == i == json.loads(data)["seq"]
        assert row["leaf_hash"] == leaf.hex() and row["chain_hash"] == prev.hex()
    head = cli(db_url, "audit", "verify", "--json").json()["head_hash"]
    assert head == prev.hex()
