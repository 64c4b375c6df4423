"""SLA computation (§6) as pure functions: policy days per severity, KEV when earlier."""

from __future__ import annotations

import datetime as dt

from changegate.findings.sla import (
    acceptance_lapsed,
    days_left,
    due_date,
    is_overdue,
    kev_date,
    status_from_vex,
)

DAYS = {"critical": 7, "high": 30, "medium": 60, "low": 90}
START = dt.date(2026, 1, 10)


def test_due_is_start_plus_the_policy_days_of_the_severity() -> None:
    assert due_date("critical", START, DAYS).due == dt.date(2026, 1, 17)
    assert due_date("low", START, DAYS).due == dt.date(2026, 4, 10)


def test_kev_due_date_wins_only_when_earlier() -> None:
    earlier = dt.date(2026, 1, 20)
    assert due_date("high", START, DAYS, kev_due=earlier).due == earlier
    later = dt.date(2026, 3, 1)
    clock = due_date("high", START, DAYS, kev_due=later)
    assert clock.due == dt.date(2026, 2, 9) and clock.kev_due == later


def test_kev_date_takes_the_earliest_of_the_ids_and_aliases() -> None:
    kev = {"CVE-2021-44228": dt.date(2021, 12, 24), "CVE-2021-45046": dt.date(2021, 12, 20)}
    assert kev_date(["GHSA-x", "cve-2021-44228", "CVE-2021-45046"], kev) == dt.date(2021, 12, 20)
    assert kev_date(["CVE-1999-0001"], kev) is None


def test_no_sla_for_a_severity_the_policy_does_not_name() -> None:
    assert due_date("critical", START, {}).due is None


def test_overdue_counts_only_open_findings_after_their_due_day() -> None:
    due = dt.date(2026, 1, 17)
    assert not is_overdue("open", due, due)
    assert is_overdue("open", due, due + dt.timedelta(days=1))
    assert not is_overdue("risk_accepted", due, due + dt.timedelta(days=9))
    assert days_left(due, dt.date(2026, 1, 20)) == -3


def test_acceptance_holds_through_its_expiry_day() -> None:
    expires = dt.date(2026, 2, 1)
    assert not acceptance_lapsed(expires, expires)
    assert acceptance_lapsed(expires, dt.date(2026, 2, 2))


def test_vex_states_set_the_status() -> None:
    assert status_from_vex("not_affected") == "not_affected"
    assert status_from_vex("false_positive") == "false_positive"
    assert status_from_vex("exploitable") == "open" and status_from_vex(None) == "open"
