"""The two writes an approval makes without the ORM's unit of work, on both databases:
``db.insert_now`` (the review) and ``changes.service.transition`` (the state): what they write
is what a flush would have written, the session knows it, and nothing is written twice."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, func, select

from changegate.audit.models import AuditEvent
from changegate.changes.service import get_change, transition
from changegate.db import insert_now, session_scope, utcnow
from changegate.errors import IntegrityFailure
from changegate.reviews.models import Review
from tests.factories import make_change, make_team


def _review(change_id: int, **overrides: object) -> Review:
    fields: dict[str, object] = {
        "change_id": change_id,
        "reviewer": "bob",
        "verdict": "approve",
        "comment": "looks right",
        "content_digest": "d" * 64,
        "roles": "engineer",
        "created_at": utcnow(),
    } | overrides
    return Review(**fields)


def test_insert_now_writes_once_and_the_session_holds_the_row(engine: Engine) -> None:
    make_team(engine)
    key = make_change(engine)
    with session_scope(engine) as s:
        change = get_change(s, key)
        review = _review(change.id)
        insert_now(s, review)
        assert review.id is not None
        assert review in s and not s.new and not s.dirty  # persistent: no INSERT at the flush
        assert s.get(Review, review.id) is review
        s.flush()
    with session_scope(engine, write=False) as s:
        [stored] = s.scalars(select(Review)).all()
        assert (stored.id, stored.reviewer, stored.comment, stored.roles) == (
            review.id,
            "bob",
            "looks right",
            "engineer",
        )
        assert stored.created_at == review.created_at


def test_insert_now_refuses_what_it_cannot_write_whole(engine: Engine) -> None:
    make_team(engine)
    key = make_change(engine)
    with session_scope(engine) as s:
        change = get_change(s, key)
        unset = Review(change_id=change.id, reviewer="bob", verdict="approve", content_digest="d")
        with pytest.raises(ValueError, match=r"Review\.comment is not set"):
            insert_now(s, unset)
        with pytest.raises(ValueError, match="new row"):
            insert_now(s, change)  # already in the database
    with session_scope(engine, write=False) as s:
        assert s.scalar(select(func.count()).select_from(Review)) == 0


def test_transition_writes_the_state_with_the_sessions_own_changes(engine: Engine) -> None:
    """An edit the session holds unwritten lands with the state change, the object shows
    both without a reload, and the audit event records both."""
    make_team(engine)
    key = make_change(engine)
    with session_scope(engine) as s:
        change = get_change(s, key)
        change.title = "Round tax per invoice"  # not flushed yet
        transition(s, change, "submitted", actor="alice", reason="ready")
        assert change.state == "submitted" and not s.dirty
        event = json.loads(
            s.scalars(select(AuditEvent.data).order_by(AuditEvent.seq.desc()).limit(1)).one()
        )
    assert event["action"] == "change.state_changed"
    assert event["after"]["state"] == "submitted"
    assert event["after"]["title"] == "Round tax per invoice"
    with session_scope(engine, write=False) as s:
        stored = get_change(s, key)
        assert (stored.state, stored.title) == ("submitted", "Round tax per invoice")
        assert stored.updated_at == change.updated_at


def test_transition_of_a_change_without_its_row_fails_closed(engine: Engine) -> None:
    """A change object whose row the UPDATE does not find (here, one pointing at no row):
    refused, nothing recorded, rather than an event describing a state never written."""
    make_team(engine)
    key = make_change(engine)
    with session_scope(engine) as s:
        ghost = get_change(s, key)
        s.expunge(ghost)
        ghost.id = 10**6
        before = s.scalar(select(func.count()).select_from(AuditEvent))
        with pytest.raises(IntegrityFailure, match="its row is gone"):
            transition(s, ghost, "submitted", actor="alice")
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == before
        s.rollback()
