"""Two processes race on the same change, many times, on SQLite and PostgreSQL.

Exactly one deployment and one state transition result each time; the loser gets a clear
refusal; the gate decides on the state it reads under the change's lock, whichever process
got it first; the audit sequence stays dense and the chain verifies.
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
GATE_ROUNDS = 30
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
        self, db_url: str, action: str | tuple[str, str], key: str, actors: tuple[str, str]
    ) -> list[tuple[str, str]]:
        """Both processes act on ``key`` at once: the same action, or one each."""
        actions = (action, action) if isinstance(action, str) else action
        for q, act, actor in zip(self.tasks, actions, actors, strict=True):
            q.put((db_url, act, key, actor))
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


#: what process B does to an approved change, who does it, the event that records it, and the
#: gate requirements it leaves unmet
SPOILERS = {
    "fail-validation": ("ci-bot", "evidence.added", {"staging-validation"}),
    "edit": ("alice", "change.edited", {"lifecycle", "peer-review"}),
}


def gate_events(engine: Engine, key: str) -> list[Any]:
    from changegate.audit.service import timeline

    return [
        e for e in tx(engine, lambda s: timeline(s, change_key=key)) if e.action == "gate.evaluated"
    ]


def recorded_decision(event: Any) -> str:
    """The decision as its audit event records it, in the worker's words."""
    unmet = {u.split(":", 1)[0] for u in event.event["after"]["unmet"]}
    assert event.event["after"]["passed"] is (not unmet)
    return ",".join(sorted(unmet)) or "passed"


@pytest.mark.parametrize("gate_action", ["gate", "gate-unlocked"])
def test_the_gate_decides_on_the_state_read_under_the_lock(
    db_url: str, engine: Engine, racers: Racers, gate_action: str
) -> None:
    """Process A runs the gate for production while process B makes the approved change fail
    it (a failing staging validation, or an edit that sends it back for approval). Whichever
    commits first, the decision recorded is the one the state at its place in the audit order
    implies: after B's event the gate is closed and names what B broke, before it, open.
    ``gate-unlocked``: an entry point that read the change without locking it (a future one
    that forgets): the gate takes the lock itself, so the decision is the same."""
    from changegate.audit.service import timeline

    make_team(engine)
    orders = {"gate first": 0, "spoiler first": 0}
    for i in range(GATE_ROUNDS):
        spoiler = "edit" if i % 2 else "fail-validation"
        actor, spoiled_by, broken = SPOILERS[spoiler]
        key = approved_change(engine)
        outcome = racers.race(db_url, (gate_action, spoiler), key, ("carol", actor))
        assert [o[0] for o in outcome] == ["gate", "ok"], outcome
        decided = outcome[0][1]
        events = tx(engine, lambda s, k=key: timeline(s, change_key=k))
        (gated,) = [e for e in events if e.action == "gate.evaluated"]
        spoiled = [e for e in events if e.action == spoiled_by][-1]  # the latest: B's
        assert recorded_decision(gated) == decided
        if gated.seq > spoiled.seq:
            orders["spoiler first"] += 1
            assert broken <= set(decided.split(",")), (spoiler, decided)
        else:
            orders["gate first"] += 1
            assert decided == "passed", (spoiler, decided)
    print(f"gate vs spoiler on {engine.dialect.name}: {orders}")
    assert_dense_and_verified(engine)


def test_two_processes_gating_the_same_change(db_url: str, engine: Engine, racers: Racers) -> None:
    """Two pipelines ask the gate about one change at once: two decisions recorded, the same
    one (open for an approved, tested change; closed, naming the failing validation, when
    staging failed)."""
    make_team(engine)
    for i in range(GATE_ROUNDS):
        key = approved_change(engine)
        expected = "passed"
        if i % 2:
            tx(
                engine,
                lambda s, k=key: evidence.add_validation(
                    s, P, changes.get_change(s, k), name="staging", result="fail", actor="ci-bot"
                ),
            )
            expected = "staging-validation"
        outcome = racers.race(db_url, "gate", key, ("carol", "dave"))
        assert outcome == [("gate", expected), ("gate", expected)], outcome
        assert [recorded_decision(e) for e in gate_events(engine, key)] == [expected] * 2
    assert_dense_and_verified(engine)
