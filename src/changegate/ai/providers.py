"""The LLM provider register and its Data Processing Agreements (policy §10.2).

Each provider (OpenAI, Anthropic, Google, ...) carries the DPA currently on file: status,
signed date, expiry and the signed document, stored by SHA-256 like evidence. The ``dpa``
requirement kind (registered in :mod:`changegate.policy.hooks`) refuses a change that adds or
modifies a provider relationship while any of its providers' DPA is missing or expired;
:func:`expiring_dpas` is what dashboards show so DPAs are renewed before that happens.
Like every service, these functions flush and never commit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.ai.models import DPA_STATUSES, AiProvider
from changegate.audit import events
from changegate.audit.service import record
from changegate.db import utcnow
from changegate.errors import Conflict, InvalidInput, NotFound
from changegate.evidence import service as evidence
from changegate.policy import service as policy_service
from changegate.users.service import get_user

if TYPE_CHECKING:
    from changegate.policy.engine import ChangeFacts
    from changegate.policy.schema import Policy, Rule

_PROVIDER = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


def provider_key(name: str, *, field: str = "name") -> str:
    """Providers are matched case-insensitively: ``OpenAI`` on a change is ``openai``."""
    key = name.strip().lower()
    if not _PROVIDER.match(key):
        raise InvalidInput(
            f"provider {name!r}: use the provider id as in LiteLLM model strings "
            "(letters, digits, '.', '_' or '-', e.g. openai, anthropic, vertex_ai)",
            field=field,
        )
    return key


def _manager(session: Session, policy: Policy, actor: str, doing: str) -> str:
    user = get_user(session, actor)
    policy_service.require(policy, user, "ai.provider.manage", doing=doing)
    return user.name


def get_provider(session: Session, name: str, *, lock: bool = False) -> AiProvider:
    key = provider_key(name)
    stmt = select(AiProvider).where(AiProvider.name == key)
    if lock:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt)
    if found is None:
        raise NotFound(
            f"unknown provider {key!r}: add it with `changegate ai provider add {key}`",
            field="name",
        )
    return found


def list_providers(session: Session) -> list[AiProvider]:
    return list(session.scalars(select(AiProvider).order_by(AiProvider.name)))


def add_provider(
    session: Session,
    policy: Policy,
    *,
    name: str,
    actor: str | None,
    display_name: str = "",
    notes: str = "",
) -> AiProvider:
    """Register a provider; its DPA starts as ``none``, so the gate refuses changes naming it.

    Registering grants nothing, so like ``user add`` it may run without a named actor
    (recorded as ``system``) while setting up; a named actor needs ``ai.provider.manage``.
    Recording a DPA always needs a named actor with that permission.
    """
    key = provider_key(name)
    who = (
        "system"
        if actor is None
        else _manager(session, policy, actor, "manage the LLM provider register")
    )
    if session.scalar(select(AiProvider).where(AiProvider.name == key)) is not None:
        raise Conflict(
            f"provider {key} is already registered; record its DPA with "
            f"`changegate ai provider dpa {key} ...`",
            field="name",
        )
    now = utcnow()
    provider = AiProvider(
        name=key,
        display_name=display_name.strip() or name.strip(),
        notes=notes,
        dpa_status="none",
        created_by=who,
        created_at=now,
        updated_by=who,
        updated_at=now,
    )
    session.add(provider)
    record(session, events.AiProviderAdded, actor=who, after=provider)
    return provider


def parse_day(value: str | None, field: str) -> dt.date | None:
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(
            f"--{field} {value!r} is not a date; use YYYY-MM-DD, e.g. 2026-01-10", field=field
        ) from exc


def record_dpa(
    session: Session,
    policy: Policy,
    provider: AiProvider,
    *,
    status: str,
    actor: str,
    signed_on: dt.date | None = None,
    expires_on: dt.date | None = None,
    content: bytes | None = None,
    filename: str | None = None,
    notes: str | None = None,
) -> AiProvider:
    """Record the provider's current DPA. A signed DPA needs both dates and the document,
    which is stored by SHA-256 like any evidence file; the previous state stays in the log."""
    if status not in DPA_STATUSES:
        raise InvalidInput(
            f"--status {status!r}: use one of {', '.join(DPA_STATUSES)}", field="status"
        )
    if status == "signed":
        missing = [
            opt
            for opt, value in (
                ("--signed DATE", signed_on),
                ("--expires DATE", expires_on),
                ("--document FILE", content),
            )
            if not value
        ]
        if missing:
            raise InvalidInput(
                f"a signed DPA needs {', '.join(missing)}: the dates and the signed document "
                "are what an auditor checks",
                field=missing[0].split()[0].lstrip("-"),
            )
    if signed_on and expires_on and expires_on <= signed_on:
        raise InvalidInput(
            f"--expires {expires_on} is not after --signed {signed_on}", field="expires"
        )
    if content is not None and not content:
        raise InvalidInput(f"--document {filename}: the file is empty", field="document")
    who = _manager(session, policy, actor, "record Data Processing Agreements")
    blob = evidence.store_blob(session, content, actor=who) if content else None
    before = provider.audit_state()
    provider.dpa_status = status
    provider.dpa_signed_on = signed_on
    provider.dpa_expires_on = expires_on
    if blob is not None:
        provider.dpa_sha256 = blob.sha256
        provider.dpa_filename = filename
    elif status in ("none", "terminated"):
        provider.dpa_sha256 = provider.dpa_filename = None
    if notes is not None:
        provider.notes = notes
    provider.updated_by = who
    provider.updated_at = utcnow()
    record(session, events.AiProviderDpaRecorded, actor=who, before=before, after=provider)
    return provider


@dataclass(frozen=True)
class DpaState:
    """Where a provider's DPA stands on a given day.

    ``state`` is ``valid``, ``expiring`` (valid, expires within the warning window),
    ``expired``, ``missing`` (no DPA or not registered), ``pending`` or ``terminated``.
    """

    provider: str
    registered: bool
    state: str
    dpa_status: str
    signed_on: dt.date | None
    expires_on: dt.date | None
    days_left: int | None
    document_sha256: str | None
    reason: str

    @property
    def valid(self) -> bool:
        return self.state in ("valid", "expiring")

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "registered": self.registered,
            "state": self.state,
            "valid": self.valid,
            "dpa_status": self.dpa_status,
            "signed_on": None if self.signed_on is None else self.signed_on.isoformat(),
            "expires_on": None if self.expires_on is None else self.expires_on.isoformat(),
            "days_left": self.days_left,
            "document_sha256": self.document_sha256,
            "reason": self.reason,
        }


def _days(n: int) -> str:
    return f"{n} day" + ("" if n == 1 else "s")


def dpa_state(
    provider: AiProvider | None,
    name: str,
    *,
    today: dt.date,
    warning_days: int | None = None,
) -> DpaState:
    """Judge one provider's DPA; ``None`` means the provider is not in the register."""
    key = name.strip().lower()
    if provider is None:
        return DpaState(
            key,
            False,
            "missing",
            "none",
            None,
            None,
            None,
            None,
            f"provider {key}: DPA missing (not in the provider register; "
            f"`changegate ai provider add {key}`, then `changegate ai provider dpa {key} ...`)",
        )

    def state(kind: str, reason: str, days_left: int | None = None) -> DpaState:
        return DpaState(
            provider.name,
            True,
            kind,
            provider.dpa_status,
            provider.dpa_signed_on,
            provider.dpa_expires_on,
            days_left,
            provider.dpa_sha256,
            f"provider {provider.name}: {reason}",
        )

    if provider.dpa_status == "none":
        return state("missing", "DPA missing")
    if provider.dpa_status == "pending":
        return state("pending", "DPA pending, not signed")
    if provider.dpa_status == "terminated":
        return state("terminated", "DPA terminated")
    expires = provider.dpa_expires_on
    if expires is None:  # a signed DPA is always recorded with its expiry; fail closed
        return state("missing", "DPA signed but its expiry date is not recorded")
    left = (expires - today).days
    if left < 0:
        return state("expired", f"DPA expired {expires.isoformat()}", left)
    when = "today" if left == 0 else f"in {_days(left)}"
    signed = f"; signed {provider.dpa_signed_on.isoformat()}" if provider.dpa_signed_on else ""
    reason = f"DPA expires {when} ({expires.isoformat()}{signed})"
    if warning_days is not None and left <= warning_days:
        return state("expiring", reason, left)
    return state("valid", reason, left)


def _today() -> dt.date:
    return utcnow().date()


def provider_states(
    session: Session, policy: Policy, *, today: dt.date | None = None
) -> list[DpaState]:
    """Every registered provider's DPA state, flagged against ``ai.dpa_warning_days``."""
    day = today or _today()
    warn = policy.ai.dpa_warning_days
    return [dpa_state(p, p.name, today=day, warning_days=warn) for p in list_providers(session)]


def expiring_dpas(
    session: Session, policy: Policy, *, today: dt.date | None = None
) -> list[DpaState]:
    """Signed DPAs that expire within the policy's ``ai.dpa_warning_days`` or have expired,
    soonest first: what a dashboard shows so DPAs are renewed before the gate refuses."""
    states = [
        s
        for s in provider_states(session, policy, today=today)
        if s.state in ("expiring", "expired")
    ]
    return sorted(states, key=lambda s: (s.days_left if s.days_left is not None else 0, s.provider))


def providers_dpa(
    session: Session, names: Sequence[str], *, today: dt.date | None = None
) -> list[DpaState]:
    """The DPA state of each named provider (registered or not), in the order given."""
    keys = list(dict.fromkeys(n.strip().lower() for n in names if n.strip()))
    rows = (
        {p.name: p for p in session.scalars(select(AiProvider).where(AiProvider.name.in_(keys)))}
        if keys
        else {}
    )
    day = today or _today()
    return [dpa_state(rows.get(k), k, today=day) for k in keys]


def dpa_hook(session: Session) -> Callable[[Rule, ChangeFacts], tuple[bool, str]]:
    """The ``dpa`` requirement kind: every provider on the change has a signed, unexpired DPA.

    Registered in :data:`changegate.policy.hooks.REQUIREMENT_HOOKS`. The reason names each
    provider ("provider anthropic: DPA expired 2026-10-01", "provider openai: DPA expires in
    12 days (...)"), so expiring agreements show in ``changegate status`` before they block.
    """

    def evaluate(rule: Rule, facts: ChangeFacts) -> tuple[bool, str]:
        if not facts.providers:
            return False, (
                "provider DPA: no providers listed on the change; add them with "
                f"`changegate change edit {facts.id} --provider NAME`"
            )
        states = providers_dpa(session, facts.providers)
        return all(s.valid for s in states), "; ".join(s.reason for s in states)

    return evaluate
