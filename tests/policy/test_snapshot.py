"""The validated policy's snapshot (what every entry point evaluates) is the schema object's
twin: same fields, same values, same methods, read-only, and loadable without Pydantic."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from changegate.policy.loader import load_policy, parse_policy
from changegate.policy.snapshot import Frozen, FrozenPathRule, FrozenPolicy, as_data

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


def test_snapshot_survives_pickling_and_compares_by_value() -> None:
    again = pickle.loads(pickle.dumps(LOADED.policy))
    assert again == LOADED.policy
    assert hash(again) == hash(LOADED.policy)
    assert again.rules[0] != again.rules[1]
    assert isinstance(again.rules[0], Frozen)


def test_cache_returns_the_same_snapshot_and_a_new_text_revalidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = parse_policy(LOADED.text, "a")
    cached = list(tmp_path.rglob("*.pickle"))
    assert len(cached) == 1
    second = parse_policy(LOADED.text, "b")
    assert second.policy == first.policy and second.digest == first.digest
    edited = LOADED.text.replace('  version: "1.2"', '  version: "1.3"', 1)
    assert edited != LOADED.text
    third = parse_policy(edited, "c")
    assert third.policy.metadata.version == "1.3"
    assert len(list(tmp_path.rglob("*.pickle"))) == 2


def test_a_corrupt_cache_entry_is_revalidated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    parse_policy(LOADED.text)
    (entry,) = tmp_path.rglob("*.pickle")
    entry.write_bytes(b"not a pickle")
    assert parse_policy(LOADED.text).policy == LOADED.policy


def test_loading_a_cached_policy_does_not_import_pydantic(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path))
    code = (
        "import sys; from changegate.policy.loader import load_policy; "
        "p = load_policy().policy; print(p.label, 'pydantic' in sys.modules)"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout.split()
        for _ in range(2)
    ]
    assert runs[0][-1] == "True"  # the first load validates
    assert runs[1][-1] == "False"  # later loads read the snapshot
