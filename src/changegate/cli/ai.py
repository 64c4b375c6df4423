"""`changegate ai`: AI/GenAI governance (policy §10): classify an AI configuration change,
import evaluation results, record the security impact assessment; the behavioural regression,
tenant isolation and prompt-injection checks (cli/ai_checks.py) and the provider register
(cli/ai_providers.py).

A check that asks a model or a service runs here, where the target is reachable, outside any
transaction; what it saw goes to the backend (the local database, or the server with
CHANGEGATE_URL), which judges it under the policy in force and stores the evidence. A failed
check exits 1 after its evidence is stored, so a pipeline fails and the record shows why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, group, read_file

HELP = (
    "AI/GenAI governance (policy §10.2): classify AI changes, the provider register, "
    "behavioural regression, tenant isolation, prompt injection and security evidence."
)
ai = group(
    "ai",
    HELP,
    lazy={
        "provider": "changegate.cli.ai_providers:provider",
        "regress": "changegate.cli.ai_checks:ai_regress",
        "isolation": "changegate.cli.ai_checks:ai_isolation",
        "injection": "changegate.cli.ai_checks:ai_injection",
    },
)

CHANGE_HELP = "The change the evidence belongs to, e.g. CHG-1."
BY_HELP = "Who records the evidence."


class Backend(Protocol):
    """Bodies carry files as bytes (``content``, ``before``); the remote backend encodes them."""

    def preflight(self, change: str, by: str, baseline_for: str | None) -> dict[str, Any]: ...
    def regress(self, change: str, by: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def check(self, change: str, by: str, check: str, seen: dict[str, Any]) -> dict[str, Any]: ...
    def import_results(self, change: str, by: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def assess(self, change: str, by: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def provider_add(self, by: str | None, body: dict[str, Any]) -> dict[str, Any]: ...
    def provider_dpa(self, name: str, by: str, body: dict[str, Any]) -> dict[str, Any]: ...
    def providers(self) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.ai:LocalAi", "changegate.cli.remote.ai:RemoteAi"
    )


@command(ai, "classify")
@click.option("--before", type=click.Path(path_type=Path), help="The old file or directory.")
@click.option("--after", type=click.Path(path_type=Path), help="The new file or directory.")
@click.option("--path", help="Repository path of a single file, for the policy's globs.")
@click.option("--git-range", "git_range", help="BASE..HEAD (or BASE...HEAD) of --repo instead.")
@click.option(
    "--repo",
    type=click.Path(path_type=Path),
    default=Path("."),
    help="Git repository (--git-range).",
)
@click.option(
    "--incident", is_flag=True, help="The change responds to an outage or security event."
)
def ai_classify(run: Run, **inputs: Any) -> None:
    """Name the §10.1 category, component, providers and security impact of an AI config change, and what the policy requires of it.

    Reads two versions of LiteLLM router configs, prompt templates, RAG and content-filter
    configs (the policy's ai.config_paths; a LiteLLM config is also recognised by its
    content, whatever its name). What no category covers is class normal. Reads local files
    and the policy file only, never a database or a server, so it runs the same with
    CHANGEGATE_URL set.

    Example: changegate ai classify --before old/config/litellm.yaml --after config/litellm.yaml
    """
    from changegate.ai.classify_local import classify_local
    from changegate.cli.ai_render import show_classification
    from changegate.policy.loader import load_policy

    # the options are named as classify_local's parameters (before, after, path, git_range,
    # repo, incident), which say their types
    out = classify_local(load_policy(run.opts.policy).policy, **inputs)
    run.emit(out, lambda: show_classification(out))


@command(ai, "import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--change", required=True, help=CHANGE_HELP)
@click.option("--by", required=True, help=BY_HELP)
@click.option("--format", "fmt", help="promptfoo | deepeval | garak (default: detected).")
@click.option("--phase", help="pre | post (default post; not for garak).")
@click.option(
    "--before",
    type=click.Path(path_type=Path),
    help="Pre-change results file to compare with (post).",
)
@click.option("--critical", multiple=True, help="Case id whose regression fails the change.")
def ai_import(
    run: Run,
    file: Path,
    change: str,
    by: str,
    fmt: str | None,
    phase: str | None,
    before: Path | None,
    critical: tuple[str, ...],
) -> int:
    """Import evaluation results from promptfoo, DeepEval or garak as evidence on a change; exit 1 when they fail.

    promptfoo/DeepEval: pre- or post-change behavioural results (post is compared with the
    stored pre-change results). garak report.jsonl: prompt-injection evidence for the
    security impact assessment.

    Example: changegate ai import results.json --format promptfoo --phase post --change CHG-3 --by ci-bot
    """
    from changegate.cli.ai_render import show_import

    body: dict[str, Any] = {
        "content": read_file(file, "file"),
        "source": str(file),
        "format": fmt,
        "phase": phase,
        "critical": list(critical),
    }
    if before is not None:
        body |= {"before": read_file(before, "before"), "before_source": str(before)}
    out = backend(run).import_results(change, by, body)
    run.emit(out, lambda: show_import(change, out["format"], out))
    return 0 if out["passed"] else 1


@command(ai, "assess")
@click.argument("change")
@click.option("--prompt-injection", required=True, help="Prompt injection risk: low|medium|high.")
@click.option("--data-leakage", required=True, help="Data leakage risk: low|medium|high.")
@click.option(
    "--content-filter",
    required=True,
    help="Risk to content filtering effectiveness: low|medium|high.",
)
@click.option("--by", required=True, help="The assessor (policy: security role).")
@click.option("--notes", default="", help="The assessment's reasoning.")
@click.option(
    "--note", multiple=True, help="DIMENSION=TEXT, e.g. prompt_injection='new tool call'."
)
def ai_assess(
    run: Run,
    change: str,
    prompt_injection: str,
    data_leakage: str,
    content_filter: str,
    by: str,
    notes: str,
    note: tuple[str, ...],
) -> None:
    """Record the §10.2 security impact assessment of an AI change (by a security reviewer) and re-derive the security-impact validation.

    Example: changegate ai assess CHG-4 --prompt-injection medium --data-leakage low --content-filter low --notes "new retrieval scope reviewed" --by sam
    """
    from changegate.cli.ai_render import evidence_lines
    from changegate.errors import InvalidInput

    dim_notes: dict[str, str] = {}
    for item in note:
        key, sep, text = item.partition("=")
        if not sep:
            raise InvalidInput(
                f"--note {item!r}: use DIMENSION=TEXT, e.g. data_leakage='...'", field="note"
            )
        dim_notes[key.strip().replace("-", "_")] = text.strip()
    ratings = {
        "prompt_injection": prompt_injection,
        "data_leakage": data_leakage,
        "content_filter": content_filter,
    }
    body = {"ratings": ratings, "notes": notes, "dimension_notes": dim_notes}
    out = backend(run).assess(change, by, body)

    def human() -> None:
        v = out["validation"]
        print(f"{change}: security impact assessment recorded by {by}")
        print(evidence_lines(out["evidence"][:1]))
        print(f"  security-impact: {'pass' if v['passed'] else 'FAIL'} — {v['details']}")

    run.emit(out, human)
