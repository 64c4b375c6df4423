"""Evaluate suite assertions against one output."""

from __future__ import annotations

import json
import re
from typing import Any

from changegate.ai.report import AssertionResult
from changegate.ai.similarity import SimilarityScorer
from changegate.ai.suite import (
    Assertion,
    ContainsAssertion,
    EqualsAssertion,
    JsonSchemaAssertion,
    NotContainsAssertion,
    RegexAssertion,
    SimilarityAssertion,
)

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S | re.I)


def _snippet(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fold(text: str, ignore_case: bool) -> str:
    return text.casefold() if ignore_case else text


def parse_json_output(output: str) -> Any:
    """Parse output as JSON, unwrapping a single fenced code block."""
    m = _FENCE.match(output)
    return json.loads(m.group(1) if m else output)


DEFAULT_SIMILARITY_THRESHOLD = 0.8


def evaluate(
    assertion: Assertion,
    output: str,
    *,
    scorer: SimilarityScorer | None = None,
    similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD,
) -> AssertionResult:
    """Check one assertion; never raises for a bad output, only reports it.

    ``similarity_threshold`` applies to similarity assertions that set none.
    """
    t = assertion.type
    if isinstance(assertion, EqualsAssertion):
        ok = _fold(output.strip(), assertion.ignore_case) == _fold(
            assertion.value.strip(), assertion.ignore_case
        )
        detail = (
            "output equals expected value"
            if ok
            else (f"expected {_snippet(assertion.value)!r}, got {_snippet(output.strip())!r}")
        )
        return AssertionResult(t, ok, detail)
    if isinstance(assertion, ContainsAssertion | NotContainsAssertion):
        found = _fold(assertion.value, assertion.ignore_case) in _fold(
            output, assertion.ignore_case
        )
        want = isinstance(assertion, ContainsAssertion)
        ok = found == want
        verb = "contains" if found else "does not contain"
        return AssertionResult(t, ok, f"output {verb} {assertion.value!r}")
    if isinstance(assertion, RegexAssertion):
        flags = re.I if assertion.ignore_case else 0
        m = re.search(assertion.pattern, output, flags)
        detail = (
            f"pattern matched {_snippet(m.group(0))!r}"
            if m
            else f"pattern {assertion.pattern!r} not found"
        )
        return AssertionResult(t, m is not None, detail)
    if isinstance(assertion, JsonSchemaAssertion):
        import jsonschema

        try:
            doc = parse_json_output(output)
        except json.JSONDecodeError as exc:
            return AssertionResult(t, False, f"output is not JSON ({exc.msg})")
        validator_cls = jsonschema.validators.validator_for(assertion.json_schema)
        errors = sorted(
            validator_cls(assertion.json_schema).iter_errors(doc), key=lambda e: list(e.path)
        )
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.path) or "(root)"
            return AssertionResult(t, False, f"schema violation at {where}: {first.message}")
        return AssertionResult(t, True, "output matches the JSON schema")
    if isinstance(assertion, SimilarityAssertion):
        if scorer is None:
            from changegate.ai.similarity import default_scorer

            scorer = default_scorer()
        threshold = assertion.threshold if assertion.threshold is not None else similarity_threshold
        score = scorer.score(output, assertion.reference)
        ok = score >= threshold
        cmp = ">=" if ok else "<"
        return AssertionResult(
            t, ok, f"similarity {score:.3f} {cmp} threshold {threshold}", round(score, 6)
        )
    raise AssertionError(f"unhandled assertion type {t}")  # pragma: no cover
