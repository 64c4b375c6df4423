"""Who may act on a change someone else wrote: its author always; anyone else only with the
policy's grant for that action. The services enforce it; the web pages ask it to decide which
buttons to offer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from changegate.errors import PolicyDenied
from changegate.policy import service as policy_service

if TYPE_CHECKING:
    from changegate.changes.models import Change
    from changegate.policy.schema import Policy
    from changegate.users.models import User

#: the permission that lets a user do this to a change authored by someone else
GRANT_FOR_OTHERS = {
    "edit": "change.edit_any",
    "submit": "change.edit_any",
    "close": "change.close_any",
}


def refusal(policy: Policy, change: Change, user: User, action: str) -> PolicyDenied | None:
    """Why ``user`` may not ``action`` ``change``, or None when they may."""
    if user.name == change.author:
        return None
    try:
        policy_service.require(
            policy,
            user,
            GRANT_FOR_OTHERS[action],
            doing=f"{action} {change.key} (authored by {change.author})",
        )
    except PolicyDenied as exc:
        return exc
    return None


def require(policy: Policy, change: Change, user: User, action: str) -> None:
    """Raise :func:`refusal`'s answer, if any."""
    denied = refusal(policy, change, user, action)
    if denied is not None:
        raise denied
