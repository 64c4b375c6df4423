"""Who may act on a change someone else wrote (changes.permissions), enforced by the services
whatever the entry point, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from changegate.changes import service as changes
from changegate.errors import PolicyDenied
from changegate.reviews import service as reviews
from tests.factories import DEFAULT, make_change, make_team, tx

P = DEFAULT.policy


def rejected(engine: Engine) -> str:
    key = make_change(engine)
    tx(engine, lambda s: changes.submit_change(s, P, changes.get_change(s, key), actor="alice"))
    tx(
        engine,
        lambda s: reviews.reject(
            s, P, changes.get_change(s, key, lock=True), actor="bob", comment="split it"
        ),
    )
    return key


def close(engine: Engine, key: str, who: str) -> str:
    return tx(
        engine,
        lambda s: (
            changes.close_change(s, P, changes.get_change(s, key, lock=True), actor=who).state
        ),
    )


def test_only_the_author_or_a_close_any_holder_closes_a_change(engine: Engine) -> None:
    """Found: the API refused bob closing alice's change, but the service (the local CLI) let
    him; the check lived in the API route only."""
    make_team(engine)
    key = rejected(engine)
    with pytest.raises(PolicyDenied, match=r"bob may not close CHG-1 .*change\.close_any"):
        close(engine, key, "bob")  # an engineer, not the author
    assert close(engine, key, "alice") == "closed"
    other = rejected(engine)
    assert close(engine, other, "carol") == "closed"  # a deployer holds change.close_any


def test_editing_someone_elses_change_needs_edit_any(engine: Engine) -> None:
    from changegate.changes.schemas import ChangeUpdate

    make_team(engine)
    key = make_change(engine)
    with pytest.raises(PolicyDenied, match=r"bob may not edit CHG-1 .*change\.edit_any"):
        tx(
            engine,
            lambda s: changes.edit_change(
                s, P, changes.get_change(s, key, lock=True), ChangeUpdate(title="x"), actor="bob"
            ),
        )
