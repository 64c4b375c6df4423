"""A validated policy as plain Python objects.

Validating a policy file needs Pydantic; using a validated policy does not. :func:`freeze`
turns the validated schema objects (:mod:`changegate.policy.schema`) into read-only
:class:`Frozen` objects with the same attribute names and the same methods. The database keeps
each recorded policy version's snapshot as JSON (:func:`to_json`, :func:`from_json`: plain data,
never code), so a CLI call (`changegate gate` in a pipeline, even on a fresh CI runner) reads
the policy in force without importing Pydantic, and every entry point evaluates the same kind
of object.

The methods both forms share live in the mixins of :mod:`changegate.policy.methods`, so there
is one definition of each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from changegate.policy.methods import PathRuleMethods, PolicyMethods

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

#: bumped when the shape of snapshots (or of the schema) changes: a stored snapshot of another
#: format is never used, the policy text is validated again instead (5: categories gained the
#: §3a `catalogue`; 6: §9 `policy_review`; 7: §7 `access_review`; 11: §6 `controls`, the
#: auditor's control matrix; 12: §6 `findings`; 13: `oidc`, pipelines' identity tokens and
#: the trust rules; 14: `audit_checkpoints`, when the server signs checkpoints of the audit log)
SNAPSHOT_FORMAT = 14


class Frozen:
    """The fields of one validated schema object, read-only, by their Python names."""

    def __init__(self, fields: Mapping[str, Any]) -> None:
        object.__setattr__(self, "__dict__", dict(fields))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the policy is read-only; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"the policy is read-only; cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and vars(other) == vars(self)

    def __hash__(self) -> int:  # consistent with __eq__; fields may hold lists
        return hash((type(self), tuple(vars(self))))

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (vars(self),))


class FrozenPolicy(Frozen, PolicyMethods):
    pass


class FrozenPathRule(Frozen, PathRuleMethods):
    pass


_SNAPSHOT_CLASSES: dict[str, type[Frozen]] = {
    "Policy": FrozenPolicy,
    "PathRule": FrozenPathRule,
}
_TAGS: dict[type[Frozen], str] = {FrozenPolicy: "Policy", FrozenPathRule: "PathRule", Frozen: ""}
_CLASSES_BY_TAG = {tag: cls for cls, tag in _TAGS.items()}
_TAG = "__frozen__"


def _freeze(value: Any) -> Any:
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:  # a Pydantic model of the schema
        cls = _SNAPSHOT_CLASSES.get(type(value).__name__, Frozen)
        return cls({name: _freeze(getattr(value, name)) for name in fields})
    if isinstance(value, list | tuple):  # one sequence type, as JSON has
        return [_freeze(v) for v in value]
    if isinstance(value, dict):
        return {k: _freeze(v) for k, v in value.items()}
    return value


def freeze(policy: Policy) -> Policy:
    """The validated policy as plain objects with the schema's attributes and methods.

    Typed as the schema, which describes it: same attribute names, same field types, same
    methods. What it lacks is Pydantic's own API (``model_dump`` and the like); use
    :func:`as_data` for plain data and ``LoadedPolicy.validated()`` for the schema object.
    """
    return cast("Policy", _freeze(policy))


def as_data(value: Any) -> Any:
    """Plain data (dicts, lists, scalars) from a snapshot or a schema object, by Python names."""
    if isinstance(value, Frozen):
        return {k: as_data(v) for k, v in vars(value).items()}
    if getattr(type(value), "model_fields", None) is not None:
        return as_data(_freeze(value))
    if isinstance(value, list | tuple):
        return [as_data(v) for v in value]
    if isinstance(value, dict):
        return {k: as_data(v) for k, v in value.items()}
    return value


def to_json(policy: Policy) -> str:
    """The snapshot as JSON text; schema objects become ``{"__frozen__": tag, ...fields}``."""
    import json

    def encode(value: Any) -> Any:
        if isinstance(value, Frozen):
            return {_TAG: _TAGS[type(value)], **{k: encode(v) for k, v in vars(value).items()}}
        if isinstance(value, list):
            return [encode(v) for v in value]
        if isinstance(value, dict):
            if _TAG in value:
                raise ValueError(f"a policy mapping may not use the key {_TAG!r}")
            return {k: encode(v) for k, v in value.items()}
        return value

    return json.dumps(encode(_freeze(policy)), ensure_ascii=False, separators=(",", ":"))


def from_json(text: str) -> Policy:
    """The snapshot :func:`to_json` wrote. Raises ``ValueError`` on anything else."""
    import json

    def decode(obj: dict[str, Any]) -> Any:
        tag = obj.pop(_TAG, None)
        if tag is None:
            return obj
        cls = _CLASSES_BY_TAG.get(tag)
        if cls is None:
            raise ValueError(f"unknown snapshot node {tag!r}")
        return cls(obj)

    policy = json.loads(text, object_hook=decode)
    if not isinstance(policy, FrozenPolicy):
        raise ValueError("not a policy snapshot")
    return cast("Policy", policy)
