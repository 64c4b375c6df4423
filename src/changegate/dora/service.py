"""DORA metrics of this database's deployments (`changegate dora`, `GET /api/dora`, the
dashboard's delivery page). Reads the records; :mod:`changegate.dora.metrics` computes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit.timebounds import parse_moment
from changegate.changes.keys import change_key
from changegate.db import utcnow
from changegate.dora.metrics import Record, compute
from changegate.errors import InvalidInput

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

#: the window without --from: the last 90 days
DEFAULT_DAYS = 90
#: the longest window one request may ask for (weekly series stay a few hundred rows)
MAX_DAYS = 3 * 366
#: sha -> commit time, for the commits a repository knows (``GitRepo.commit_times``)
CommitTimes = Callable[[Iterable[str]], dict[str, dt.datetime]]


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime


def window(start: str | None, end: str | None, *, now: dt.datetime | None = None) -> Window:
    """The window ``[start, end)`` from --from/--to as people type them: a date (``--to`` a
    date includes that whole day) or a time; UTC without a zone. Default: the last 90 days."""
    now = now or utcnow()
    to = _moment(end, "to", end_of_day=True) or now
    frm = _moment(start, "from", end_of_day=False) or to - dt.timedelta(days=DEFAULT_DAYS)
    if frm >= to:
        raise InvalidInput("from: the window is empty; --from must be before --to", field="from")
    if to - frm > dt.timedelta(days=MAX_DAYS):
        raise InvalidInput(
            f"to: the window is longer than {MAX_DAYS} days; ask for a shorter one", field="to"
        )
    return Window(frm, to)


def _moment(value: str | None, field: str, *, end_of_day: bool) -> dt.datetime | None:
    """--from/--to as :func:`parse_moment` reads them; a bare date given as an end means the
    end of that day."""
    moment = parse_moment(value, field)
    if moment is not None and end_of_day and len((value or "").strip()) == 10:
        moment += dt.timedelta(days=1)
    return moment


def dora(
    session: Session,
    policy: Policy,
    *,
    env: str = "production",
    span: Window,
    service: str | None = None,
    commit_times: CommitTimes | None = None,
) -> dict[str, Any]:
    """The five metrics of ``env`` in ``span``, optionally of one service (a component of the
    policy: changes that touch it), with the weekly series. ``commit_times`` (a repository's)
    lets lead time start at each change's first commit; without it, at the change's creation."""
    if env not in policy.deploy.environments:
        raise InvalidInput(
            f"env: unknown environment {env!r}; the policy has "
            f"{', '.join(policy.deploy.environments)}",
            field="env",
        )
    if service is not None and service not in policy.components:
        raise InvalidInput(
            f"service: unknown component {service!r}; the policy's components are "
            f"{', '.join(policy.components)}",
            field="service",
        )
    records = _records(session, env, service, span.end, commit_times)
    out = compute(records, span.start, span.end).to_dict()
    return {"environment": env, "service": service} | out


def _records(
    session: Session,
    env: str,
    service: str | None,
    before: dt.datetime,
    commit_times: CommitTimes | None,
) -> list[Record]:
    """Every deployment and rollback of ``env`` up to a week after the window (what decides
    whether a deployment in the window failed), with what the metrics need of its change."""
    from changegate.changes.models import Change
    from changegate.deployments.models import Deployment

    stmt = (
        select(
            Deployment.id,
            Deployment.change_id,
            Deployment.created_at,
            Deployment.kind,
            Change.change_class,
            Change.created_at,
            Change.components,
            Change.commits,
        )
        .join(Change, Change.id == Deployment.change_id)
        .where(
            Deployment.environment == env,
            Deployment.created_at < before + dt.timedelta(days=7),
        )
        .order_by(Deployment.id)
    )
    rows = [r for r in session.execute(stmt) if service is None or service in (r[6] or [])]
    times: dict[str, dt.datetime] = {}
    if commit_times is not None:
        times = commit_times(sha for r in rows for sha in (r[7] or []))
    return [
        Record(
            id=dep_id,
            change=change_key(change_id),
            environment=env,
            at=at,
            kind=kind,
            emergency=klass == "emergency",
            change_created=created,
            first_commit=min((times[s] for s in commits or [] if s in times), default=None),
        )
        for dep_id, change_id, at, kind, klass, created, _, commits in rows
    ]
