"""Each DORA metric against a fixture computed by hand (docs/dora.md has the definitions)."""

from __future__ import annotations

import datetime as dt

from changegate.dora.metrics import Record, compute


def at(day: int, hour: float, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, tzinfo=dt.UTC) + dt.timedelta(hours=hour)


def rec(
    id: int,
    change: int,
    when: dt.datetime,
    created: dt.datetime,
    *,
    kind: str = "deploy",
    emergency: bool = False,
    first_commit: dt.datetime | None = None,
) -> Record:
    return Record(id, f"CHG-{change}", "production", when, kind, emergency, created, first_commit)


START, END = at(2, 0), at(16, 0)  # two ISO weeks, Monday 2 to Monday 16 November 2026
FIXTURE = [
    # before the window: not counted, and its own failure is not asked about
    rec(8, 6, at(30, 0, month=10), at(29, 0, month=10)),
    # lead time from the first commit (48 h), not from creation (24 h)
    rec(1, 1, at(2, 10), at(1, 10), first_commit=at(31, 10, month=10)),
    # deployed, then rolled back two hours later: failed, recovered in 2 h
    rec(2, 2, at(3, 12), at(3, 0)),
    rec(3, 2, at(3, 14), at(3, 0), kind="rollback"),
    # deployed, then an emergency change's deployment one hour later: failed, recovered in 1 h
    rec(4, 3, at(5, 9), at(4, 9)),
    rec(5, 4, at(5, 10), at(5, 9.5), emergency=True),
    # deployed twice: lead time once, from its first deployment
    rec(6, 5, at(10, 8), at(9, 8)),
    rec(7, 5, at(11, 8), at(9, 8)),
    # exactly at the end of the window: not in it (the window is [from, to))
    rec(9, 7, at(16, 0), at(15, 0)),
]


def test_each_metric_of_the_hand_computed_fixture() -> None:
    assert START.weekday() == 0 and (END - START).days == 14
    out = compute(FIXTURE, START, END).to_dict()
    # deployment frequency: ids 1, 2, 4, 5, 6, 7 over two weeks
    assert out["deployments"] == 6
    assert out["deployment_frequency_per_week"] == 3.0
    # lead times of the changes first deployed in the window: 48, 12, 24, 0.5, 24 hours
    lead = out["lead_time_hours"]
    assert lead["changes"] == 5 and lead["from_first_commit"] == 1 and lead["from_creation"] == 4
    assert lead["median"] == 24.0
    assert lead["p90"] == 48.0  # nearest rank: the 5th of 5
    # change fail rate: 2 (rolled back; followed by an emergency fix) of 6
    assert out["change_fail_rate"] == round(2 / 6, 4)
    failed = {f["deployment"]: f for f in out["failed_deployments"]}
    assert set(failed) == {2, 4}
    assert failed[2]["recovered_by"] == "rollback" and failed[2]["recovery_hours"] == 2.0
    assert failed[4]["recovered_by"] == "emergency-fix" and failed[4]["recovery_hours"] == 1.0
    # failed deployment recovery time: median of 2 h and 1 h
    assert out["recovery_time_hours"] == {"median": 1.5, "recovered": 2, "unrecovered": 0}
    # rework: the emergency deployment and the rollback, of 6 deployments and 1 rollback
    assert out["rework_deployments"] == 2 and out["rollbacks"] == 1
    assert out["deployment_rework_rate"] == round(2 / 7, 4)
    # weekly: 4 deployments (2 failed) in the first week, 2 in the second
    assert out["weekly"] == [
        {
            "week": "2026-11-02",
            "deployments": 4,
            "failed": 2,
            "change_fail_rate": 0.5,
            "median_lead_time_hours": 18.0,  # of 48, 12, 24, 0.5
        },
        {
            "week": "2026-11-09",
            "deployments": 2,
            "failed": 0,
            "change_fail_rate": 0.0,
            "median_lead_time_hours": 24.0,
        },
    ]


def test_an_empty_window_has_no_rates_rather_than_zero() -> None:
    out = compute([], START, END).to_dict()
    assert out["deployments"] == 0 and out["deployment_frequency_per_week"] == 0
    assert out["change_fail_rate"] is None and out["deployment_rework_rate"] is None
    assert out["lead_time_hours"]["median"] is None
    assert [w["deployments"] for w in out["weekly"]] == [0, 0]


def test_a_rollback_after_the_next_deployment_still_fails_the_deployment() -> None:
    records = [
        rec(1, 1, at(2, 1), at(2, 0)),
        rec(2, 2, at(2, 2), at(2, 0)),
        rec(3, 1, at(2, 5), at(2, 0), kind="rollback"),
    ]
    failed = compute(records, START, END).to_dict()["failed_deployments"]
    assert [(f["deployment"], f["recovered_by"], f["recovery_hours"]) for f in failed] == [
        (1, "rollback", 4.0)
    ]


def test_a_failed_emergency_fix_is_failed_only_by_its_own_rollback() -> None:
    """An emergency deployment followed by another emergency one is not counted failed by
    it (both answer the same incident); it is when it is rolled back itself."""
    records = [
        rec(1, 1, at(2, 1), at(2, 0), emergency=True),
        rec(2, 2, at(2, 2), at(2, 0), emergency=True),
        rec(3, 2, at(2, 3), at(2, 0), kind="rollback"),
    ]
    failed = compute(records, START, END).to_dict()["failed_deployments"]
    assert [f["deployment"] for f in failed] == [2]


def test_lead_time_never_negative_and_many_records_stay_fast() -> None:
    """A commit dated after its deployment (a clock skew) counts as zero, not negative; and
    10,000 deployments are computed in one pass (this would take minutes if quadratic)."""
    skewed = [rec(1, 1, at(3, 0), at(2, 0), first_commit=at(4, 0))]
    assert compute(skewed, START, END).to_dict()["lead_time_hours"]["median"] == 0.0
    many = [rec(i, i, START + dt.timedelta(minutes=i), START) for i in range(1, 10_001)]
    out = compute(many, START, END).to_dict()
    assert out["deployments"] == 10_000 and out["failed_deployments"] == []
