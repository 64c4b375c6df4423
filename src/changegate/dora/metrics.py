"""The DORA software delivery metrics (dora.dev), computed from deployment records alone.

Pure: no database. :mod:`changegate.dora.service` reads the records; this module decides what
they mean. The definitions and the edge cases chosen are in docs/dora.md:

- deployment frequency: production deployments (``kind == "deploy"``) in the window, and the
  same per week;
- change lead time: for each change first deployed in the window, from its first commit (when
  the commit's time is known) or else its creation, to that first deployment;
- change fail rate: deployments that needed a rollback or an emergency fix, over deployments.
  A deployment needed a rollback when its change was rolled back in that environment after it;
  it needed an emergency fix when the next deployment to that environment is of an emergency
  change;
- failed deployment recovery time: from a failed deployment to its rollback, or to the
  deployment of the emergency fix;
- deployment rework rate: unplanned deployments (emergency changes' deployments and
  rollbacks) over all deployments and rollbacks.
"""

from __future__ import annotations

import bisect
import datetime as dt
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Record:
    """One row of the deployments table, with what the metrics need of its change."""

    id: int
    change: str
    environment: str
    at: dt.datetime
    kind: str  # deploy | rollback
    emergency: bool
    change_created: dt.datetime
    #: the change's earliest commit time, when known (None: lead time starts at creation)
    first_commit: dt.datetime | None = None


@dataclass
class Failure:
    deployment: int
    change: str
    at: dt.datetime
    recovered_at: dt.datetime | None
    by: str  # rollback | emergency-fix

    @property
    def recovery_hours(self) -> float | None:
        return None if self.recovered_at is None else _hours(self.recovered_at - self.at)


@dataclass
class Report:
    start: dt.datetime
    end: dt.datetime
    deployments: int = 0
    rollbacks: int = 0
    lead_times_hours: list[float] = field(default_factory=list)
    lead_from_commit: int = 0
    failures: list[Failure] = field(default_factory=list)
    rework: int = 0
    weekly: list[dict[str, Any]] = field(default_factory=list)

    @property
    def weeks(self) -> float:
        return max((self.end - self.start).total_seconds() / (7 * 86400), 1 / 7)

    def to_dict(self) -> dict[str, Any]:
        recoveries = [h for f in self.failures if (h := f.recovery_hours) is not None]
        lead = self.lead_times_hours
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "deployments": self.deployments,
            "deployment_frequency_per_week": round(self.deployments / self.weeks, 3),
            "lead_time_hours": {
                "median": _round(statistics.median(lead)) if lead else None,
                "p90": _round(_percentile(lead, 0.9)) if lead else None,
                "changes": len(lead),
                "from_first_commit": self.lead_from_commit,
                "from_creation": len(lead) - self.lead_from_commit,
            },
            "change_fail_rate": _ratio(len(self.failures), self.deployments),
            "failed_deployments": [
                {
                    "deployment": f.deployment,
                    "change": f.change,
                    "at": f.at.isoformat(),
                    "recovered_by": f.by,
                    "recovered_at": f.recovered_at.isoformat() if f.recovered_at else None,
                    "recovery_hours": _round(f.recovery_hours),
                }
                for f in self.failures
            ],
            "recovery_time_hours": {
                "median": _round(statistics.median(recoveries)) if recoveries else None,
                "recovered": len(recoveries),
                "unrecovered": len(self.failures) - len(recoveries),
            },
            "rollbacks": self.rollbacks,
            "rework_deployments": self.rework,
            "deployment_rework_rate": _ratio(self.rework, self.deployments + self.rollbacks),
            "weekly": self.weekly,
        }


def compute(records: Sequence[Record], start: dt.datetime, end: dt.datetime) -> Report:
    """The metrics of the deployments in ``[start, end)``. ``records`` are every deployment
    and rollback of the environments and service asked for, of any time: a deployment's
    failure may be decided by what came after the window, and a change's first deployment
    by what came before it."""
    ordered = sorted(records, key=lambda r: (r.at, r.id))
    report = Report(start, end)
    failures = _failures(ordered)
    first_deploy: dict[str, Record] = {}
    for r in ordered:
        if r.kind == "deploy":
            first_deploy.setdefault(r.change, r)
    for r in ordered:
        if not start <= r.at < end:
            continue
        if r.kind == "rollback":
            report.rollbacks += 1
            report.rework += 1
            continue
        report.deployments += 1
        report.rework += r.emergency
        if r.id in failures:
            report.failures.append(failures[r.id])
        if first_deploy[r.change] is r:
            begun = r.first_commit or r.change_created
            report.lead_from_commit += r.first_commit is not None
            report.lead_times_hours.append(max(_hours(r.at - begun), 0.0))
    report.weekly = _weekly(ordered, failures, first_deploy, start, end)
    return report


def _failures(ordered: Sequence[Record]) -> dict[int, Failure]:
    """Each deployment that needed a rollback or an emergency fix, with when it recovered.
    Linear in the records (plus a binary search per deployment)."""
    out: dict[int, Failure] = {}
    by_env: dict[str, list[Record]] = {}
    for r in ordered:
        by_env.setdefault(r.environment, []).append(r)
    for records in by_env.values():
        rollbacks: dict[str, list[dt.datetime]] = {}
        for r in records:
            if r.kind == "rollback":
                rollbacks.setdefault(r.change, []).append(r.at)
        next_deploy: Record | None = None
        for r in reversed(records):
            if r.kind != "deploy":
                continue
            failure = _failure(r, next_deploy, rollbacks.get(r.change, []))
            if failure is not None:
                out[r.id] = failure
            next_deploy = r
    return out


def _failure(r: Record, next_deploy: Record | None, rollbacks: list[dt.datetime]) -> Failure | None:
    """Why ``r`` failed: rolled back (before the next deployment, or at all), or followed by
    an emergency change's deployment; None when neither."""
    i = bisect.bisect_right(rollbacks, r.at)
    rolled_back = rollbacks[i] if i < len(rollbacks) else None
    if rolled_back is not None and (next_deploy is None or rolled_back <= next_deploy.at):
        return Failure(r.id, r.change, r.at, rolled_back, "rollback")
    if next_deploy is not None and next_deploy.emergency and not r.emergency:
        return Failure(r.id, r.change, r.at, next_deploy.at, "emergency-fix")
    if rolled_back is not None:  # rolled back only after another deployment went out
        return Failure(r.id, r.change, r.at, rolled_back, "rollback")
    return None


def _weekly(
    ordered: Sequence[Record],
    failures: dict[int, Failure],
    first_deploy: dict[str, Record],
    start: dt.datetime,
    end: dt.datetime,
) -> list[dict[str, Any]]:
    """Per ISO week (starting on Monday) that overlaps the window: deployments, failed ones,
    the fail rate and the median lead time of the changes first deployed that week."""
    weeks: dict[dt.date, dict[str, Any]] = {}
    monday = start.date() - dt.timedelta(days=start.weekday())
    while monday < end.date() or (monday == end.date() and end.time() != dt.time()):
        weeks[monday] = {"week": monday.isoformat(), "deployments": 0, "failed": 0, "leads": []}
        monday += dt.timedelta(days=7)
    for r in ordered:
        if r.kind != "deploy" or not start <= r.at < end:
            continue
        week = weeks[r.at.date() - dt.timedelta(days=r.at.weekday())]
        week["deployments"] += 1
        week["failed"] += r.id in failures
        if first_deploy[r.change] is r:
            week["leads"].append(_hours(r.at - (r.first_commit or r.change_created)))
    out = []
    for w in weeks.values():
        leads = w.pop("leads")
        w["change_fail_rate"] = _ratio(w["failed"], w["deployments"])
        w["median_lead_time_hours"] = _round(statistics.median(leads)) if leads else None
        out.append(w)
    return out


def _hours(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 3600


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


def _percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile (the smallest value with at least q of them at or below)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 1))  # ceil(n * q), at least 1
    return ordered[int(rank) - 1]
