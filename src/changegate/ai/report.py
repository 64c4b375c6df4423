"""Behavioural regression report: one shape for native runs and imported results.

A :class:`RunResult` is one run of a set of cases against one target (or one imported
results file). :func:`compare_runs` puts a "before" and an "after" run side by side and
gives the verdict:

* pass when the after pass rate >= baseline pass rate - tolerance, and
* no critical case regressed (passed before, fails after).

The baseline is the before run's pass rate; without a before run it is
``baseline_pass_rate`` when given, else 1.0 (every case is expected to pass) — and then a
critical case that fails counts as regressed.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from changegate.ai.errors import AiError

REPORT_VERSION = 1
_EPS = 1e-9


@dataclass(frozen=True)
class AssertionResult:
    type: str
    passed: bool
    detail: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class CaseResult:
    """One case in one run. ``error`` is set when the target failed to answer."""

    case_id: str
    output: str | None
    passed: bool
    assertions: tuple[AssertionResult, ...] = ()
    error: str | None = None
    input: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "output": self.output,
            "passed": self.passed,
            "error": self.error,
            "assertions": [a.to_dict() for a in self.assertions],
        }


@dataclass(frozen=True)
class RunResult:
    """Results of one run, in case order."""

    label: str
    source: str  # "changegate", "promptfoo", "deepeval", "garak"
    cases: tuple[CaseResult, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.passed)

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.cases else 0.0

    def by_id(self) -> dict[str, CaseResult]:
        return {c.case_id: c for c in self.cases}

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "source": self.source,
            "passed": self.passed,
            "total": self.total,
            "pass_rate": round(self.pass_rate, 6),
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class CaseComparison:
    case_id: str
    critical: bool
    input: str | None
    before: CaseResult | None
    after: CaseResult | None
    regressed: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.case_id,
            "critical": self.critical,
            "input": self.input,
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "regressed": self.regressed,
        }


@dataclass(frozen=True)
class RegressionReport:
    suite: str
    tolerance: float
    baseline_pass_rate: float
    before: RunResult | None
    after: RunResult
    cases: tuple[CaseComparison, ...]
    verdict: str  # "pass" | "fail"
    reasons: tuple[str, ...]
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def regressed(self) -> tuple[str, ...]:
        return tuple(c.case_id for c in self.cases if c.regressed)

    @property
    def critical_regressed(self) -> tuple[str, ...]:
        return tuple(c.case_id for c in self.cases if c.regressed and c.critical)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form; the shape is documented in docs/ai.md."""
        return {
            "kind": "behavioral-regression",
            "version": REPORT_VERSION,
            "suite": self.suite,
            "created_at": self.created_at,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "tolerance": self.tolerance,
            "baseline_pass_rate": round(self.baseline_pass_rate, 6),
            "before": self.before.summary() if self.before else None,
            "after": self.after.summary(),
            "regressed": list(self.regressed),
            "critical_regressed": list(self.critical_regressed),
            "cases": [c.to_dict() for c in self.cases],
        }


def check_tolerance(tolerance: float) -> float:
    if not 0.0 <= tolerance <= 1.0:
        raise AiError(
            f"tolerance {tolerance} is out of range; give a fraction between 0 and 1 "
            "(0.05 allows the pass rate to drop five points)",
            field="tolerance",
        )
    return float(tolerance)


def compare_runs(
    before: RunResult | None,
    after: RunResult,
    *,
    tolerance: float,
    critical: Collection[str] = (),
    suite: str | None = None,
    baseline_pass_rate: float | None = None,
    inputs: Mapping[str, str] | None = None,
) -> RegressionReport:
    """Compare two runs of the same cases and decide the verdict (see module doc).

    A case that passed before and is missing from the after run counts as regressed.
    """
    tol = check_tolerance(tolerance)
    if baseline_pass_rate is not None and not 0.0 <= baseline_pass_rate <= 1.0:
        raise AiError(
            f"baseline_pass_rate {baseline_pass_rate} is out of range; give a fraction 0..1",
            field="baseline_pass_rate",
        )
    crit = set(critical)
    b_cases = before.by_id() if before else {}
    a_cases = after.by_id()
    ids = list(a_cases)
    ids += [cid for cid in b_cases if cid not in a_cases]
    baseline = (
        before.pass_rate
        if before is not None
        else baseline_pass_rate
        if baseline_pass_rate is not None
        else 1.0
    )
    comparisons: list[CaseComparison] = []
    for cid in ids:
        b, a = b_cases.get(cid), a_cases.get(cid)
        after_ok = a is not None and a.passed
        if before is not None:
            regressed = b is not None and b.passed and not after_ok
        else:
            regressed = cid in crit and not after_ok
        text = (inputs or {}).get(cid) or (a.input if a else None) or (b.input if b else None)
        comparisons.append(
            CaseComparison(
                case_id=cid,
                critical=cid in crit,
                input=text,
                before=b,
                after=a,
                regressed=regressed,
            )
        )
    reasons: list[str] = []
    floor = baseline - tol
    if after.pass_rate + _EPS < floor:
        reasons.append(
            f"after pass rate {after.pass_rate:.1%} is below baseline {baseline:.1%} "
            f"minus tolerance {tol:.1%} ({floor:.1%})"
        )
    crit_regressed = [c.case_id for c in comparisons if c.regressed and c.critical]
    if crit_regressed:
        reasons.append("critical cases regressed: " + ", ".join(crit_regressed))
    if not after.cases:
        reasons.append("the after run has no cases")
    verdict = "fail" if reasons else "pass"
    if not reasons:
        reasons.append(
            f"after pass rate {after.pass_rate:.1%} >= {floor:.1%} "
            f"(baseline {baseline:.1%} - tolerance {tol:.1%}); no critical case regressed"
        )
    return RegressionReport(
        suite=suite or after.label,
        tolerance=tol,
        baseline_pass_rate=baseline,
        before=before,
        after=after,
        cases=tuple(comparisons),
        verdict=verdict,
        reasons=tuple(reasons),
    )
