"""When the next access review is due (policy ``access_review_interval_days``), from plain dates.

The rule (docs/access-reviews.md): an open campaign is due on its own due date. Otherwise the
next one is due ``interval`` days after the last campaign closed; when none ever closed, ``interval``
days after the install (the day of the first event in the audit log), so a database older than
the interval that never held a review is overdue.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class NextReview:
    due_on: dt.date
    #: open (a campaign in progress), after-last (interval after the last close) or install
    basis: str
    review_id: int | None
    overdue: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "due": self.due_on.isoformat(),
            "basis": self.basis,
            "review": self.review_id,
            "overdue": self.overdue,
        }


def next_review(
    *,
    today: dt.date,
    interval_days: int,
    installed_on: dt.date,
    open_review: tuple[int, dt.date] | None,
    last_closed: tuple[int, dt.date] | None,
) -> NextReview:
    """``open_review`` and ``last_closed`` are (review id, due date / day closed)."""
    if open_review is not None:
        review_id, due = open_review
        return NextReview(due, "open", review_id, today > due)
    interval = dt.timedelta(days=interval_days)
    if last_closed is not None:
        review_id, closed_on = last_closed
        due = closed_on + interval
        return NextReview(due, "after-last", review_id, today > due)
    due = installed_on + interval
    return NextReview(due, "install", None, today > due)


def parse_day(value: str | None, field: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` option, or the error naming it."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        from changegate.errors import InvalidInput

        raise InvalidInput(f"--{field} {value!r}: use a date as YYYY-MM-DD", field=field) from None
