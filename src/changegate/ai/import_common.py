"""What the results importers share: reading the file, case names made unique, and the
run's own summary turned into failing cases where it counts more failures than the rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from changegate.ai.errors import ImportFormatError
from changegate.ai.report import AssertionResult, CaseResult


def read_text(path: str | Path) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFormatError(f"{p}: cannot read results file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{p}: not UTF-8 text; is this a results file?") from exc


def parse_json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"{source}:{exc.lineno}: not valid JSON ({exc.msg}); export the results again"
        ) from exc


def unique_id(case_id: str, seen: dict[str, int]) -> str:
    n = seen.get(case_id, 0)
    seen[case_id] = n + 1
    return case_id if n == 0 else f"{case_id}#{n + 1}"


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def summary_count(value: Any, where: str, source: str) -> int | None:
    """A summary count: absent is None; anything but a whole number >= 0 is refused."""
    if value is None:
        return None
    if type(value) is not int or value < 0:
        raise ImportFormatError(
            f"{source}: {where} is {value!r}; expected a whole number >= 0 (export the results "
            "again, unedited)",
            field=where,
        )
    return value


def summary_failures(
    label: str, missing: int, detail: str, seen: dict[str, int]
) -> list[CaseResult]:
    """Failing cases for failures a run's own summary counts but its rows do not show."""
    return [
        CaseResult(
            case_id=unique_id(f"{label} (run summary)", seen),
            output=None,
            passed=False,
            assertions=(AssertionResult("run-summary", False, detail),),
            error=detail,
        )
        for _ in range(max(0, missing))
    ]
