"""collect_facts reads the columns it needs on the session's connection (not ORM objects): what
the transaction added or changed and has not written yet still counts, as the ORM's autoflush
made it count, on both databases."""

from __future__ import annotations

from sqlalchemy import Engine, select

from changegate.changes.service import get_change
from changegate.changes.status import collect_facts
from changegate.db import session_scope, utcnow
from changegate.evidence.models import Evidence
from changegate.reviews.models import Review
from changegate.scm.models import CommitAuthor
from changegate.users.models import User
from tests.factories import make_change, make_team


def test_unwritten_rows_of_the_transaction_count(engine: Engine) -> None:
    make_team(engine)
    key = make_change(engine)
    with session_scope(engine) as s:
        change = get_change(s, key)
        empty = collect_facts(s, change)
        assert empty.approvals == () and empty.evidence == ()
        assert empty.commit_authors == frozenset()
        now = utcnow()
        s.add(
            Review(
                change_id=change.id,
                reviewer="bob",
                verdict="approve",
                comment="ok",
                content_digest=change.content_digest(),
                roles="engineer",
                created_at=now,
            )
        )
        s.add(
            Evidence(
                change_id=change.id,
                kind="validation",
                name="staging",
                passed=True,
                details="smoke green",
                added_by="ci-bot",
                created_at=now,
                summary={"tests": 3},
                bound_to={"components": ["application"]},
            )
        )
        s.add(
            CommitAuthor(
                change_id=change.id,
                sha="a" * 40,
                role="author",
                login="erin",
                source="git",
                created_at=now,
            )
        )
        bob = s.scalars(select(User).where(User.name == "bob")).one()
        bob.active = False  # deactivated in this transaction: his approval holds no role
        facts = collect_facts(s, change)
    [approval] = facts.approvals
    assert (approval.approver, approval.current, approval.roles) == ("bob", True, frozenset())
    [evidence] = facts.evidence
    assert (evidence.kind, evidence.name, evidence.passed, evidence.actor) == (
        "validation",
        "staging",
        True,
        "ci-bot",
    )
    assert evidence.summary == {"tests": 3}
    assert evidence.bound_to == {"components": ["application"]}
    assert evidence.actor_roles == frozenset({"ci"})
    assert evidence.at == now
    assert facts.commit_authors == frozenset({"erin"})
