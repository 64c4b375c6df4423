"""Importing scans, risk acceptance and its lapse (§6). Services flush; the caller commits.

Owner: a finding's owner is the user who first imported it (``Finding.owner``); a risk
acceptance must be decided by someone else holding a role the policy's ``findings.accept``
permission names (docs/findings.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record, record_many
from changegate.db import utcnow
from changegate.errors import Conflict, InvalidInput, NotFound, SegregationOfDuties
from changegate.findings.models import Finding, FindingImport, RiskAcceptance
from changegate.findings.parsed import FORMATS, ParsedFinding
from changegate.findings.sla import (
    VEX_STATUS,
    acceptance_lapsed,
    due_date,
    kev_date,
    status_from_vex,
)
from changegate.policy import service as policy_service
from changegate.row_state import row_state
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

#: a row an import changed: the row, its audited state before (None: new), the event's extra
Change = tuple["Finding | _Inserted", dict[str, Any] | None, dict[str, Any] | None]
#: ids per statement when an import reads or updates rows by id
_CHUNK = 500

#: the columns an import writes from what the file says
_FROM_FILE = [
    "source_format",
    "tool",
    "rule_id",
    "title",
    "severity",
    "source_severity",
    "cvss",
    "component",
    "purl",
    "location",
    "installed_version",
    "fixed_version",
    "vex_state",
]


def get_finding(session: Session, ident: str | int, *, lock: bool = False) -> Finding:
    """The finding ``ident`` names (``12`` or ``F-12``)."""
    text = str(ident).strip().upper().removeprefix("F-")
    if not text.isdigit() or len(text) > 9:
        raise InvalidInput(f"{ident!r} is not a finding id; give its number, e.g. 12", field="id")
    stmt = select(Finding).where(Finding.id == int(text))
    finding = session.scalar(stmt.with_for_update() if lock else stmt)
    if finding is None:
        raise NotFound(f"no finding {text}: `changegate findings list` shows them", field="id")
    return finding


def _scope(policy: Policy, scope: str | None) -> str:
    name = (scope or policy.findings.default_scope).strip()
    if not name or len(name) > 100:
        raise InvalidInput("--scope must be 1 to 100 characters", field="scope")
    return name


def _values(p: ParsedFinding) -> dict[str, Any]:
    values = {name: getattr(p, name) for name in _FROM_FILE}
    values["aliases"] = list(p.aliases)
    return values


def _clock(
    policy: Policy, severity: str, start: dt.date, kev_due: dt.date | None
) -> dt.date | None:
    return due_date(severity, start, policy.vulnerability_sla_days, kev_due=kev_due).due


def _due(policy: Policy, finding: Finding, kev: Mapping[str, dt.date] | None) -> None:
    """Set ``due`` (and ``kev_due`` when a catalogue is given) from the SLA start: the
    policy's days for the severity may have changed since the last import."""
    if kev is not None:
        finding.kev_due = kev_date([finding.rule_id, *finding.aliases], kev)
    finding.due = _clock(policy, finding.severity, finding.sla_start, finding.kev_due)


class _Inserted:
    """A finding the import inserted in bulk (no ORM object): its columns as attributes, so
    its audit state is built by the same :func:`row_state` as a :class:`Finding`'s."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def audit_state(self) -> dict[str, Any]:
        return row_state(self, Finding.audit_columns)


def _new(
    policy: Policy,
    p: ParsedFinding,
    scope: str,
    actor: str,
    now: dt.datetime,
    kev: Mapping[str, dt.date] | None,
) -> dict[str, Any]:
    """The columns of a finding first seen now: open (unless a VEX statement says otherwise)
    with its SLA clock starting today."""
    kev_due = None if kev is None else kev_date([p.rule_id, *p.aliases], kev)
    return {
        "scope": scope,
        "fingerprint": p.fingerprint,
        "status": status_from_vex(p.vex_state),
        "owner": actor,
        "first_seen": now,
        "last_seen": now,
        "sla_start": now.date(),
        "due": _clock(policy, p.severity, now.date(), kev_due),
        "kev_due": kev_due,
        "change_id": None,
        "updated_at": now,
        **_values(p),
    }


def _insert(session: Session, scope: str, rows: list[dict[str, Any]]) -> list[_Inserted]:
    """Insert new findings in one executemany, then read their ids back by fingerprint
    (unique per scope). RETURNING with the rows' order kept would send SQLite one statement
    per row (SQLAlchemy's insertmanyvalues cannot sort an autoincrement key's batch there)."""
    if not rows:
        return []
    session.flush()
    session.connection().execute(insert(Finding), rows)  # Core: no ORM bookkeeping
    ids = {
        fingerprint: ident
        for fingerprint, ident in session.execute(
            select(Finding.fingerprint, Finding.id).where(Finding.scope == scope)
        )
    }
    return [_Inserted({**row, "id": ids[row["fingerprint"]]}) for row in rows]


def _load(session: Session, ids: Sequence[int]) -> dict[int, Finding]:
    """The ORM rows of ``ids``, read a chunk of ids per query."""
    out: dict[int, Finding] = {}
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        out.update((f.id, f) for f in session.scalars(select(Finding).where(Finding.id.in_(chunk))))
    return out


def _touch(session: Session, ids: Sequence[int], now: dt.datetime) -> None:
    """Move ``last_seen`` of the findings seen again unchanged, a chunk of ids per UPDATE
    (``last_seen`` is outside the audited state; see models.py)."""
    for i in range(0, len(ids), _CHUNK):
        session.execute(
            update(Finding).where(Finding.id.in_(ids[i : i + _CHUNK])).values(last_seen=now)
        )


def _next_status(status: str, vex_state: str | None) -> str:
    """The status a finding seen again takes: a VEX statement's, else open when it was fixed
    (it came back) or when an earlier VEX statement no longer holds, else unchanged."""
    if vex_state in VEX_STATUS:
        return VEX_STATUS[vex_state]
    if status == "fixed" or status in VEX_STATUS.values():
        return "open"
    return status


def _unchanged(
    policy: Policy, finding: Any, p: ParsedFinding, kev: Mapping[str, dt.date] | None
) -> bool:
    """Whether a re-import leaves ``finding`` (a :class:`Finding` or a row read with its
    columns) as it was but for its ``last_seen``."""
    status = _next_status(finding.status, p.vex_state)
    kev_due = finding.kev_due if kev is None else kev_date([p.rule_id, *p.aliases], kev)
    return bool(
        status == finding.status
        and kev_due == finding.kev_due
        and all(getattr(finding, key) == value for key, value in _values(p).items())
        and finding.due == _clock(policy, finding.severity, finding.sla_start, kev_due)
    )


def _seen_again(
    policy: Policy,
    finding: Finding,
    p: ParsedFinding,
    now: dt.datetime,
    kev: Mapping[str, dt.date] | None,
) -> tuple[type[events.Event], dict[str, Any]] | None:
    """Apply what a re-import says to ``finding``: the event it needs and the state before,
    or None when the finding is as it was (only its ``last_seen`` moves)."""
    finding.last_seen = now
    if _unchanged(policy, finding, p, kev):
        return None
    before = finding.audit_state()
    status = _next_status(finding.status, p.vex_state)
    for key, value in _values(p).items():
        setattr(finding, key, value)
    event: type[events.Event] = events.FindingUpdated
    if status == "open" and finding.status != "open":
        finding.change_id, finding.sla_start = None, now.date()
        if finding.status == "fixed":
            event = events.FindingReopened
    finding.status, finding.updated_at = status, now
    _due(policy, finding, kev)
    return event, before


def import_scan(
    session: Session,
    policy: Policy,
    parsed: Sequence[ParsedFinding],
    *,
    source_format: str,
    content: bytes,
    actor: str,
    scope: str | None = None,
    kev: Mapping[str, dt.date] | None = None,
    kev_content: bytes | None = None,
    now: dt.datetime | None = None,
) -> FindingImport:
    """Store one scan of a scope: new findings open with their SLA clock, ones seen again are
    updated (a fixed one re-opens), and open ones the scan no longer holds are fixed."""
    if source_format not in FORMATS:
        raise InvalidInput(
            f"--format {source_format!r}: use one of {', '.join(FORMATS)}", field="format"
        )
    user = get_user(session, actor)
    policy_service.require(policy, user, "findings.import", doing="import findings")
    now = now or utcnow()
    name = _scope(policy, scope)
    lapse_expired(session, today=now.date())
    batch = FindingImport(
        scope=name,
        source_format=source_format,
        sha256=hashlib.sha256(content).hexdigest(),
        kev_sha256=None if kev_content is None else hashlib.sha256(kev_content).hexdigest(),
        total=len(parsed),
        new=0,
        reopened=0,
        fixed=0,
        imported_by=user.name,
        created_at=now,
    )
    #: every finding of the scope, read as rows (no ORM object): most are seen again unchanged
    existing = {
        row.fingerprint: row
        for row in session.execute(select(Finding.__table__).where(Finding.scope == name))
    }
    seen: set[str] = set()
    new: list[dict[str, Any]] = []
    again: list[tuple[int, ParsedFinding]] = []
    unchanged: list[int] = []
    for p in parsed:
        fp = p.fingerprint
        if fp in seen:
            continue  # the same finding twice in one file is one finding
        seen.add(fp)
        row = existing.get(fp)
        if row is None:
            new.append(_new(policy, p, name, user.name, now, kev))
        elif _unchanged(policy, row, p, kev):
            unchanged.append(row.id)
        else:
            again.append((row.id, p))
    _touch(session, unchanged, now)
    changed = _changed(session, policy, again, now, kev)
    #: event -> the (row, state before, extra) it records, appended together
    opened: list[Change] = [(f, None, None) for f in _insert(session, name, new)]
    changed = {events.FindingOpened: opened, **changed}
    batch.new, batch.reopened = len(new), len(changed.get(events.FindingReopened, []))
    for event, rows in changed.items():
        record_many(session, event, rows, actor=user.name, at=now)
    absent = [
        row.id
        for fp, row in existing.items()
        if fp not in seen and row.status in ("open", "risk_accepted")
    ]
    loaded = _load(session, absent)
    batch.fixed = _fix_absent(session, [loaded[i] for i in absent], batch)
    session.add(batch)
    record(session, events.FindingsImported, actor=user.name, after=batch, at=now)
    return batch


def _changed(
    session: Session,
    policy: Policy,
    again: Sequence[tuple[int, ParsedFinding]],
    now: dt.datetime,
    kev: Mapping[str, dt.date] | None,
) -> dict[type[events.Event], list[Change]]:
    """Apply a re-import to the findings it changes (``(id, what the file says)``): the
    rows each event records."""
    loaded = _load(session, [ident for ident, _ in again])
    changed: dict[type[events.Event], list[Change]] = {}
    for ident, p in again:
        finding = loaded[ident]
        result = _seen_again(policy, finding, p, now, kev)
        if result is not None:
            changed.setdefault(result[0], []).append((finding, result[1], None))
    return changed


def _fix_absent(session: Session, absent: Sequence[Finding], batch: FindingImport) -> int:
    """Mark the open (or risk-accepted) findings a re-import no longer holds fixed."""
    extra = {"absent_from": f"{batch.source_format} scan {batch.sha256[:16]}"}
    fixed: list[Change] = []
    for finding in absent:
        if finding.status in ("open", "risk_accepted"):
            before = finding.audit_state()
            finding.status, finding.updated_at = "fixed", batch.created_at
            fixed.append((finding, before, extra))
    record_many(session, events.FindingFixed, fixed, actor=batch.imported_by, at=batch.created_at)
    return len(fixed)


def lapse_expired(session: Session, *, today: dt.date | None = None) -> list[Finding]:
    """Lapse every risk acceptance past its expiry and re-open its finding, recording each
    once (called before findings are read, listed, imported or gated on)."""
    today = today or utcnow().date()
    due = session.scalars(
        select(RiskAcceptance)
        .where(RiskAcceptance.state == "active", RiskAcceptance.expires < today)
        .order_by(RiskAcceptance.id)
    ).all()
    reopened: list[Finding] = []
    now = utcnow()
    for acceptance in due:
        if not acceptance_lapsed(acceptance.expires, today):  # pragma: no cover - the query
            continue
        before = acceptance.audit_state()
        acceptance.state, acceptance.updated_at = "lapsed", now
        record(
            session, events.RiskAcceptanceLapsed, actor="system", after=acceptance, before=before
        )
        finding = session.get(Finding, acceptance.finding_id)
        if finding is not None and finding.status == "risk_accepted":
            before = finding.audit_state()
            finding.status, finding.updated_at = "open", now
            record(
                session,
                events.FindingReopened,
                actor="system",
                after=finding,
                before=before,
                extra={"reason": f"risk acceptance {acceptance.id} expired {acceptance.expires}"},
            )
            reopened.append(finding)
    return reopened


def accept_risk(
    session: Session,
    policy: Policy,
    finding: Finding,
    *,
    actor: str,
    justification: str,
    expires: dt.date,
    today: dt.date | None = None,
) -> RiskAcceptance:
    """Accept an open finding's risk until ``expires`` (§6): not by its owner, only by a role
    the policy's ``findings.accept`` names, for at most ``findings.max_acceptance_days``."""
    today = today or utcnow().date()
    lapse_expired(session, today=today)
    user = get_user(session, actor)
    if user.name == finding.owner:
        raise SegregationOfDuties(
            f"{user.name} owns finding {finding.id} (imported it); someone else must accept "
            "its risk",
            field="by",
        )
    policy_service.require(policy, user, "findings.accept", doing="accept the risk of findings")
    if finding.status != "open":
        raise Conflict(
            f"finding {finding.id} is {finding.status}; only an open finding's risk is accepted",
            field="id",
        )
    if not justification.strip():
        raise InvalidInput(
            "--justification is empty; say why the risk is acceptable", field="justification"
        )
    longest = policy.findings.max_acceptance_days
    if not today < expires <= today + dt.timedelta(days=longest):
        raise InvalidInput(
            f"--expires {expires}: give a date after today and at most {longest} days ahead "
            f"(by {today + dt.timedelta(days=longest)}; policy findings.max_acceptance_days)",
            field="expires",
        )
    now = utcnow()
    acceptance = RiskAcceptance(
        finding_id=finding.id,
        justification=justification.strip(),
        expires=expires,
        approver=user.name,
        state="active",
        created_at=now,
        updated_at=now,
    )
    session.add(acceptance)
    record(session, events.RiskAcceptanceRecorded, actor=user.name, after=acceptance)
    before = finding.audit_state()
    finding.status, finding.updated_at = "risk_accepted", now
    record(session, events.FindingRiskAccepted, actor=user.name, after=finding, before=before)
    return acceptance


def parse_day(text: str, field: str) -> dt.date:
    """A date given as YYYY-MM-DD, or the error naming the option."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"--{field} {text!r}: give a date as YYYY-MM-DD", field=field) from None


def import_file(
    session: Session,
    policy: Policy,
    data: bytes,
    *,
    source_format: str,
    actor: str,
    scope: str | None = None,
    kev_data: bytes | None = None,
) -> FindingImport:
    """Parse a scanner's file (and CISA's KEV catalogue, when given) and import it: a file
    that does not parse is refused whole, before anything is stored."""
    from changegate.findings import formats
    from changegate.findings.formats import kev as kev_format

    parsed = formats.parse(data, source_format)
    kev = None if kev_data is None else kev_format.parse_kev(kev_data)
    return import_scan(
        session,
        policy,
        parsed,
        source_format=source_format,
        content=data,
        actor=actor,
        scope=scope,
        kev=kev,
        kev_content=kev_data,
    )
