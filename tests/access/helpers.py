"""What the access review tests share: a team, a campaign opened through the CLI, its items."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from tests.cli_runner import Run, cli
from tests.factories import make_team

DATA = Path(__file__).resolve().parents[1] / "data" / "access"
AWS = DATA / "aws.csv"


def opened(db: str, engine: Engine, *extra: str, team: bool = True) -> dict[str, Any]:
    """The team (unless made already), and an open campaign over it plus
    tests/data/access/aws.csv (by ada)."""
    if team:
        make_team(engine)
    out = cli(db, "access", "open", "--name", "Q4", "--csv", str(AWS), "--by", "ada", *extra)
    assert out.code == 0, out.stderr
    return show(db, int(out.stdout.strip()))


def show(db: str, review: int) -> dict[str, Any]:
    out = cli(db, "access", "show", str(review), "--json")
    assert out.code == 0, out.stderr
    data: dict[str, Any] = out.json()
    return data


def item(review: dict[str, Any], subject: str, entitlement: str) -> int:
    return int(
        next(
            i["id"]
            for i in review["items"]
            if i["subject"] == subject and i["entitlement"] == entitlement
        )
    )


def decide(
    db: str, review: dict[str, Any], item_id: int, decision: str, by: str, *extra: str
) -> Run:
    return cli(
        db, "access", "decide", str(review["id"]), str(item_id), "--decision", decision,
        "--by", by, "--json", *extra,
    )  # fmt: skip
