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
    signed: str | None = None,
    expires: str | None = None,
    **dpa: Any,
) -> dict[str, Any]:
    """Record a provider's DPA (dates as YYYY-MM-DD); the answer carries where it now stands.
    ``dpa`` is the rest of :func:`changegate.ai.providers.record_dpa`'s keyword arguments
    (``status``, ``actor``, ``content``, ``filename``, ``notes``)."""
    from changegate.db import utcnow

    dates: dict[str, Any] = {
        "signed_on": providers.parse_day(signed, "signed"),
        "expires_on": providers.parse_day(expires, "expires"),
    }
    provider = providers.get_provider(session, name, lock=True)
    p = providers.record_dpa(session, policy, provider, **dates, **dpa)
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
