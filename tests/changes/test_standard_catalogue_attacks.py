"""§3a, tried as an attacker would: tricks on the names of the catalogue and a policy that
narrows the catalogue after a change was pre-approved. Real CLI, SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, select, update

from tests.changes.test_standard_catalogue import LOW, new, team
from tests.cli_runner import cli
from tests.factories import DEFAULT


@pytest.mark.parametrize(
    "category",
    [
        "Dependency-Update",  # case
        "dependency\u2010update",  # a Unicode hyphen
        "dependency-update\u200b",  # a zero-width space
        "ｄependency-update",  # a fullwidth letter
    ],
)
def test_look_alike_procedure_names_are_not_the_procedure(db_url: str, category: str) -> None:
    team(db_url)
    run = cli(db_url, *new(db_url, "--category", category, *LOW))
    assert run.code == 2, run.stdout
    assert "unknown category" in run.stderr


def _narrowed(tmp_path: Path, edit: object) -> str:
    data = yaml.safe_load(DEFAULT.text)
    edit(data)  # type: ignore[operator]
    path = tmp_path / "narrowed.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _limit_components(d: dict) -> None:  # type: ignore[type-arg]
    d["categories"]["dependency-update"]["catalogue"]["components"] = ["third-party"]


def _out_of_catalogue(d: dict) -> None:  # type: ignore[type-arg]
    d["categories"]["dependency-update"]["class"] = "normal"
    d["categories"]["dependency-update"].pop("catalogue")


@pytest.mark.parametrize("edit", [_limit_components, _out_of_catalogue])
def test_a_policy_that_narrows_the_catalogue_closes_the_gate_of_an_approved_change(
    db_url: str, tmp_path: Path, edit: object
) -> None:
    team(db_url)
    made = cli(
        db_url,
        *new(db_url, "--category", "dependency-update", "--component", "application", *LOW),
        "--json",
    )
    key = made.json()["id"]
    assert cli(db_url, "change", "submit", key, "--by", "mallory").code == 0
    assert cli(db_url, "gate", key, "--env", "production", "--deployer", "carol").code == 0
    narrowed = _narrowed(tmp_path, edit)
    gate = cli(db_url, "gate", key, "--env", "production", "--deployer", "carol", policy=narrowed)
    assert gate.code == 1, gate.stdout + gate.stderr
    assert "standard" in gate.stdout


def test_a_snapshot_stored_before_the_catalogue_is_validated_again(
    db_url: str, engine: Engine
) -> None:
    """The catalogue changed the schema's shape: a policy snapshot stored before it (format 4,
    no `catalogue` on categories) must not be used as the policy in force, or every entry
    would be missing and the policy file never checked for one."""
    from changegate.db import session_scope
    from changegate.policy.models import PolicyVersion

    team(db_url)
    with session_scope(engine) as s:
        stored = s.execute(select(PolicyVersion.snapshot)).scalar_one()
        data = json.loads(stored)

        def strip(value: object) -> None:
            if isinstance(value, dict):
                value.pop("catalogue", None)
                for item in value.values():
                    strip(item)
            elif isinstance(value, list):
                for item in value:
                    strip(item)

        strip(data)
        s.execute(update(PolicyVersion).values(snapshot=json.dumps(data), snapshot_format=4))
    made = cli(db_url, *new(db_url, "--category", "dependency-update", *LOW), "--json")
    assert made.code == 0, made.stderr
    key = made.json()["id"]
    submitted = cli(db_url, "change", "submit", key, "--by", "mallory", "--json")
    assert submitted.code == 0, submitted.stderr
    assert submitted.json()["state"] == "approved"
