"""``app_from_env``, what ``uvicorn --factory`` (and so ``changegate serve``) calls in each
worker process: the objects startup made are frozen out of the cyclic garbage collector's
reach, so a full collection does not scan them all again while requests wait."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from changegate.db import make_engine
from changegate.migrate import upgrade

PROBE = (
    "import gc\n"
    "from changegate.api.app import app_from_env\n"
    "before = gc.get_freeze_count()\n"
    "app = app_from_env()\n"
    "print(before, gc.get_freeze_count(), len(app.routes))\n"
)


def test_a_worker_freezes_what_startup_made(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cg.db'}"
    engine = make_engine(db)
    upgrade(engine)
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANGEGATE_")} | {
        "CHANGEGATE_DB": db,
        "CHANGEGATE_SECRET_KEY": "factory-" + "k" * 40,
        "CHANGEGATE_DATA_DIR": str(tmp_path),
        "CHANGEGATE_ALERT_WORKER": "0",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    before, frozen, routes = map(int, out.stdout.split())
    assert before == 0
    assert routes > 50  # the whole app was built before the freeze
    assert frozen > 100_000  # the modules, routes, mappers and schemas it holds
