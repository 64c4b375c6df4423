"""Read YAML/JSON configuration text, keeping line numbers for error messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from changegate.ai.errors import ConfigParseError

PathPart = str | int


def parse_config(text: str, *, path: str) -> Any:
    """Parse YAML or JSON text; errors name ``path`` and the 1-based line.

    JSON files (``*.json``) are read with the JSON parser, whose messages are clearer for
    JSON; everything else with YAML (a superset of JSON). An empty document is ``None``.
    """
    if path.endswith(".json"):
        try:
            return json.loads(text) if text.strip() else None
        except json.JSONDecodeError as exc:
            raise ConfigParseError(
                f"not valid JSON ({exc.msg} at column {exc.colno}); fix the syntax",
                path=path,
                line=exc.lineno,
            ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigParseError(
            f"not valid YAML ({problem}); fix the syntax", path=path, line=line
        ) from exc


def line_of(text: str, keys: Sequence[PathPart]) -> int | None:
    """1-based line of the node at ``keys`` (mapping keys and list indexes), if found.

    Used to point an error about the *shape* of a config at the right line. Returns the
    deepest node that exists when the full path does not.
    """
    try:
        node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line + 1
    for key in keys:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode) and isinstance(key, str):
            for k_node, v_node in node.value:
                if isinstance(k_node, yaml.ScalarNode) and k_node.value == key:
                    nxt = v_node
                    line = k_node.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(key, int)
            and 0 <= key < len(node.value)
        ):
            nxt = node.value[key]
            line = nxt.start_mark.line + 1
        if nxt is None:
            return line
        node = nxt
    return line


def dotted(keys: Sequence[PathPart]) -> str:
    """``("model_list", 0, "litellm_params")`` -> ``model_list[0].litellm_params``."""
    out = ""
    for k in keys:
        if isinstance(k, int):
            out += f"[{k}]"
        elif k.startswith("["):
            out += k
        else:
            out += f".{k}" if out else k
    return out


def flatten(value: Any, prefix: tuple[PathPart, ...] = ()) -> dict[tuple[PathPart, ...], Any]:
    """Leaves of a nested mapping; lists of scalars stay whole, lists of mappings are
    keyed by their ``id``/``name`` when they have one (so reordering is not a change)."""
    out: dict[tuple[PathPart, ...], Any] = {}
    if isinstance(value, dict):
        if not value and prefix:
            out[prefix] = {}
        for k, v in value.items():
            out.update(flatten(v, (*prefix, str(k))))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, item in enumerate(value):
            ident = _ident(item)
            out.update(flatten(item, (*prefix, ident if ident is not None else i)))
    else:
        out[prefix] = value
    return out


def _ident(item: dict[str, Any]) -> str | None:
    for key in ("id", "name", "rule_id", "rule", "category"):
        v = item.get(key)
        if isinstance(v, str | int) and not isinstance(v, bool):
            return f"[{key}={v}]"
    return None


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class TreeChange:
    """One difference between two parsed documents, at the shallowest path that differs."""

    path: tuple[PathPart, ...]
    old: Any
    new: Any

    @property
    def kind(self) -> str:
        if self.old is MISSING:
            return "added"
        if self.new is MISSING:
            return "removed"
        return "changed"

    @property
    def where(self) -> str:
        return dotted(self.path) or "(document)"


def _keyed(items: list[Any]) -> dict[str, Any] | None:
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    keyed: dict[str, Any] = {}
    for item in items:
        ident = _ident(item)
        if ident is None or ident in keyed:
            return None
        keyed[ident] = item
    return keyed


def diff_trees(old: Any, new: Any, prefix: tuple[PathPart, ...] = ()) -> list[TreeChange]:
    """Differences between two parsed YAML/JSON documents.

    Mappings are compared key by key and lists of mappings by their ``id``/``name`` (so a
    reordered rule list is no change); a subtree present on one side only is reported
    once, at its root.
    """
    if old == new:
        return []
    if old is MISSING or new is MISSING:
        return [TreeChange(prefix, old, new)]
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[TreeChange] = []
        for key in sorted(old.keys() | new.keys(), key=str):
            out.extend(
                diff_trees(old.get(key, MISSING), new.get(key, MISSING), (*prefix, str(key)))
            )
        return out
    if isinstance(old, list) and isinstance(new, list):
        ko, kn = _keyed(old), _keyed(new)
        if ko is not None and kn is not None:
            out = []
            for key in [*ko, *(k for k in kn if k not in ko)]:
                out.extend(diff_trees(ko.get(key, MISSING), kn.get(key, MISSING), (*prefix, key)))
            return out
    return [TreeChange(prefix, old, new)]
