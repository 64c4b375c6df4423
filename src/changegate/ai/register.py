"""The LLM provider register and its DPAs (policy §10.2) as the CLI, the API and the web page
read and write it, as the JSON-shaped answers the CLI prints with ``--json`` (a provider is
added with :func:`changegate.ai.providers.add_provider`, where the rules are). Flushes,
never commits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from changegate.ai import providers

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


def record_dpa(
    session: Session,
    policy: Policy,
    name: str,
    *,
    status: str,
    actor: str,
    signed: str | None = None,
    expires: str | None = None,
    content: bytes | None = None,
    filename: str | None = None,
    notes: str | None = None,
) -> dict[str, Any]:
    """Record a provider's DPA (dates as YYYY-MM-DD); the answer carries where it now stands."""
    from changegate.db import utcnow

    signed_on = providers.parse_day(signed, "signed")
    expires_on = providers.parse_day(expires, "expires")
    p = providers.record_dpa(
        session,
        policy,
        providers.get_provider(session, name, lock=True),
        status=status,
        actor=actor,
        signed_on=signed_on,
        expires_on=expires_on,
        content=content,
        filename=filename,
        notes=notes,
    )
    state = providers.dpa_state(
        p, p.name, today=utcnow().date(), warning_days=policy.ai.dpa_warning_days
    )
    return p.audit_state() | {"dpa": state.to_dict()}


def listing(session: Session, policy: Policy) -> dict[str, Any]:
    """Every provider with its DPA state; the expired and soon-expiring ones flagged."""
    names = {p.name: p.display_name for p in providers.list_providers(session)}
    states = [st.to_dict() for st in providers.provider_states(session, policy)]
    rows = [st | {"display_name": names.get(st["provider"], "")} for st in states]
    flagged = [r for r in rows if r["state"] != "valid"]
    return {"providers": rows, "flagged": flagged, "warning_days": policy.ai.dpa_warning_days}
