"""The change lifecycle as data: which transitions exist. Pure."""

from __future__ import annotations

from changegate.errors import Conflict

STATES = ("draft", "submitted", "approved", "rejected", "deployed", "rolled_back", "closed")

#: action -> {from state: to state}
TRANSITIONS: dict[str, dict[str, str]] = {
    "edit": {
        "draft": "draft",
        "submitted": "submitted",
        "approved": "submitted",
        "rejected": "draft",
    },
    "submit": {"draft": "submitted"},
    "approve": {"submitted": "approved"},
    "reject": {"submitted": "rejected", "approved": "rejected"},
    "deploy": {
        "approved": "deployed",
        "submitted": "deployed",
        "deployed": "deployed",
        "rolled_back": "deployed",
    },
    "rollback": {"deployed": "rolled_back"},
    "close": {"deployed": "closed", "rolled_back": "closed", "rejected": "closed"},
}

HINTS = {
    "draft": "submit it first with `changegate change submit`",
    "submitted": "it is waiting for approval",
    "approved": "it is approved and waiting for deployment",
    "rejected": "edit it to reopen it as a draft",
    "deployed": "it is deployed; roll back or close it",
    "rolled_back": "it was rolled back; close it or deploy again",
    "closed": "it is closed; open a new change",
}


def next_state(action: str, state: str, change_key: str = "the change") -> str:
    target = TRANSITIONS[action].get(state)
    if target is None:
        allowed = ", ".join(TRANSITIONS[action]) or "no state"
        raise Conflict(
            f"cannot {action} {change_key} in state {state} ({HINTS.get(state, '')}); "
            f"{action} is allowed from: {allowed}",
            field="state",
        )
    return target
