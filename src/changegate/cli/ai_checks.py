"""`changegate ai regress | isolation | injection`: the checks that ask a model or a service.

Each asks the target from here (the machine that reaches it: a CI runner, a laptop), outside
any transaction, after the backend said the evidence may be attached; then sends what came
back, never a verdict, to the backend, which judges it under the policy in force and stores
the evidence (locally, or on the server with CHANGEGATE_URL). Exit 1 unless the check passed.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import click

from changegate.cli.ai import BY_HELP, CHANGE_HELP, backend
from changegate.cli.core import Run, command

MODEL_HELP = "Model name sent to a chat completions URL, e.g. gpt-4o-mini."
KEY_HELP = "Environment variable holding the API key (never the key itself)."
PHASE_HELP = (
    "post: compare with the configuration before (--before-*) or the stored pre-change "
    "results; pre: only record --target as the baseline."
)
INTERFACE_HELP = (
    "chat (chat completions URL or module:function) or rag (a RAG service: POST /ingest, /query)."
)


@command(None, "regress")
@click.argument("suite", type=click.Path(path_type=Path))
@click.option("--target", required=True, help="After the change: URL or module:function.")
@click.option("--change", required=True, help=CHANGE_HELP)
@click.option("--by", required=True, help=BY_HELP)
@click.option("--model", help=MODEL_HELP)
@click.option(
    "--system-prompt",
    type=click.Path(path_type=Path),
    help="System prompt file sent to a chat URL.",
)
@click.option("--before-target", help="Before the change (default: --target).")
@click.option("--before-model", help="Model before the change.")
@click.option(
    "--before-system-prompt",
    type=click.Path(path_type=Path),
    help="System prompt file before the change.",
)
@click.option("--phase", default="post", show_default=True, help=PHASE_HELP)
@click.option("--interface", default="chat", show_default=True, help=INTERFACE_HELP)
@click.option("--api-key-env", help=KEY_HELP)
def ai_regress(
    run: Run,
    suite: Path,
    target: str,
    change: str,
    by: str,
    model: str | None,
    system_prompt: Path | None,
    before_target: str | None,
    before_model: str | None,
    before_system_prompt: Path | None,
    phase: str,
    interface: str,
    api_key_env: str | None,
) -> int:
    """Run a behavioural regression suite before and after a change and store both result sets and the verdict as evidence; exit 1 on a regression.

    The tolerance and similarity threshold come from the policy (ai.regression).

    Example: changegate ai regress suite.yaml --target http://llm/v1 --model gpt-4o-2024-08-06 --before-model gpt-4o-2024-05-13 --change CHG-3 --by ci-bot
    """
    from changegate.ai.regress import check_phase
    from changegate.ai.regression import collect_outputs
    from changegate.ai.suite import load_suite
    from changegate.ai.target_spec import chat_target
    from changegate.cli.ai_render import show_regression

    wants_before = bool(before_target or before_model or before_system_prompt)
    check_phase(phase, wants_before=wants_before)
    loaded = load_suite(suite)  # refused here, with the file's problems, before any run
    text = suite.read_text(encoding="utf-8")
    target_at = partial(chat_target, interface=interface, api_key_env=api_key_env)
    after = target_at(target, model=model, system_prompt=system_prompt)
    before = (
        target_at(
            before_target or target,
            model=before_model or model,
            system_prompt=before_system_prompt or system_prompt,
        )
        if wants_before
        else None
    )
    todo = backend(run)
    baseline = str(suite) if phase == "post" and before is None else None
    todo.preflight(change, by, baseline)
    body: dict[str, Any] = {"suite_text": text, "suite_source": str(suite), "phase": phase}
    if before is not None:
        body["before"] = {"label": before.label, "outputs": collect_outputs(loaded, before)}
    body["after"] = {"label": after.label, "outputs": collect_outputs(loaded, after)}
    out = todo.regress(change, by, body)

    def human() -> None:
        if phase == "post":
            show_regression(change, out)
            return
        print(
            f"{change}: pre-change results of {out['suite']} stored "
            f"({out['passed']}/{out['total']} passed against {after.label})"
        )

    run.emit(out, human)
    return 0 if out["passed"] else 1


@command(None, "isolation")
@click.option("--target", required=True, help="RAG service URL or module:object.")
@click.option("--tenants", required=True, help="Comma-separated tenant ids, at least two.")
@click.option("--change", required=True, help=CHANGE_HELP)
@click.option("--by", required=True, help=BY_HELP)
@click.option(
    "--probes-per-pair",
    type=int,
    default=2,
    show_default=True,
    help="Probes per tenant pair (1-3).",
)
@click.option("--seed", type=int, help="Fix the canaries (for reproducing).")
def ai_isolation(
    run: Run,
    target: str,
    tenants: str,
    change: str,
    by: str,
    probes_per_pair: int,
    seed: int | None,
) -> int:
    """Plant a canary per tenant, probe from every other tenant, store the full report and the tenant-isolation validation; exit 1 unless it passes.

    Example: changegate ai isolation --target http://127.0.0.1:8765 --tenants acme,globex,initech --change CHG-4 --by ci-bot
    """
    from changegate.ai.isolation import observe_isolation
    from changegate.cli.ai_render import show_isolation

    names = [t.strip() for t in tenants.split(",") if t.strip()]
    todo = backend(run)
    todo.preflight(change, by, None)
    seen = observe_isolation(target, names, probes_per_pair=probes_per_pair, seed=seed)
    out = todo.check(change, by, "isolation", seen.to_dict())
    run.emit(out, lambda: show_isolation(change, out))
    return 0 if out["passed"] else 1


@command(None, "injection")
@click.option(
    "--target", required=True, help="RAG service URL/module:object, or a chat URL with --model."
)
@click.option("--change", required=True, help=CHANGE_HELP)
@click.option("--by", required=True, help=BY_HELP)
@click.option("--model", help=MODEL_HELP)
@click.option(
    "--interface",
    default="auto",
    show_default=True,
    help="auto (chat if --model, else rag), chat or rag.",
)
@click.option("--api-key-env", help=KEY_HELP)
@click.option("--seed", type=int)
def ai_injection(
    run: Run,
    target: str,
    change: str,
    by: str,
    model: str | None,
    interface: str,
    api_key_env: str | None,
    seed: int | None,
) -> int:
    """Run the built-in prompt-injection probes (system prompt disclosure, instruction override, cross-tenant exfiltration) and store the outcome; exit 1 unless they pass.

    Example: changegate ai injection --target http://127.0.0.1:8765 --change CHG-4 --by ci-bot
    """
    from changegate.ai.injection import observe_injection
    from changegate.ai.target_spec import probe_target
    from changegate.cli.ai_render import show_injection

    tgt = probe_target(target, model=model, interface=interface, api_key_env=api_key_env)
    todo = backend(run)
    todo.preflight(change, by, None)
    seen = observe_injection(tgt, seed=seed)
    out = todo.check(change, by, "injection", seen.to_dict())
    run.emit(out, lambda: show_injection(change, out))
    return 0 if out["passed"] else 1
