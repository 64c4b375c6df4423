"""SLA clocks of findings (§6), as pure functions: the policy's days per severity, CISA's KEV
due date when it is earlier, and what a finding's status is on a given day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Due:
    due: dt.date | None  # None: the policy gives this severity no SLA
    kev_due: dt.date | None  # the catalogue's date, when it lists one of the ids


def kev_date(ids: Iterable[str], kev: Mapping[str, dt.date]) -> dt.date | None:
    """The earliest KEV due date of any of ``ids`` (vulnerability id and aliases)."""
    dates = [kev[i.upper()] for i in ids if i.upper() in kev]
    return min(dates) if dates else None


def due_date(
    severity: str,
    start: dt.date,
    sla_days: Mapping[str, int],
    *,
    kev_due: dt.date | None = None,
) -> Due:
    """``start`` plus the policy's days for ``severity``, or the KEV due date when earlier."""
    days = sla_days.get(severity)
    due = None if days is None else start + dt.timedelta(days=days)
    if kev_due is not None and (due is None or kev_due < due):
        due = kev_due
    return Due(due=due, kev_due=kev_due)


def days_left(due: dt.date | None, today: dt.date) -> int | None:
    """Days until ``due`` (negative: past due); None without a due date."""
    return None if due is None else (due - today).days


def is_overdue(status: str, due: dt.date | None, today: dt.date) -> bool:
    """An open finding past its due date (the due day itself is still within the SLA)."""
    return status == "open" and due is not None and due < today


def acceptance_lapsed(expires: dt.date, today: dt.date) -> bool:
    """A risk acceptance holds through its expiry date and lapses the day after."""
    return expires < today


#: a CycloneDX VEX analysis state (or the equivalent statement) -> the status it gives
VEX_STATUS = {"false_positive": "false_positive", "not_affected": "not_affected"}


def status_from_vex(vex_state: str | None) -> str:
    return VEX_STATUS.get(vex_state or "", "open")
