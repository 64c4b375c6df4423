"""A garak ``report.jsonl`` read into a :class:`RunResult` (see :mod:`changegate.ai.importers`
for the format)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from changegate.ai.errors import ImportFormatError
from changegate.ai.import_common import as_text, summary_count, summary_failures, unique_id
from changegate.ai.report import AssertionResult, CaseResult, RunResult

GARAK_HIT_THRESHOLD = 0.5


def _garak_text(value: Any) -> str | None:
    """garak >= 0.11 writes Message/Conversation dicts; older versions plain strings."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return str(value["text"])
        turns = value.get("turns")
        if isinstance(turns, list):
            texts = [
                _garak_text(t.get("content"))
                for t in turns
                if isinstance(t, dict) and t.get("role") in ("user", None)
            ]
            joined = "\n".join(t for t in texts if t)
            return joined or None
    return as_text(value)


@dataclass
class _Entries:
    """A report's lines sorted by ``entry_type``; the latest status of each attempt kept."""

    attempts: dict[str, dict[str, Any]] = field(default_factory=dict)
    evals: list[dict[str, Any]] = field(default_factory=list)
    probe_summaries: list[dict[str, Any]] = field(default_factory=list)
    digests: list[dict[str, Any]] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, entry: dict[str, Any], lineno: int) -> None:
        kind, meta = entry["entry_type"], self.meta
        if kind == "attempt":
            uid = str(entry.get("uuid", f"line{lineno}"))
            prev = self.attempts.get(uid)
            if prev is None or (entry.get("status") or 0) >= (prev.get("status") or 0):
                self.attempts[uid] = entry
        elif kind == "eval":
            self.evals.append(entry)
        elif kind == "probe_summary":
            self.probe_summaries.append(entry)
        elif kind == "digest":
            self.digests.append(entry)
            digest_meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
            assert isinstance(digest_meta, dict)
            meta.setdefault("garak_version", digest_meta.get("garak_version"))
            meta.setdefault("start_time", digest_meta.get("start_time"))
            meta.setdefault("run", digest_meta.get("run_uuid"))
        elif kind == "init":
            meta["garak_version"] = entry.get("garak_version")
            meta["start_time"] = entry.get("start_time")
            meta["run"] = entry.get("run")
        elif kind == "start_run setup":
            meta.setdefault("garak_version", entry.get("_config.version"))
            meta.setdefault("run", entry.get("transient.run_id"))


def _entries(text: str, source: str) -> _Entries:
    found = _Entries()
    seen_any = False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(
                f"{source}:{lineno}: not valid JSON ({exc.msg}); garak writes one JSON object "
                "per line"
            ) from exc
        if not isinstance(entry, dict) or not isinstance(entry.get("entry_type"), str):
            raise ImportFormatError(
                f"{source}:{lineno}: entry has no entry_type; is this a garak report.jsonl?",
                field="entry_type",
            )
        seen_any = True
        found.add(entry, lineno)
    if not seen_any:
        raise ImportFormatError(f"{source}: file is empty; expected garak report.jsonl lines")
    return found


def parse_garak(
    text: str, *, source: str = "garak report", threshold: float = GARAK_HIT_THRESHOLD
) -> RunResult:
    """Read a garak ``report.jsonl`` (text)."""
    found = _entries(text, source)
    completed = [a for a in found.attempts.values() if a.get("status") == 2]
    counted = [_garak_eval_counts(e) for e in found.evals]
    seen: dict[str, int] = {}
    if completed:
        cases = _garak_attempt_cases(completed, threshold, seen)
        cases += _garak_eval_misses(completed, counted, threshold, seen)
    else:
        cases = _garak_eval_cases(counted, seen)
    cases += _garak_probe_summary_cases(found.probe_summaries, cases, seen, source)
    for digest in found.digests:
        cases += _garak_digest_cases(digest, cases, seen, source)
    if not cases:
        raise ImportFormatError(
            f"{source}: no completed attempt (status 2), no eval entries and no digest; the "
            "scan did not finish or this is not a garak report.jsonl"
        )
    meta = found.meta
    meta["evals"] = [
        {
            k: e.get(k)
            for k in ("probe", "detector", "passed", "fails", "total_evaluated", "total")
            if k in e
        }
        for e in found.evals
    ]
    return RunResult(
        label=f"garak run {meta.get('run') or ''}".strip(),
        source="garak",
        cases=tuple(cases),
        metadata=meta,
    )


def _garak_eval_misses(
    completed: list[dict[str, Any]],
    counted: list[tuple[str, str, int, int]],
    threshold: float,
    seen: dict[str, int],
) -> list[CaseResult]:
    """The eval rows are garak's own tally per probe x detector: failures they count that the
    attempt rows do not show still count."""
    hits = _garak_attempt_hits(completed, threshold)
    out: list[CaseResult] = []
    for probe, detector, passed, total in counted:
        missing = (total - passed) - hits.get((probe, detector), 0)
        out += summary_failures(
            f"{probe}/{detector}",
            missing,
            f"garak eval: {total - passed} of {total} outputs failed; the attempt rows "
            f"show {hits.get((probe, detector), 0)}",
            seen,
        )
    return out


def _garak_probe_summary_cases(
    summaries: list[dict[str, Any]], cases: list[CaseResult], seen: dict[str, int], source: str
) -> list[CaseResult]:
    """A failing case per ``probe_summary`` that counts failed detections for a probe no case
    shows failing."""
    failing_probes = {c.case_id.split("/")[0].split("#")[0] for c in cases if not c.passed}
    out: list[CaseResult] = []
    for entry in summaries:
        probe = str(entry.get("probe") or "probe")
        counts = entry.get("detection_counts")
        fails = summary_count(
            counts.get("fails") if isinstance(counts, dict) else None,
            f"probe_summary {probe}: detection_counts.fails",
            source,
        )
        if fails and probe not in failing_probes:
            out += summary_failures(
                probe, 1, f"garak probe_summary: {fails} detections failed", seen
            )
            failing_probes.add(probe)
    return out


def _garak_scores(a: dict[str, Any]) -> dict[str, list[float]]:
    detectors = a.get("detector_results") if isinstance(a.get("detector_results"), dict) else {}
    assert isinstance(detectors, dict)
    return {
        str(det): (
            [float(s) for s in scores if isinstance(s, int | float)]
            if isinstance(scores, list)
            else []
        )
        for det, scores in detectors.items()
    }


def _garak_attempt_hits(
    attempts: list[dict[str, Any]], threshold: float
) -> dict[tuple[str, str], int]:
    """Outputs that hit, per (probe, detector), as garak's eval rows count them."""
    hits: dict[tuple[str, str], int] = {}
    for a in attempts:
        probe = str(a.get("probe_classname") or "probe")
        for det, values in _garak_scores(a).items():
            key = (probe, det)
            hits[key] = hits.get(key, 0) + sum(1 for v in values if v >= threshold)
    return hits


def _garak_attempt_cases(
    attempts: list[dict[str, Any]], threshold: float, seen: dict[str, int]
) -> list[CaseResult]:
    out: list[CaseResult] = []
    attempts.sort(key=lambda a: (str(a.get("probe_classname")), a.get("seq") or 0))
    for a in attempts:
        probe = str(a.get("probe_classname") or "probe")
        case_id = unique_id(f"{probe}#{a.get('seq', 0)}", seen)
        outputs = a.get("outputs") if isinstance(a.get("outputs"), list) else []
        assert isinstance(outputs, list)
        texts = [t for t in (_garak_text(o) for o in outputs) if t is not None]
        checks: list[AssertionResult] = []
        for det, values in sorted(_garak_scores(a).items()):
            hits = sum(1 for s in values if s >= threshold)
            checks.append(
                AssertionResult(
                    type=f"garak:{det}",
                    passed=hits == 0,
                    detail=f"{hits}/{len(values)} outputs hit (score >= {threshold})",
                    score=max(values) if values else None,
                )
            )
        out.append(
            CaseResult(
                case_id=case_id,
                output="\n---\n".join(texts) if texts else None,
                passed=all(c.passed for c in checks),
                assertions=tuple(checks),
                input=_garak_text(a.get("prompt")),
            )
        )
    return out


def _garak_eval_counts(e: dict[str, Any]) -> tuple[str, str, int, int]:
    """(probe, detector, passed, total) of an eval row; its failures are the worse of
    ``total - passed`` and ``fails``."""
    passed = e.get("passed")
    total = e.get("total_evaluated", e.get("total"))
    fails = e.get("fails", 0)
    label = f"{e.get('probe')}/{e.get('detector')}"
    if (
        type(passed) is not int
        or type(total) is not int
        or type(fails) is not int
        or not 0 <= passed <= total
        or fails < 0
    ):
        raise ImportFormatError(
            f"garak eval entry for {label} lacks integer passed/total_evaluated "
            "(0 <= passed <= total) or has a negative fails"
        )
    total = max(total, passed + fails)
    return str(e.get("probe")), str(e.get("detector")), passed, total


def _garak_eval_cases(
    evals: list[tuple[str, str, int, int]], seen: dict[str, int]
) -> list[CaseResult]:
    out: list[CaseResult] = []
    for probe, detector, passed, total in evals:
        case_id = unique_id(f"{probe}/{detector}", seen)
        out.append(
            CaseResult(
                case_id=case_id,
                output=None,
                passed=passed == total,
                assertions=(
                    AssertionResult(
                        type=f"garak:{detector}",
                        passed=passed == total,
                        detail=f"{passed}/{total} outputs passed",
                        score=(passed / total) if total else None,
                    ),
                ),
            )
        )
    return out


def _garak_digest_cases(
    digest: dict[str, Any], cases: list[CaseResult], seen: dict[str, int], source: str
) -> list[CaseResult]:
    """Cases from a ``digest`` entry's ``eval`` tree (group -> probe -> detector, each
    detector with ``absolute_score``, its pass rate): one per probe x detector, failing below
    1. Where attempt or eval rows already cover a probe, the digest adds only failures they
    did not show."""
    tree = digest.get("eval")
    if not isinstance(tree, dict):
        raise ImportFormatError(f"{source}: digest entry has no eval tree", field="digest.eval")
    failing = {c.case_id.split("#")[0].split(" (")[0] for c in cases if not c.passed}
    failing_probes = {f.split("/")[0] for f in failing}
    covered = {c.case_id.split("#")[0].split("/")[0] for c in cases}
    out: list[CaseResult] = []
    for group in tree.values():
        if not isinstance(group, dict):
            continue
        for probe, detectors in group.items():
            if probe.startswith("_") or not isinstance(detectors, dict):
                continue
            for detector, result in detectors.items():
                if detector.startswith("_") or not isinstance(result, dict):
                    continue
                raw = result.get("absolute_score")
                score = float(raw) if isinstance(raw, int | float) else None
                readable = score is not None and 0 <= score <= 1
                passed = readable and score == 1
                if passed and probe in covered:
                    continue
                if not passed and (probe in failing_probes or f"{probe}/{detector}" in failing):
                    continue
                detail = (
                    f"garak digest: pass rate {score:.1%}"
                    if readable
                    else f"garak digest: absolute_score {raw!r} unreadable"
                )
                out.append(
                    CaseResult(
                        case_id=unique_id(f"{probe}/{detector} (digest)", seen),
                        output=None,
                        passed=passed,
                        assertions=(
                            AssertionResult(
                                f"garak:{detector}",
                                passed,
                                detail,
                                score if readable else None,
                            ),
                        ),
                    )
                )
    return out
