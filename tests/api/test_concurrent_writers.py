"""Sixteen writers at once against one server on SQLite: every approval succeeds (none fails on
a busy database), each is recorded once, the audit sequence stays dense and the chain
verifies. Writers queue in the process (db.writer_lock) before SQLite's BEGIN IMMEDIATE."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from changegate.audit.models import AuditEvent
from changegate.audit.verify import verify
from changegate.db import session_scope, writer_lock
from changegate.errors import DatabaseBusy
from changegate.reviews.models import Review
from tests.api.support import database, post_approval, running_org, serving

WRITERS = 16


def test_sixteen_concurrent_approvals_all_land_with_a_dense_sequence(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with database("sqlite", request, tmp_path) as url, running_org(url) as org:
        org.user("engineer", name="alice")
        reviewers = [org.user("engineer", name=f"rev{i}") for i in range(WRITERS)]
        keys = [org.change("alice", "submitted") for _ in range(WRITERS)]
        tokens = {r: org.token(r) for r in reviewers}
        with session_scope(org.engine, write=False) as s:
            before = s.scalar(select(func.max(AuditEvent.seq)))
        statuses: list[int] = []
        start = threading.Barrier(WRITERS)
        with serving(org.app) as base:

            def approve(i: int) -> None:
                start.wait()
                statuses.append(post_approval(base, keys[i], tokens[reviewers[i]]))

            threads = [threading.Thread(target=approve, args=(i,)) for i in range(WRITERS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        assert statuses == [201] * WRITERS
        with session_scope(org.engine, write=False) as s:
            seqs = list(s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
            assert seqs == list(range(1, len(seqs) + 1))  # dense, no gap, no duplicate
            assert len(seqs) - seqs.index(before) - 1 >= WRITERS  # every approval recorded
            assert s.scalar(select(func.count()).select_from(Review)) == WRITERS
            report = verify(s)
            assert report.ok, report.problems


def test_a_writer_waits_in_the_queue_then_gives_up_with_a_clear_error(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that cannot get its turn (another held the database too long) is refused with
    DatabaseBusy naming what to do, and writes nothing; the lock is not owned by a thread, so
    a transaction opened on one thread may commit on another (as FastAPI does)."""
    import changegate.db as db

    with database("sqlite", request, tmp_path) as url, running_org(url) as org:
        monkeypatch.setattr(db, "WRITER_WAIT_SECONDS", 0.2)
        held = writer_lock(org.engine)
        held.__enter__()
        try:
            with pytest.raises(DatabaseBusy, match="try again"), session_scope(org.engine):
                pytest.fail("the second writer must not begin")
        finally:
            done = threading.Thread(target=held.__exit__, args=(None, None, None))
            done.start()  # released from another thread, as FastAPI may
            done.join()
        with session_scope(org.engine) as s:  # the queue is free again
            assert s.scalar(select(func.count()).select_from(AuditEvent)) is not None
