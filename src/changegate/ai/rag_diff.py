"""Classify changes to RAG configuration and content-filter configuration.

Both are company-specific YAML/JSON, so the classifiers read any shape and name what
changed by key: embedding model, chunking, retrieval parameters, retrieval scope and
tenant isolation for RAG; thresholds, rules and switches for content filters.
"""

from __future__ import annotations

import json
import re
from typing import Any

from changegate.ai.categories import AiCategory, AiComponent
from changegate.ai.classification import AiChangeClassification, Finding, FindingLog
from changegate.ai.configfile import MISSING, PathPart, TreeChange, diff_trees, parse_config

_TENANT = re.compile(
    r"tenant|isolation|acl|access_control|permission|customer|org_id|organi[sz]ation|"
    r"account|workspace",
    re.I,
)
_EMBEDDING = re.compile(r"embed", re.I)
_CHUNKING = re.compile(r"chunk|split|overlap|separator", re.I)
_SCOPE = re.compile(r"scope|collection|index|namespace|source|corpus|dataset|table", re.I)
_RETRIEVAL = re.compile(r"top_?k|^k$|fetch_k|threshold|rerank|search|retriev|mmr|similarity", re.I)


def _show(value: Any) -> str:
    if value is MISSING:
        return "(absent)"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _describe(change: TreeChange) -> str:
    if change.kind == "added":
        return f"{change.where} added ({_show(change.new)})"
    if change.kind == "removed":
        return f"{change.where} removed (was {_show(change.old)})"
    return f"{change.where} {_show(change.old)} -> {_show(change.new)}"


def _mentions(pattern: re.Pattern[str], path: tuple[PathPart, ...], *values: Any) -> bool:
    if any(isinstance(p, str) and pattern.search(p) for p in path):
        return True
    return any(isinstance(v, str) and pattern.search(v) for v in values)


def _embedding_providers(change: TreeChange) -> set[str]:
    out: set[str] = set()
    for value in (change.old, change.new):
        stack = [value]
        while stack:
            v = stack.pop()
            if isinstance(v, dict):
                stack.extend(v.values())
                prov = v.get("provider")
                if isinstance(prov, str):
                    out.add(prov)
            elif isinstance(v, str) and "/" in v and " " not in v:
                out.add(v.split("/", 1)[0])
    last = change.path[-1] if change.path else ""
    if isinstance(last, str) and last.endswith("provider"):
        out |= {v for v in (change.old, change.new) if isinstance(v, str)}
    return out


def _scope_widened(change: TreeChange) -> list[str]:
    if isinstance(change.old, list) and isinstance(change.new, list):
        return [str(x) for x in change.new if x not in change.old]
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _load(text: str | None, path: str) -> Any:
    if text is None:
        return MISSING
    data = parse_config(text, path=path)
    return {} if data is None else data


def classify_rag_change(
    old_text: str | None, new_text: str | None, *, path: str
) -> AiChangeClassification:
    """Any RAG config difference is a ``rag-config-change``; touching tenant isolation
    settings (tenant filters, ACLs, namespaces per customer) is also security impacting."""
    old, new = _load(old_text, path), _load(new_text, path)
    findings: list[Finding] = []
    providers: set[str] = set()
    add = FindingLog(findings, AiComponent.RAG_PIPELINE, AiCategory.RAG_CONFIG_CHANGE, path).add

    if old is MISSING or new is MISSING:
        what = "added" if old is MISSING else "removed"
        tenant = _mentions(_TENANT, (), json.dumps(new if old is MISSING else old, default=str))
        add(
            f"RAG configuration file {what}"
            + ("; it carries tenant isolation settings" if tenant else ""),
            security=tenant,
        )
        return AiChangeClassification.from_findings(findings, paths=(path,))

    for change in diff_trees(old, new):
        text = _describe(change)
        if _mentions(_TENANT, change.path, change.old, change.new):
            add(
                f"tenant isolation control changed: {text}; verify tenant isolation",
                security=True,
            )
        elif _mentions(_EMBEDDING, change.path):
            providers |= _embedding_providers(change)
            add(f"embedding model changed: {text}; the index must be rebuilt")
        elif _mentions(_CHUNKING, change.path):
            add(f"chunking strategy changed: {text}")
        elif _mentions(_SCOPE, change.path):
            widened = _scope_widened(change)
            extra = f"; scope widened by {', '.join(widened)}" if widened else ""
            add(f"retrieval scope changed: {text}{extra}")
        elif _mentions(_RETRIEVAL, change.path):
            add(f"retrieval parameters changed: {text}")
        else:
            add(f"RAG setting changed: {text}")
    return AiChangeClassification.from_findings(findings, providers=providers, paths=(path,))


_SWITCH_KEYS = re.compile(r"^(?:enabled?|active|on|block(?:ing)?|enforced?|enforcement)$", re.I)


def classify_content_filter_change(
    old_text: str | None, new_text: str | None, *, path: str
) -> AiChangeClassification:
    """Any content filter difference is a security-impacting
    ``content-filtering-adjustment``; the findings say which threshold or rule moved."""
    old, new = _load(old_text, path), _load(new_text, path)
    findings: list[Finding] = []
    add = FindingLog(
        findings,
        AiComponent.CONTENT_FILTERING,
        AiCategory.CONTENT_FILTERING_ADJUSTMENT,
        path,
        security=True,
    ).add

    if old is MISSING or new is MISSING:
        add(f"content filter configuration file {'added' if old is MISSING else 'removed'}")
        return AiChangeClassification.from_findings(findings, paths=(path,))

    for change in diff_trees(old, new):
        text = _describe(change)
        last = change.path[-1] if change.path else ""
        if (
            isinstance(change.old, bool)
            and isinstance(change.new, bool)
            and isinstance(last, str)
            and _SWITCH_KEYS.match(last)
        ):
            state = "switched off" if change.old and not change.new else "switched on"
            add(f"filter {state}: {text}")
        elif _is_number(change.old) and _is_number(change.new):
            add(f"threshold changed: {text}")
        elif change.kind != "changed" and isinstance(
            change.new if change.kind == "added" else change.old, dict
        ):
            add(f"rule {change.kind}: {change.where}")
        else:
            add(f"filter setting changed: {text}")
    return AiChangeClassification.from_findings(findings, paths=(path,))
