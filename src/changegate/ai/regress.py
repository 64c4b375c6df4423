"""What ``ai regress`` decides (policy §10.2), apart from how it is asked and shown.

The CLI parses options, asks the targets (``regression.collect_outputs``) and renders; the
service that stores the evidence (``ai.checks``, the same for the CLI and the API) judges the
outputs and calls this module, which says which runs are compared, which inputs are refused
and why, and returns the report whose verdict becomes the exit code. The verdict rule itself
is :func:`changegate.ai.report.compare_runs`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from changegate.errors import InvalidInput

if TYPE_CHECKING:
    from changegate.ai.report import RegressionReport, RunResult
    from changegate.ai.suite import Suite
    from changegate.policy.schema import AiRegression

PHASES = ("pre", "post")


def check_phase(phase: str, *, wants_before: bool) -> None:
    """Refuse a phase that is neither ``pre`` nor ``post``, and a ``pre`` run given a
    before-configuration (the pre phase records ``--target`` alone as the baseline)."""
    if phase not in PHASES:
        raise InvalidInput(f"--phase {phase!r}: use pre or post", field="phase")
    if phase == "pre" and wants_before:
        raise InvalidInput(
            "--phase pre records --target alone; drop the --before-* options", field="phase"
        )


def require_baseline(
    stored_pre: RunResult | None, *, change: str, suite: object, by: str
) -> RunResult:
    """The stored pre-change results a post run without a before-configuration compares
    with; without them there is nothing to compare, and the message says how to get some."""
    if stored_pre is None:
        raise InvalidInput(
            f"{change} has no pre-change results: give --before-target/--before-model/"
            "--before-system-prompt, or first record the configuration before the "
            f"change with `changegate ai regress {suite} --target OLD --phase pre "
            f"--change {change} --by {by}`",
            field="before_target",
        )
    return stored_pre


def regression_verdict(
    suite: Suite,
    after: RunResult,
    *,
    before: RunResult | None,
    stored_pre: RunResult | None,
    settings: AiRegression,
) -> RegressionReport:
    """The post phase: compare the run against the configuration after the change with the
    run before it, or else with the stored pre-change results, under the policy's
    tolerance. ``report.passed`` is the verdict."""
    from changegate.ai.report import compare_runs

    baseline = before if before is not None else stored_pre
    if baseline is None:
        raise InvalidInput("no pre-change results to compare with", field="before_target")
    return compare_runs(
        baseline,
        after,
        tolerance=settings.tolerance,
        critical=suite.critical_ids,
        suite=suite.name,
        inputs={c.id: c.input for c in suite.cases},
    )
