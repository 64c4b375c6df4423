"""Two processes race on the same change, a hundred times, on SQLite and PostgreSQL.

Exactly one deployment and one state transition result each time; the loser gets a clear
refusal; the audit sequence stays dense and the chain verifies.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, func, select

from changegate.audit.models import AuditEvent
from changegate.audit.verify import verify
from changegate.changes import service as changes
from changegate.deployments.models import Deployment
from changegate.evidence import service as evidence
from changegate.policy.loader import default_policy_text, load_policy
from changegate.reviews import service as reviews
from tests.deployments import race_worker
from tests.factories import DEFAULT, JUNIT_PASS, make_change, make_team, tx

ROUNDS = 100
P = DEFAULT.policy


class Racers:
    def __init__(self, policy_path: str | None) -> None:
        ctx = mp.get_context("spawn")
        self.tasks: list[Any] = [ctx.Queue(), ctx.Queue()]
        self.results: Any = ctx.Queue()
        self.barrier = ctx.Barrier(2)
        self.procs = [
            ctx.Process(target=race_worker.serve, args=(q, self.results, self.barrier, policy_path))
            for q in self.tasks
        ]
        for p in self.procs:
            p.start()

    def race(
        self, db_url: str, action: str, key: str, actors: tuple[str, str]
    ) -> list[tuple[str, str]]:
        for q, actor in zip(self.tasks, actors, strict=True):
            q.put((db_url, action, key, actor))
        return sorted([self.results.get(timeout=120), self.results.get(timeout=120)])

    def close(self) -> None:
        for q in self.tasks:
            q.put(None)
        for p in self.procs:
            p.join(timeout=30)


@pytest.fixture
def racers() -> Iterator[Racers]:
    r = Racers(None)
    yield r
    r.close()


@pytest.fixture
def two_approval_policy(tmp_path: Path) -> str:
    data = yaml.safe_load(default_policy_text())
    next(r for r in data["rules"] if r["id"] == "peer-review")["require"]["count"] = 2
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return str(path)


def approved_change(engine: Engine) -> str:
    key = make_change(engine)
    tx(engine, lambda s: changes.submit_change(s, P, changes.get_change(s, key), actor="alice"))
    tx(engine, lambda s: reviews.approve(s, P, changes.get_change(s, key), actor="bob"))
    tx(
        engine,
        lambda s: evidence.add_junit(
            s, P, changes.get_change(s, key), content=JUNIT_PASS, filename="j.xml", actor="ci-bot"
        ),
    )
    tx(
        engine,
        lambda s: evidence.add_validation(
            s, P, changes.get_change(s, key), name="staging", result="pass", actor="ci-bot"
        ),
    )
    return key


def assert_dense_and_verified(engine: Engine) -> None:
    with engine.connect() as conn:
        n, lo, hi = conn.execute(
            select(func.count(), func.min(AuditEvent.seq), func.max(AuditEvent.seq))
        ).one()
    assert (lo, hi) == (1, n)
    report = tx(engine, verify)
    assert report.ok, report.problems[:3]


def transitions(engine: Engine, key: str, to: str) -> int:
    from changegate.audit.service import timeline

    return sum(
        1
        for e in tx(engine, lambda s: timeline(s, change_key=key))
        if e.action == "change.state_changed" and e.event["after"]["state"] == to
    )


def test_two_processes_deploying_the_same_change(
    db_url: str, engine: Engine, racers: Racers
) -> None:
    make_team(engine)
    for _ in range(ROUNDS):
        key = approved_change(engine)
        outcome = racers.race(db_url, "deploy", key, ("carol", "dave"))
        # one records; the other deploy of the same version is its re-run: recognised, and
        # nothing recorded twice (issue 16)
        assert sorted(outcome) == [("already-recorded", "deployed"), ("ok", "deployed")], outcome
        with engine.connect() as conn:
            cid = changes.parse_key(key)
            assert (
                conn.execute(
                    select(func.count()).select_from(Deployment).where(Deployment.change_id == cid)
                ).scalar_one()
                == 1
            )
        assert transitions(engine, key, "deployed") == 1
    assert_dense_and_verified(engine)


def test_two_approvals_of_a_change_that_needs_two(
    db_url: str, engine: Engine, two_approval_policy: str
) -> None:
    policy = load_policy(two_approval_policy)
    make_team(engine, policy)
    r = Racers(two_approval_policy)
    try:
        for i in range(ROUNDS):
            key = make_change(engine, policy)
            tx(
                engine,
                lambda s, k=key: changes.submit_change(
                    s, policy.policy, changes.get_change(s, k), actor="alice"
                ),
                policy,
            )
            if i % 2 == 0:  # two different reviewers: both count, one transition to approved
                outcome = r.race(db_url, "approve", key, ("bob", "erin"))
                assert [o[0] for o in outcome] == ["ok", "ok"], outcome
                assert {o[1] for o in outcome} == {"submitted", "approved"}
            else:  # the same reviewer twice: one approval, the loser refused
                outcome = r.race(db_url, "approve", key, ("bob", "bob"))
                assert outcome[0][0] == "ok" and outcome[1][0] == "refused", outcome
                assert "already approved" in outcome[1][1]
            assert transitions(engine, key, "approved") == (1 if i % 2 == 0 else 0)
    finally:
        r.close()
    assert_dense_and_verified(engine)
