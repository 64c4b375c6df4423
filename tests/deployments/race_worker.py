"""A worker process for the concurrency tests: waits at a barrier, then runs one service call in
its own transaction, exactly as a separate `changegate` process would."""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any


def _act(s: Any, policy: Any, change: Any, action: str, actor: str) -> tuple[str, str]:
    """One action on the locked change, as its entry point calls it; what it decided."""
    if action == "deploy":
        from changegate.deployments.service import deploy

        res = deploy(s, policy, change, env="production", version="v1", actor=actor)
        verdict = "already-recorded" if res.already_recorded else "ok"
        return (verdict if res.deployment else "gate-closed", change.state)
    if action == "approve":
        from changegate.reviews.service import approve

        approve(s, policy, change, actor=actor)
        return ("ok", change.state)
    if action == "gate":  # `changegate gate --env production`: "passed" or the unmet rule ids
        from changegate.deployments.service import gate

        res = gate(s, policy, change, env="production", deployer=actor)
        return ("gate", ",".join(sorted({r.rule_id for r in res.unmet})) or "passed")
    if action == "fail-validation":  # the pipeline reports staging failing after all
        from changegate.evidence.service import add_validation

        add_validation(s, policy, change, name="staging", result="fail", actor=actor)
        return ("ok", change.state)
    if action == "edit":  # the author edits the approved change: back to submitted
        from changegate.changes.schemas import ChangeUpdate
        from changegate.changes.service import edit_change

        edit = ChangeUpdate(description=f"{change.description} Edited.")
        edit_change(s, policy, change, edit, actor=actor)
        return ("ok", change.state)
    raise AssertionError(f"unknown race action {action!r}")


def serve(
    tasks: Queue[Any], results: Queue[Any], barrier: Barrier, policy_path: str | None
) -> None:
    from changegate.changes.service import get_change
    from changegate.db import make_engine, session_scope
    from changegate.errors import ChangegateError
    from changegate.policy.loader import load_policy

    policy = load_policy(policy_path).policy
    engines: dict[str, Any] = {}
    while True:
        task = tasks.get()
        if task is None:
            break
        db_url, action, key, actor = task
        engine = engines.setdefault(db_url, make_engine(db_url))
        barrier.wait()
        try:
            with session_scope(engine) as s:
                # "-unlocked": read the change as an entry point that forgot to lock it would
                locked = not action.endswith("-unlocked")
                change = get_change(s, key, lock=locked)
                outcome = _act(s, policy, change, action.removesuffix("-unlocked"), actor)
            results.put(outcome)
        except ChangegateError as exc:
            results.put(("refused", exc.message))
        except Exception as exc:  # surfaced to the test as a failure
            results.put(("crash", f"{type(exc).__name__}: {exc}"))
    for engine in engines.values():
        engine.dispose()
