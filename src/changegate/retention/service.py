"""The policy's retention period (``retention.audit_years``), legal holds on changes, and purging
evidence bytes past retention.

A change's record is retained for ``audit_years`` after its last activity (the change's last
update or the last evidence attached to it, whichever is later). Audit events are never deleted
(the database refuses it); evidence files' bytes past retention, on no change under a legal hold,
may be purged by a role the policy's ``retention.purge`` names: each purge is an audit event
naming the file's SHA-256, the hash and size stay, and `audit verify` reports the file as purged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from changegate.ai.models import AiProvider
from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.keys import change_key
from changegate.changes.models import Change
from changegate.db import iso, utcnow
from changegate.errors import Conflict, InvalidInput
from changegate.evidence.models import Blob, Evidence
from changegate.policy import service as policy_service
from changegate.retention.models import LegalHold
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


def retained_until(last_activity: dt.datetime, years: int) -> dt.datetime:
    """``years`` after ``last_activity`` (29 February ends on 28 February)."""
    try:
        return last_activity.replace(year=last_activity.year + years)
    except ValueError:
        return last_activity.replace(year=last_activity.year + years, day=28)


def active_hold(session: Session, change: Change) -> LegalHold | None:
    return session.scalar(
        select(LegalHold)
        .where(LegalHold.change_id == change.id, LegalHold.released_at.is_(None))
        .order_by(LegalHold.id)
        .limit(1)
    )


def hold(session: Session, policy: Policy, change: Change, *, reason: str, actor: str) -> LegalHold:
    """Place a legal hold on ``change``: nothing of its record is purged until it is released."""
    who = get_user(session, actor)
    policy_service.require(policy, who, "retention.hold", doing="place a legal hold")
    if not reason.strip():
        raise InvalidInput("--reason: say why the change is held (e.g. the matter)", field="reason")
    current = active_hold(session, change)
    if current is not None:
        raise Conflict(
            f"{change.key} is already on legal hold (hold {current.id} by {current.held_by}: "
            f"{current.reason})",
            field="change",
        )
    row = LegalHold(change_id=change.id, reason=reason.strip(), held_by=who.name, held_at=utcnow())
    session.add(row)
    record(session, events.LegalHoldPlaced, actor=who.name, after=row)
    return row


def release(
    session: Session, policy: Policy, change: Change, *, reason: str, actor: str
) -> LegalHold:
    """Release the legal hold on ``change`` (the hold's row stays, with who and why)."""
    who = get_user(session, actor)
    policy_service.require(policy, who, "retention.hold", doing="release a legal hold")
    current = active_hold(session, change)
    if current is None:
        raise Conflict(f"{change.key} is not on legal hold", field="change")
    before = current.audit_state()
    current.released_by, current.released_at = who.name, utcnow()
    current.release_reason = reason.strip() or None
    record(session, events.LegalHoldReleased, actor=who.name, after=current, before=before)
    return current


@dataclass
class BlobRetention:
    """One evidence file and the changes whose evidence holds it."""

    sha256: str
    size: int
    purged: bool
    changes: list[str] = field(default_factory=list)
    retained_until: dt.datetime | None = None
    held_by: list[str] = field(default_factory=list)
    #: why the file cannot be purged yet, or None when it may be
    blocked: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "purged": self.purged,
            "changes": self.changes,
            "retained_until": iso(self.retained_until),
            "held": self.held_by,
            "purgeable": self.blocked is None and not self.purged,
            "blocked": self.blocked,
        }


def _last_activity(session: Session) -> dict[int, dt.datetime]:
    """Each change's last activity: its last update or its last evidence, whichever is later."""
    last = {cid: at for cid, at in session.execute(select(Change.id, Change.updated_at))}
    attached = select(Evidence.change_id, func.max(Evidence.created_at)).group_by(
        Evidence.change_id
    )
    for cid, at in session.execute(attached):
        if at is not None and at > last[cid]:
            last[cid] = at
    return last


def blob_retention(session: Session, policy: Policy, *, cutoff: dt.datetime) -> list[BlobRetention]:
    """Every evidence file, with the changes it is evidence for, when its retention ends, and
    why it may not be purged at ``cutoff`` (None: it may)."""
    years = policy.retention.audit_years
    last = _last_activity(session)
    held = {
        cid: by
        for cid, by in session.execute(
            select(LegalHold.change_id, LegalHold.held_by).where(LegalHold.released_at.is_(None))
        )
    }
    dpas = set(
        session.scalars(select(AiProvider.dpa_sha256).where(AiProvider.dpa_sha256.isnot(None)))
    )
    rows = session.execute(
        select(Blob.sha256, Blob.size, func.length(Blob.content).label("n")).order_by(Blob.sha256)
    )
    blobs = {r.sha256: BlobRetention(r.sha256, r.size, bool(r.size) and not r.n) for r in rows}
    refs = select(Evidence.blob_sha256, Evidence.change_id).where(Evidence.blob_sha256.isnot(None))
    for sha, cid in session.execute(refs.distinct().order_by(Evidence.change_id)):
        blob = blobs[str(sha)]
        blob.changes.append(change_key(cid))
        until = retained_until(last[cid], years)
        blob.retained_until = max(until, blob.retained_until or until)
        if cid in held:
            blob.held_by.append(change_key(cid))
    for blob in blobs.values():
        blob.blocked = _blocked(blob, cutoff, blob.sha256 in dpas)
    return list(blobs.values())


def _blocked(blob: BlobRetention, cutoff: dt.datetime, dpa: bool) -> str | None:
    if blob.purged:
        return "already purged"
    if dpa:
        return "an AI provider's data processing agreement (kept while the provider is listed)"
    if blob.retained_until is None:
        return "evidence of no change"
    if blob.held_by:
        return f"legal hold on {', '.join(blob.held_by)}"
    if blob.retained_until > cutoff:
        return f"retained until {iso(blob.retained_until)}"
    return None


def retention_report(
    session: Session, policy: Policy, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """What is past retention at ``now``: the evidence files that may be purged, those past
    retention but held, and the changes whose retention has ended."""
    now = now or utcnow()
    years = policy.retention.audit_years
    blobs = blob_retention(session, policy, cutoff=now)
    held = {
        cid
        for cid in session.scalars(
            select(LegalHold.change_id).where(LegalHold.released_at.is_(None))
        )
    }
    changes = [
        {
            "change": change_key(cid),
            "last_activity": iso(at),
            "retained_until": iso(retained_until(at, years)),
            "held": cid in held,
        }
        for cid, at in sorted(_last_activity(session).items())
        if retained_until(at, years) <= now
    ]
    past = [b for b in blobs if b.retained_until is not None and b.retained_until <= now]
    return {
        "as_of": iso(now),
        "retention_years": years,
        "changes": changes,
        "blobs": [b.to_dict() for b in past if not b.purged],
        "purged": [b.sha256 for b in blobs if b.purged],
    }


@dataclass(frozen=True)
class _PurgedState:
    """A purged blob's audit state (its row's, without reading its bytes)."""

    sha256: str
    size: int

    def audit_state(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "size": self.size}


def purge(
    session: Session,
    policy: Policy,
    *,
    actor: str,
    before: str | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """Erase the bytes of every evidence file whose retention ended before ``before`` (an ISO
    8601 date or time; at the latest now) and that no held change holds; one audit event per
    file names its SHA-256."""
    from changegate.audit.timebounds import parse_bound

    bound = parse_bound(before, "before")
    who = get_user(session, actor)
    policy_service.require(policy, who, "retention.purge", doing="purge evidence past retention")
    now = now or utcnow()
    cutoff = now if bound is None else min(dt.datetime.fromisoformat(bound), now)
    purged: list[dict[str, Any]] = []
    for blob in blob_retention(session, policy, cutoff=cutoff):
        if blob.blocked is not None:
            continue
        session.execute(update(Blob).where(Blob.sha256 == blob.sha256).values(content=b""))
        state = _PurgedState(blob.sha256, blob.size)
        extra = {
            "changes": blob.changes,
            "retained_until": iso(blob.retained_until),
            "retention_years": policy.retention.audit_years,
        }
        event = record(session, events.BlobPurged, actor=who.name, after=state, extra=extra)
        purged.append(
            {"sha256": blob.sha256, "size": blob.size, "changes": blob.changes, "event": event.seq}
        )
    return {"as_of": iso(now), "before": iso(cutoff), "purged": purged, "count": len(purged)}
