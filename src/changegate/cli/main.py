"""Entry point of the `changegate` command: one Click group that imports only the module of the
command that runs (see docs/architecture.md for where a new command goes)."""

from __future__ import annotations

import sys

from changegate.cli.core import CONTEXT, LazyGroup

#: every top-level command or group -> where it is declared ("module:attribute")
COMMANDS: dict[str, str] = {
    "change": "changegate.cli.changes:change",
    "status": "changegate.cli.changes:status",
    "approve": "changegate.cli.reviews:approve",
    "reject": "changegate.cli.reviews:reject",
    "evidence": "changegate.cli.evidence:evidence",
    "policy": "changegate.cli.policy:policy",
    "classify": "changegate.cli.git:classify",
    "init": "changegate.cli.setup:init",
    "user": "changegate.cli.users:user",
    "token": "changegate.cli.users:token",
    "gate": "changegate.cli.pipeline:gate",
    "deploy": "changegate.cli.pipeline:deploy",
    "rollback": "changegate.cli.pipeline:rollback",
    "history": "changegate.cli.pipeline:history",
    "review-emergency": "changegate.cli.incidents:review_emergency",
    "overdue": "changegate.cli.incidents:overdue",
    "audit": "changegate.cli.audit:audit",
    "alerts": "changegate.cli.alerts:alerts",
    "serve": "changegate.cli.server:serve",
    "demo": "changegate.cli.server:demo",
    "ai": "changegate.cli.ai:ai",
    "dora": "changegate.cli.dora:dora_metrics",
    "obligations": "changegate.cli.obligations:obligations",
    "findings": "changegate.cli.findings:findings",
    "backup": "changegate.cli.backup:backup",
    "restore": "changegate.cli.backup:restore",
    "access": "changegate.cli.access:access",
}

HELP = (
    "Change management policy as code: change records, approvals with segregation of duties, "
    "a deploy gate and a tamper-evident audit log.\n\nExample: changegate demo"
)

cli = LazyGroup(
    "changegate", help=HELP, lazy=COMMANDS, no_args_is_help=True, context_settings=CONTEXT
)


def run() -> None:
    """Run one command and exit.

    The process ends right after, so the final garbage collection is spared: `gc.freeze()`
    moves every object out of the collector's reach (reference counting still frees them; the
    database engines are closed explicitly first). For `gate`, the pipeline's hot path, cycle
    collection is off for the whole short run (bench/gate_latency.py).
    """
    import gc

    if sys.argv[1:2] == ["gate"]:
        gc.disable()
    try:
        cli.main(prog_name="changegate")
    finally:
        local = sys.modules.get("changegate.cli.local.base")
        if local is not None:
            local.dispose_engines()
        gc.freeze()
