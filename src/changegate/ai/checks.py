"""What the ``ai`` commands record on a change (policy §10.2, §10.3), one function per
operation, called alike by the CLI's local backend, the API and the web pages.

A check that asks a model or a service runs where the target is reachable (the CLI, outside
any transaction); what it saw comes here as raw results (``ai.observations``) and is judged
here, under the policy in force: a client never sends a verdict. Each function returns the
JSON-shaped answer the CLI prints with ``--json``. Like every service: flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from changegate.ai import service
from changegate.ai.documents import check_can_attach
from changegate.ai.regress import check_phase, regression_verdict, require_baseline
from changegate.changes.models import Change
from changegate.errors import InvalidInput

if TYPE_CHECKING:
    from changegate.ai.regression import Output
    from changegate.ai.report import RunResult
    from changegate.ai.suite import Suite
    from changegate.policy.schema import Policy


def preflight(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    actor: str,
    baseline_for: str | None = None,
) -> dict[str, Any]:
    """Refuse, before a check runs for minutes, what storing its evidence would refuse; with
    ``baseline_for`` (the suite a post-change run without a before-configuration names), also
    a change without pre-change results to compare with."""
    name = check_can_attach(session, policy, change, actor=actor)
    if baseline_for is not None:
        require_baseline(
            service.stored_run(session, policy, change, "pre"),
            change=change.key,
            suite=baseline_for,
            by=actor,
        )
    return {"change": change.key, "actor": name}


def _run(suite: Suite, policy: Policy, run: Mapping[str, Any], field: str) -> RunResult:
    from changegate.ai.regression import judge_outputs

    label = run.get("label")
    if not isinstance(label, str):
        raise InvalidInput(f"{field}.label must be a string", field=field)
    outputs: list[Output] = run["outputs"]
    return judge_outputs(
        suite,
        outputs,
        label=label,
        similarity_threshold=policy.ai.regression.similarity_threshold,
    )


def record_regression(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    actor: str,
    suite_text: str,
    suite_source: str,
    phase: str,
    after: Mapping[str, Any],
    before: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Judge the outputs a suite's run collected (``{"label", "outputs"}`` per run, see
    ``regression.collect_outputs``) and store them: the pre phase as the baseline; the post
    phase with the verdict against the run before, or the stored pre-change results."""
    from changegate.ai.suite import load_suite_text

    check_phase(phase, wants_before=before is not None)
    suite = load_suite_text(suite_text, source=suite_source)
    before_run = None if before is None else _run(suite, policy, before, "before")
    after_run = _run(suite, policy, after, "after")
    if phase == "pre":
        e = service.store_results(
            session, policy, change, phase="pre", run=after_run, actor=actor, suite=suite.name
        )
        return {
            "phase": "pre",
            "suite": suite.name,
            "passed": after_run.passed,
            "total": after_run.total,
            "evidence": [e.audit_state()],
        }
    stored_pre = None
    if before_run is None:
        stored = service.stored_run(session, policy, change, "pre")
        stored_pre = require_baseline(stored, change=change.key, suite=suite_source, by=actor)
    report = regression_verdict(
        suite, after_run, before=before_run, stored_pre=stored_pre, settings=policy.ai.regression
    )
    return service.store_regression(
        session, policy, change, report=report, actor=actor, store_pre=before_run is not None
    ).to_dict()


def record_check(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    actor: str,
    check: str,
    observation: Mapping[str, Any],
) -> dict[str, Any]:
    """Judge what a tenant-isolation run (``check`` "isolation") or the prompt-injection
    probes ("injection") saw, sent as JSON (``ai.observations``), and store the report and
    the validation it decides."""
    from changegate.ai import observations
    from changegate.ai.injection import judge_injection
    from changegate.ai.isolation import judge_isolation

    if check == "isolation":
        report = judge_isolation(observations.isolation(observation))
        done = service.store_isolation(session, policy, change, report=report, actor=actor)
    elif check == "injection":
        probes = judge_injection(observations.injection(observation))
        done = service.store_injection(session, policy, change, report=probes, actor=actor)
    else:
        raise InvalidInput(f"check {check!r}: use isolation or injection", field="check")
    return done.to_dict()


def _import_format(content: bytes, source: str, format: str | None) -> str:
    from changegate.ai.importers import FORMATS, detect_format

    if format is not None and format not in FORMATS:
        raise InvalidInput(f"--format {format!r}: use one of {', '.join(FORMATS)}", field="format")
    try:
        return format or detect_format(content.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{source}: not UTF-8 text", field="file") from exc


def _results(content: bytes, source: str, fmt: str) -> RunResult:
    from changegate.ai.errors import ImportFormatError
    from changegate.ai.importers import parse_results

    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{source}: not UTF-8 text; is this a results file?") from exc
    return parse_results(text, source, fmt)  # type: ignore[arg-type]


def record_import(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    actor: str,
    content: bytes,
    source: str,
    format: str | None = None,
    phase: str | None = None,
    before: bytes | None = None,
    before_source: str | None = None,
    critical: Sequence[str] = (),
) -> dict[str, Any]:
    """Import a promptfoo, DeepEval or garak results file (``source`` is its name as given)
    as evidence: behavioural results (post is compared with ``before`` or the stored
    pre-change results) or, for garak, prompt-injection evidence."""
    from changegate.ai.report import compare_runs

    fmt = _import_format(content, source, format)
    if phase not in (None, "pre", "post"):
        raise InvalidInput(f"--phase {phase!r}: use pre or post", field="phase")
    if fmt == "garak" and (phase or before is not None or critical):
        raise InvalidInput(
            "garak results are prompt-injection evidence (security impact), not "
            "behavioural results: drop --phase, --before and --critical",
            field="phase",
        )
    if phase == "pre" and before is not None:
        raise InvalidInput("--before goes with --phase post", field="before")
    run = _results(content, source, fmt)
    before_run = None if before is None else _results(before, before_source or "before", fmt)
    check_can_attach(session, policy, change, actor=actor)
    filename = source.replace("\\", "/").rsplit("/", 1)[-1]
    original = service.store_original(
        session, content=content, filename=filename, format=fmt, actor=actor
    )
    extra = {"format": fmt, "file": source}
    if fmt == "garak":
        done = service.store_garak(session, policy, change, run=run, actor=actor, original=original)
        return done.to_dict() | extra
    if phase == "pre":
        e = service.store_results(
            session, policy, change, phase="pre", run=run, actor=actor, original=original
        )
        return {"phase": "pre", "passed": True, "evidence": [e.audit_state()]} | extra
    prior = before_run or service.stored_run(session, policy, change, "pre")
    report = compare_runs(
        prior,
        run,
        tolerance=policy.ai.regression.tolerance,
        critical=critical,
        suite=run.metadata.get("suite") or filename,
    )
    return (
        service.store_regression(
            session,
            policy,
            change,
            report=report,
            actor=actor,
            store_pre=before_run is not None,
            original=original,
        ).to_dict()
        | extra
    )
