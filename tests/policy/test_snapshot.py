"""The validated policy's snapshot (what every entry point evaluates) is the schema object's
twin: same fields, same values, same methods, read-only, and loadable without Pydantic."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from changegate.db import session_scope
from changegate.policy.loader import load_policy
from changegate.policy.models import PolicyVersion
from changegate.policy.snapshot import (
    SNAPSHOT_FORMAT,
    Frozen,
    FrozenPathRule,
    FrozenPolicy,
    as_data,
    from_json,
    to_json,
)
from tests.cli_runner import cli

LOADED = load_policy()


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=list))


def test_snapshot_has_every_field_of_the_schema_with_the_same_values() -> None:
    snapshot, model = LOADED.policy, LOADED.validated()
    assert isinstance(snapshot, FrozenPolicy)
    assert _json(as_data(snapshot)) == _json(model.model_dump())


def test_snapshot_methods_agree_with_the_schema() -> None:
    snapshot, model = LOADED.policy, LOADED.validated()
    assert snapshot.label == model.label == "Change Management Policy v1.2"
    levels = snapshot.risk.levels
    for level in levels:
        for threshold in levels:
            assert snapshot.is_high(level, threshold) == model.is_high(level, threshold)
    paths = ["prompts/system/base.txt", "infra/tls/cert.pem", "README.md", "src/app.py"]
    assert snapshot.path_rules, "the default policy ships path rules"
    for frozen_rule, rule in zip(snapshot.path_rules, model.path_rules, strict=True):
        assert isinstance(frozen_rule, FrozenPathRule)
        assert [frozen_rule.matches(p) for p in paths] == [rule.matches(p) for p in paths]


def test_snapshot_is_read_only() -> None:
    with pytest.raises(AttributeError, match="read-only"):
        LOADED.policy.rules = []  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        LOADED.policy.metadata.version = "9"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="read-only"):
        del LOADED.policy.rules[0].require.kind


def test_snapshot_survives_json_and_compares_by_value() -> None:
    text = to_json(LOADED.policy)
    again = from_json(text)
    assert again == LOADED.policy and to_json(again) == text
    assert hash(again) == hash(LOADED.policy)
    assert again.rules[0] != again.rules[1]
    assert isinstance(again.rules[0], Frozen)
    assert isinstance(again.path_rules[0], FrozenPathRule)
    for bad in ("[]", '{"__frozen__": "Nope"}', '{"a": 1}'):
        with pytest.raises(ValueError):
            from_json(bad)


def _stored(engine: Engine) -> tuple[str | None, int | None]:
    with session_scope(engine, write=False) as s:
        row = s.execute(select(PolicyVersion.snapshot, PolicyVersion.snapshot_format)).one()
        return row[0], row[1]


def test_the_database_keeps_the_snapshot_and_commands_read_it_without_pydantic(
    db_url: str, engine: Engine
) -> None:
    assert cli(db_url, "user", "add", "carol", "--role", "deployer").code == 0
    snapshot, fmt = _stored(engine)
    assert fmt == SNAPSHOT_FORMAT and snapshot is not None
    assert from_json(snapshot) == LOADED.policy
    code = (
        "import sys; from changegate.cli.core import Opts\n"
        "from changegate.cli.local.base import LocalBackend\n"
        "with LocalBackend(Opts(db=sys.argv[1])).tx() as (s, p): print(p.label)\n"
        "print('pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, db_url], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    assert out[:2] == ["Change Management Policy v1.2", "False"]


def test_a_stale_or_unreadable_snapshot_is_replaced_by_validating_the_text(
    db_url: str, engine: Engine
) -> None:
    assert cli(db_url, "user", "add", "carol", "--role", "deployer").code == 0
    good, _ = _stored(engine)
    for snapshot, fmt in (("{not json", SNAPSHOT_FORMAT), ('{"old": true}', SNAPSHOT_FORMAT - 1)):
        with session_scope(engine) as s:
            s.execute(update(PolicyVersion).values(snapshot=snapshot, snapshot_format=fmt))
        listed = cli(db_url, "user", "list", "--json")  # a read: validates, writes nothing
        assert listed.code == 0 and listed.json()[0]["name"] == "carol"
        assert _stored(engine) == (snapshot, fmt)
        added = cli(db_url, "user", "add", f"dave{fmt}", "--role", "deployer")  # a write
        assert added.code == 0
        assert _stored(engine) == (good, SNAPSHOT_FORMAT)


def test_audit_verify_catches_a_tampered_snapshot_and_init_repairs_it(
    db_url: str, engine: Engine
) -> None:
    assert cli(db_url, "user", "add", "carol", "--role", "deployer").code == 0
    good, _ = _stored(engine)
    assert good is not None
    # someone with database access drops a rule from the snapshot the gate reads
    data = json.loads(good)
    data["rules"] = [r for r in data["rules"] if r["id"] != "peer-review"]
    with session_scope(engine) as s:
        s.execute(update(PolicyVersion).values(snapshot=json.dumps(data)))
    verify = cli(db_url, "audit", "verify", "--json")
    assert verify.code == 1
    assert any(
        "stored snapshot differs from its validated text" in p for p in verify.json()["problems"]
    )
    assert cli(db_url, "init").code == 0
    assert _stored(engine)[0] == good
    assert cli(db_url, "audit", "verify").code == 0
