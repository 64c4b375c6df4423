"""What changed between two policy versions, rule by rule (`changegate policy diff OLD NEW`).

Both texts are validated first; the comparison is over the validated documents, so a
reordered or reformatted file that means the same thing shows no difference. Lists of named
things are matched by their name (rules by ``id``, path rules by ``glob``, change history by
``version``), so a rule moved in the file is not reported as removed and added. Each
difference names its place (``rules[ai-tenant-isolation].require.name``), the policy section it
belongs to when the document says (``§10.2``), and the old and new values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from changegate.errors import InvalidInput

#: lists whose items are matched by this member rather than by position
KEYED_LISTS = {"rules": "id", "path_rules": "glob", "change_history": "version"}


@dataclass(frozen=True)
class Difference:
    path: str
    change: str  # added | removed | changed
    old: Any
    new: Any
    section: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "change": self.change,
            "section": self.section,
            "old": self.old,
            "new": self.new,
        }


def validated_document(text: str, name: str) -> dict[str, Any]:
    """The policy text as validated data, or the error naming the file and its problems."""
    from changegate.policy.loader import check_policy_text

    policy, problems = check_policy_text(text)
    if policy is None:
        shown = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise InvalidInput(
            f"{name}: not a valid policy: {shown}{more}; `changegate policy check {name}` "
            "lists every problem",
            field="file",
        )
    data: dict[str, Any] = policy.model_dump(mode="json", by_alias=True)
    return data


def diff_policies(old: dict[str, Any], new: dict[str, Any]) -> list[Difference]:
    """Every difference between two validated policy documents, in document order."""
    out: list[Difference] = []
    _walk(old, new, "", None, out)
    return out


def _section(value: Any, inherited: str | None) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("section"), str):
        return str(value["section"])
    return inherited


def _walk(old: Any, new: Any, path: str, section: str | None, out: list[Difference]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        here = _section(new, _section(old, section))
        for key in [*old, *(k for k in new if k not in old)]:
            where = f"{path}{key}" if str(key).startswith("[") else f"{path}.{key}" if path else key
            if key not in new:
                out.append(Difference(where, "removed", old[key], None, _section(old[key], here)))
            elif key not in old:
                out.append(Difference(where, "added", None, new[key], _section(new[key], here)))
            else:
                _walk_member(old[key], new[key], where, str(key), here, out)
        return
    out.append(Difference(path, "changed", old, new, section))


def _walk_member(
    old: Any, new: Any, where: str, key: str, section: str | None, out: list[Difference]
) -> None:
    name = KEYED_LISTS.get(key)
    if name and _keyed(old, name) is not None and _keyed(new, name) is not None:
        _walk(_keyed(old, name), _keyed(new, name), where, section, out)
        return
    _walk(old, new, where, section, out)


def _keyed(items: Any, name: str) -> dict[str, Any] | None:
    """A list of objects as ``{"[name-value]": item}``, or None when it cannot be keyed
    (not a list of objects with unique string names: then it is compared as a whole)."""
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        return None
    keys = [i.get(name) for i in items]
    if not all(isinstance(k, str) for k in keys) or len(set(keys)) != len(keys):
        return None
    return {f"[{k}]": i for k, i in zip(keys, items, strict=True)}
