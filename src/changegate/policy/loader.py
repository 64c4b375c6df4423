"""Reading policy files and turning validation failures into readable, located errors."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from changegate.errors import InvalidInput
from changegate.policy.snapshot import freeze

if TYPE_CHECKING:
    from changegate.policy.schema import Policy

DEFAULT_POLICY_NAME = "default.yaml"


@dataclass(frozen=True)
class PolicyProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class LoadedPolicy:
    """The policy in force: its validated snapshot (see :mod:`changegate.policy.snapshot`),
    where it came from, its exact text and the text's SHA-256."""

    policy: Policy
    source: str
    text: str
    digest: str

    def validated(self) -> Policy:
        """The policy as the Pydantic schema object (for ``model_dump`` when showing it)."""
        policy = _validated(self.text)
        if policy is None:  # pragma: no cover - the text was valid when loaded
            raise InvalidInput(f"policy {self.source} is invalid", field="policy")
        return policy


@lru_cache(maxsize=4)
def _validated(text: str) -> Policy | None:
    return check_policy_text(text)[0]


def default_policy_text() -> str:
    return resources.files("changegate.policy").joinpath(DEFAULT_POLICY_NAME).read_text("utf-8")


@lru_cache(maxsize=1)
def _strict_loader() -> Any:
    """YAML's safe loader that refuses a key given twice in one mapping, at any depth.

    Plain YAML keeps the last of two equal keys, so a second ``segregation_of_duties:`` block
    further down a policy file would silently replace the first: a reader of the file and the
    policy in force would disagree. Merge keys (``<<``) still override, as YAML intends.
    """
    import yaml
    from yaml.constructor import ConstructorError

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class StrictLoader(base):  # type: ignore[misc,valid-type]
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            if isinstance(node, yaml.MappingNode):
                seen: dict[Any, Any] = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        first = seen.setdefault(key, key_node)
                    except TypeError:  # an unhashable key: the base class reports it
                        continue
                    if first is not key_node:
                        raise ConstructorError(
                            None,
                            None,
                            f"duplicate key {key!r} (first given on line "
                            f"{first.start_mark.line + 1}); keep one and merge the two",
                            key_node.start_mark,
                        )
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


def _parse_yaml(text: str) -> tuple[Any, list[PolicyProblem]]:
    import yaml

    try:
        return yaml.load(text, Loader=_strict_loader()), []
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "document"
        problem = getattr(exc, "problem", None) or str(exc)
        return None, [PolicyProblem(where, f"not valid YAML: {problem}")]


def check_policy_text(text: str) -> tuple[Policy | None, list[PolicyProblem]]:
    """Validate a policy document; return the policy or every problem found, each located."""
    from pydantic import ValidationError

    from changegate.policy.schema import Policy

    data, problems = _parse_yaml(text)
    if problems:
        return None, problems
    if not isinstance(data, dict):
        return None, [PolicyProblem("document", "expected a mapping of policy sections")]
    try:
        return Policy.model_validate(data), []
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "document"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling; see the default policy for every key)"
            elif err["type"] == "missing":
                msg = "required key is missing"
            if not err["loc"]:
                problems.extend(PolicyProblem(*_split(part)) for part in msg.split("; "))
            else:
                problems.append(PolicyProblem(loc, msg))
        return None, problems


def _split(part: str) -> tuple[str, str]:
    path, _, message = part.partition(": ")
    return (path, message) if message else ("document", part)


def read_policy_text(path: Path | str | None = None) -> tuple[str, str]:
    """The text of the policy in force and where it came from: the given file, or the default
    that ships with changegate."""
    if path is None:
        return default_policy_text(), "default"
    p = Path(path)
    try:
        return p.read_text("utf-8"), str(p)
    except OSError as exc:
        raise InvalidInput(
            f"cannot read policy file {p}: {exc.strerror}; pass an existing file with --policy "
            "or CHANGEGATE_POLICY",
            field="policy",
        ) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"policy file {p} is not UTF-8 text; save it as UTF-8", field="policy"
        ) from exc


def load_policy(path: Path | str | None = None) -> LoadedPolicy:
    """Load and validate the policy in force (see ``policy.service.policy_in_force`` for the
    variant that reuses the snapshot stored in the database)."""
    return parse_policy(*read_policy_text(path))


def policy_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_policy(text: str, source: str = "inline") -> LoadedPolicy:
    """Validate a policy text; raises ``InvalidInput`` listing every problem."""
    policy, problems = check_policy_text(text)
    if policy is None:
        listed = "; ".join(str(p) for p in problems)
        raise InvalidInput(
            f"policy {source} is invalid: {listed}. Run `changegate policy check` for details",
            field="policy",
        )
    return LoadedPolicy(policy=freeze(policy), source=source, text=text, digest=policy_digest(text))
