"""What a check saw, read back from JSON: the raw results a remote CLI sends for the server to
judge (policy §10.2). The CLI asks the target from the machine that can reach it; the verdict
is never taken from the client: the server judges these observations with the same functions
the local CLI uses (``regression.judge_outputs``, ``isolation.judge_isolation``,
``injection.judge_injection``). Pure: no database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from changegate.ai.errors import AiError
from changegate.ai.injection import Asked as ProbeAsked
from changegate.ai.injection import InjectionObservation
from changegate.ai.isolation import Asked, Canary, IsolationObservation
from changegate.ai.regression import Output
from changegate.ai.targets import RagAnswer, parse_rag_answer


def _bad(field: str, what: str) -> AiError:
    return AiError(f"{field}: {what}", field=field)


def _text(data: Mapping[str, Any], key: str, field: str, *, optional: bool = False) -> Any:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise _bad(field, f"{key!r} must be a string")
    return value


def _items(data: Any, field: str) -> list[Mapping[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(d, Mapping) for d in data):
        raise _bad(field, "must be a list of objects")
    return data


def _answer(data: Any, where: str) -> RagAnswer | None:
    return None if data is None else parse_rag_answer(data, where=where)


def outputs(data: Any, field: str) -> list[Output]:
    """``[{"id", "output" | null, "error" | null}]`` as ``regression.collect_outputs`` gives."""
    out: list[Output] = []
    for i, item in enumerate(_items(data, field)):
        where = f"{field}[{i}]"
        out.append(
            {
                "id": _text(item, "id", where),
                "output": _text(item, "output", where, optional=True),
                "error": _text(item, "error", where, optional=True),
            }
        )
    return out


def isolation(data: Any) -> IsolationObservation:
    """The canaries planted and every probe's answer (``IsolationObservation.to_dict``)."""
    if not isinstance(data, Mapping):
        raise _bad("observation", "must be an object")
    canaries = tuple(
        Canary(*(_text(c, k, f"canaries[{i}]") for k in Canary.__dataclass_fields__))
        for i, c in enumerate(_items(data.get("canaries"), "canaries"))
    )
    asked = tuple(
        Asked(
            kind=_text(a, "kind", f"asked[{i}]"),
            as_tenant=_text(a, "as_tenant", f"asked[{i}]"),
            about_tenant=_text(a, "about_tenant", f"asked[{i}]"),
            question=_text(a, "question", f"asked[{i}]"),
            response=_answer(a.get("response"), f"asked[{i}].response"),
            error=_text(a, "error", f"asked[{i}]", optional=True),
        )
        for i, a in enumerate(_items(data.get("asked"), "asked"))
    )
    return IsolationObservation(_text(data, "target", "observation"), canaries, asked)


def injection(data: Any) -> InjectionObservation:
    """Every probe as it was asked and what came back (``InjectionObservation.to_dict``)."""
    if not isinstance(data, Mapping):
        raise _bad("observation", "must be an object")
    asked = tuple(
        ProbeAsked(
            probe_id=_text(a, "id", f"asked[{i}]"),
            question=_text(a, "question", f"asked[{i}]"),
            token=_text(a, "token", f"asked[{i}]"),
            response=_answer(a.get("response"), f"asked[{i}].response"),
            error=_text(a, "error", f"asked[{i}]", optional=True),
            skipped=_text(a, "skipped", f"asked[{i}]", optional=True),
            doc_id=_text(a, "doc_id", f"asked[{i}]", optional=True),
            owner=_text(a, "owner", f"asked[{i}]", optional=True),
        )
        for i, a in enumerate(_items(data.get("asked"), "asked"))
    )
    return InjectionObservation(_text(data, "target", "observation"), asked)
