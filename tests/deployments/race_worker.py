"""A worker process for the concurrency tests: waits at a barrier, then runs one service call in
its own transaction, exactly as a separate `changegate` process would."""

from __future__ import annotations

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any


def serve(
    tasks: Queue[Any], results: Queue[Any], barrier: Barrier, policy_path: str | None
) -> None:
    from changegate.changes.service import get_change
    from changegate.db import make_engine, session_scope
    from changegate.deployments.service import deploy
    from changegate.errors import ChangegateError
    from changegate.policy.loader import load_policy
    from changegate.reviews.service import approve

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
                change = get_change(s, key, lock=True)
                if action == "deploy":
                    res = deploy(s, policy, change, env="production", version="v1", actor=actor)
                    verdict = "already-recorded" if res.already_recorded else "ok"
                    outcome = (verdict if res.deployment else "gate-closed", change.state)
                else:
                    approve(s, policy, change, actor=actor)
                    outcome = ("ok", change.state)
            results.put(outcome)
        except ChangegateError as exc:
            results.put(("refused", exc.message))
        except Exception as exc:  # surfaced to the test as a failure
            results.put(("crash", f"{type(exc).__name__}: {exc}"))
    for engine in engines.values():
        engine.dispose()
