"""When the next access review is due (pure), and `changegate access overdue`'s exit code."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from changegate.access.schedule import next_review, parse_day
from changegate.errors import InvalidInput
from tests.access.helpers import opened
from tests.cli_runner import cli

D = dt.date.fromisoformat
CASES = [
    # today, installed, open (id, due), last closed (id, day) -> due, basis, overdue
    ("2026-06-01", "2026-01-01", None, None, "2026-04-01", "install", True),
    ("2026-03-01", "2026-01-01", None, None, "2026-04-01", "install", False),
    ("2026-04-01", "2026-01-01", None, None, "2026-04-01", "install", False),  # due today
    ("2026-06-01", "2025-01-01", None, (3, "2026-05-01"), "2026-07-30", "after-last", False),
    ("2026-08-01", "2025-01-01", None, (3, "2026-05-01"), "2026-07-30", "after-last", True),
    ("2026-08-01", "2025-01-01", (4, "2026-09-01"), (3, "2026-05-01"), "2026-09-01", "open", False),
    ("2026-09-02", "2025-01-01", (4, "2026-09-01"), None, "2026-09-01", "open", True),
]


@pytest.mark.parametrize(("today", "installed", "open_", "last", "due", "basis", "late"), CASES)
def test_next_review(
    today: str,
    installed: str,
    open_: tuple[int, str] | None,
    last: tuple[int, str] | None,
    due: str,
    basis: str,
    late: bool,
) -> None:
    got = next_review(
        today=D(today),
        interval_days=90,
        installed_on=D(installed),
        open_review=(open_[0], D(open_[1])) if open_ else None,
        last_closed=(last[0], D(last[1])) if last else None,
    )
    assert (got.due_on, got.basis, got.overdue) == (D(due), basis, late)


def test_parse_day_names_the_option() -> None:
    assert parse_day(" 2026-11-30 ", "due") == dt.date(2026, 11, 30)
    assert parse_day("", "due") is None
    with pytest.raises(InvalidInput, match="--due '30/11/2026': use a date as YYYY-MM-DD"):
        parse_day("30/11/2026", "due")


def test_overdue_exit_codes(db_url: str, engine: Engine) -> None:
    fresh = cli(db_url, "access", "overdue", "--json")
    assert fresh.code == 0 and fresh.json()["basis"] == "install"
    review = opened(db_url, engine)
    ontime = cli(db_url, "access", "overdue", "--json")
    assert ontime.code == 0 and ontime.json()["review"] == review["id"]
    with engine.begin() as conn:  # the campaign's due date passes
        conn.execute(text("UPDATE access_reviews SET due_on = :d"), {"d": dt.date(2020, 1, 1)})
    late = cli(db_url, "access", "overdue")
    assert late.code == 1 and "OVERDUE" in late.stdout
    past = cli(db_url, "access", "open", "--name", "x", "--due", "2020-01-01", "--by", "ada")
    assert past.code == 2 and "--due 2020-01-01" in past.stderr
