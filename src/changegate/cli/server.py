"""`changegate serve` and `changegate demo`: they run here whatever CHANGEGATE_URL says (the
server is this machine; the demo builds its own database), so they have no remote side."""

from __future__ import annotations

import sys
from typing import Any

import click

from changegate.cli.core import Run, command, line


@command(None, "serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8000, show_default=True, help="TCP port.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (uvicorn).",
)
@click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default="json",
    show_default=True,
    help="Server logs on stderr: one JSON line per request and per alert delivery, or text.",
)
def serve(run: Run, host: str, port: int, workers: int, log_format: str) -> None:
    """Run the server: web UI at /, JSON API under /api, docs at /docs, /healthz, /metrics.

    A fresh database is created and the policy loaded. The secret key comes from
    CHANGEGATE_SECRET_KEY, or is generated once and kept in the data directory. When nobody
    has a password yet, user `admin` gets a random one, printed once. With a signing key in
    CHANGEGATE_AUDIT_KEY_FILE (mode 0600; or its text in CHANGEGATE_AUDIT_KEY) the server signs
    checkpoints of the audit log as the policy's `audit_checkpoints` says; a key file that is
    missing or readable by others stops the start.

    Example: changegate serve --host 0.0.0.0 --port 8000 --workers 2
    """
    from changegate.cli.local.server import LocalServer

    server = LocalServer(run.opts)
    out = server.prepare(f"http://{host}:{port}", workers)

    def human() -> None:
        line(f"changegate serving {out['url']}  (web UI /, API /api, docs /docs)")
        line(f"  database {out['db']}" + (" (created)" if out["database_created"] else ""))
        line(f"  policy {out['policy']}; secret key from {out['secret_key']}")
        cp = out["checkpoints"]
        line(
            f"  audit checkpoints signed every {cp['every_events']} events or "
            f"{cp['every_minutes']} minutes by {cp['vkey']} (key from {cp['key_from']})"
            if cp["enabled"]
            else f"  audit checkpoints: not signed automatically ({cp['why']})"
        )
        if out["bootstrap_password"]:
            line(
                f"  first start: log in as admin with password {out['bootstrap_password']}\n"
                "  (shown once; change it with `changegate user set-password admin`)"
            )

    run.emit(out, human)
    sys.stdout.flush()
    server.run(host, port, workers, log_format)


@command(None, "demo", db_default="a fresh temporary SQLite file")
def demo(run: Run) -> int:
    """Run the whole flow on a fresh database: a normal change, an emergency change, and a system
    prompt change blocked until the CTO signs off; print each timeline.

    Example: changegate demo
    """
    from changegate.demo import run_demo

    result: dict[str, Any] = run_demo(
        db_url=run.opts.db, policy_path=run.opts.policy, verbose=not run.json
    )
    run.emit(result, lambda: None)
    return 0 if result["ok"] else 1
