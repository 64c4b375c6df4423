"""Parse a LiteLLM proxy/router configuration into plain data.

The documented shape (``config.yaml`` of the LiteLLM proxy)::

    model_list:
      - model_name: gpt-4o                 # the model group clients ask for
        litellm_params:
          model: openai/gpt-4o-mini        # provider prefix / model id
          api_key: os.environ/OPENAI_API_KEY
          order: 1                         # optional priority within the group
        model_info: {id: deployment-1}     # optional stable deployment id
    router_settings:
      routing_strategy: simple-shuffle
      fallbacks: [{gpt-4o: [claude-sonnet]}]
      model_group_alias: {gpt-4: gpt-4o}
    litellm_settings: {fallbacks: [...], success_callback: [...]}
    guardrails: [{guardrail_name: ..., litellm_params: {...}}]
    general_settings: {master_key: os.environ/LITELLM_MASTER_KEY}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from changegate.ai.configfile import PathPart, dotted, line_of, parse_config
from changegate.ai.errors import ConfigParseError

# litellm_params keys that decide how traffic is shared inside a model group: LiteLLM's own
# semantics, not a policy choice (what a change of them means is: a reprioritisation).
PRIORITY_KEYS = frozenset({"order", "weight"})

#: the sections that hold settings; a fallback setting may sit in either of the first two
SETTINGS_SECTIONS = ("litellm_settings", "router_settings", "general_settings")

#: the group key under which a fallback list that names no group is kept
#: (``default_fallbacks: [claude-haiku]`` applies to every model group)
ALL_GROUPS = "*"


@dataclass(frozen=True)
class LiteLLMRules:
    """What the policy file (``ai.litellm``) says the keys of a LiteLLM config mean."""

    credential_keys: frozenset[str] = frozenset()
    endpoint_keys: frozenset[str] = frozenset()
    fallback_settings: tuple[str, ...] = ()
    security_settings: frozenset[str] = frozenset()

    @classmethod
    def from_policy(cls, litellm: Any) -> LiteLLMRules:
        """From the policy's ``ai.litellm`` (the schema object or its snapshot)."""
        return cls(
            credential_keys=frozenset(litellm.credential_keys),
            endpoint_keys=frozenset(litellm.endpoint_keys),
            fallback_settings=tuple(dict.fromkeys(litellm.fallback_settings)),
            security_settings=frozenset(litellm.security_settings),
        )


# Model name prefixes LiteLLM routes without an explicit provider prefix.
_INFERRED_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt-", "openai"),
    ("text-embedding-", "openai"),
    ("claude", "anthropic"),
    ("gemini", "gemini"),
    ("command", "cohere"),
    ("mistral", "mistral"),
)


@dataclass(frozen=True)
class Deployment:
    """One ``model_list`` entry."""

    group: str
    provider: str
    model: str
    model_id: str
    params: dict[str, Any]
    index: int
    deployment_id: str | None = None
    provider_inferred: bool = False
    #: the entry's other keys (``model_info`` and anything else), compared as they are
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def priority(self) -> tuple[float, int]:
        """Sort key inside a group: explicit ``order`` first, then list position."""
        order = self.params.get("order")
        if isinstance(order, int | float) and not isinstance(order, bool):
            return (float(order), self.index)
        return (float("inf"), self.index)

    @property
    def weight(self) -> float:
        w = self.params.get("weight")
        if isinstance(w, int | float) and not isinstance(w, bool):
            return float(w)
        return 1.0


@dataclass(frozen=True)
class LiteLLMConfig:
    """The parts of a LiteLLM config that classification reads."""

    deployments: tuple[Deployment, ...] = ()
    #: ``"litellm_settings.default_fallbacks"`` -> {model group (or ``*``): fallbacks in order}
    fallbacks: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    routing_strategy: str | None = None
    model_group_alias: dict[str, str] = field(default_factory=dict)
    router_settings: dict[str, Any] = field(default_factory=dict)
    litellm_settings: dict[str, Any] = field(default_factory=dict)
    general_settings: dict[str, Any] = field(default_factory=dict)
    environment_variables: dict[str, Any] = field(default_factory=dict)
    guardrails: dict[str, Any] = field(default_factory=dict)
    other: dict[str, Any] = field(default_factory=dict)

    def groups(self) -> dict[str, list[Deployment]]:
        out: dict[str, list[Deployment]] = {}
        for d in self.deployments:
            out.setdefault(d.group, []).append(d)
        for deps in out.values():
            deps.sort(key=lambda d: d.priority)
        return out

    def providers(self) -> set[str]:
        return {d.provider for d in self.deployments}


def split_model(model: str, custom_provider: str | None) -> tuple[str, str, bool]:
    """``(provider, model_id, inferred)`` for a ``litellm_params.model`` string."""
    if custom_provider:
        prefix = f"{custom_provider}/"
        model_id = model[len(prefix) :] if model.startswith(prefix) else model
        return custom_provider, model_id, False
    if "/" in model:
        provider, _, model_id = model.partition("/")
        return provider, model_id, False
    lowered = model.lower()
    for prefix, provider in _INFERRED_PROVIDERS:
        if lowered.startswith(prefix):
            return provider, model, True
    return "unknown", model, True


class _Reader:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path

    def fail(self, keys: list[PathPart], message: str) -> ConfigParseError:
        return ConfigParseError(
            f"{dotted(keys)} {message}",
            path=self.path,
            line=line_of(self.text, keys),
            field=dotted(keys),
        )

    def mapping(self, value: Any, keys: list[PathPart]) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(keys, f"must be a mapping, got {_kind(value)}")
        return {str(k): v for k, v in value.items()}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"


def _fallback_map(reader: _Reader, value: Any, keys: list[PathPart]) -> dict[str, tuple[str, ...]]:
    """LiteLLM writes fallbacks as ``[{group: [fallback, ...]}, ...]`` and default fallbacks
    as a plain list of groups (``[claude-haiku]``, kept under ``*``: every group); a plain
    mapping is accepted too."""
    if value is None:
        return {}
    items: list[tuple[Any, Any, list[PathPart]]] = []
    if isinstance(value, str) or (
        isinstance(value, list) and value and all(isinstance(v, str) for v in value)
    ):
        items = [(ALL_GROUPS, value, keys)]
    elif isinstance(value, dict):
        items = [(k, v, [*keys, str(k)]) for k, v in value.items()]
    elif isinstance(value, list):
        for i, entry in enumerate(value):
            if not isinstance(entry, dict) or not entry:
                raise reader.fail(
                    [*keys, i],
                    f"must be a mapping like {{gpt-4o: [claude-sonnet]}} (or, for every group, "
                    f"a list of model group names), got {_kind(entry)}",
                )
            items.extend((k, v, [*keys, i, str(k)]) for k, v in entry.items())
    else:
        raise reader.fail(keys, f"must be a list of {{group: [fallbacks]}}, got {_kind(value)}")
    out: dict[str, tuple[str, ...]] = {}
    for group, targets, where in items:
        if isinstance(targets, str):
            targets = [targets]
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise reader.fail(where, f"must be a list of model group names, got {_kind(targets)}")
        out[str(group)] = tuple(targets)
    return out


def parse_litellm_config(text: str, *, path: str, rules: LiteLLMRules) -> LiteLLMConfig:
    """Parse LiteLLM config text; shape errors name the file, line and field. ``rules`` say
    which settings are fallbacks (read as routing, not as plain settings)."""
    data = parse_config(text, path=path)
    reader = _Reader(text, path)
    if data is None:
        return LiteLLMConfig()
    top = reader.mapping(data, [])
    model_list = top.get("model_list")
    if model_list is None:
        model_list = []
    if not isinstance(model_list, list):
        raise reader.fail(["model_list"], f"must be a list of deployments, got {_kind(model_list)}")
    deployments = [_deployment(reader, entry, i) for i, entry in enumerate(model_list)]

    router = reader.mapping(top.get("router_settings"), ["router_settings"])
    litellm_settings = reader.mapping(top.get("litellm_settings"), ["litellm_settings"])
    fallbacks: dict[str, dict[str, tuple[str, ...]]] = {}
    for section, settings in (("litellm_settings", litellm_settings), ("router_settings", router)):
        for kind in rules.fallback_settings:
            parsed = _fallback_map(reader, settings.get(kind), [section, kind])
            if parsed:
                fallbacks[f"{section}.{kind}"] = parsed

    strategy = router.get("routing_strategy")
    if strategy is not None and not isinstance(strategy, str):
        raise reader.fail(["router_settings", "routing_strategy"], "must be a strategy name")

    aliases = _aliases(reader, router)
    guardrails = _guardrails(reader, top.get("guardrails"))

    known = {
        "model_list",
        "router_settings",
        "litellm_settings",
        "general_settings",
        "environment_variables",
        "guardrails",
    }
    return LiteLLMConfig(
        deployments=tuple(deployments),
        fallbacks=fallbacks,
        routing_strategy=strategy,
        model_group_alias=aliases,
        router_settings={
            k: v
            for k, v in router.items()
            if k not in rules.fallback_settings
            and k not in {"routing_strategy", "model_group_alias"}
        },
        litellm_settings={
            k: v for k, v in litellm_settings.items() if k not in rules.fallback_settings
        },
        general_settings=reader.mapping(top.get("general_settings"), ["general_settings"]),
        environment_variables=reader.mapping(
            top.get("environment_variables"), ["environment_variables"]
        ),
        guardrails=guardrails,
        other={k: v for k, v in top.items() if k not in known},
    )


def _deployment(reader: _Reader, entry: Any, i: int) -> Deployment:
    """``model_list[i]``: a model group served by one provider's model."""
    keys: list[PathPart] = ["model_list", i]
    entry_map = reader.mapping(entry, keys)
    name = entry_map.get("model_name")
    if not isinstance(name, str) or not name:
        raise reader.fail([*keys, "model_name"], "is required: the model group clients call")
    params = reader.mapping(entry_map.get("litellm_params"), [*keys, "litellm_params"])
    model = params.get("model")
    if not isinstance(model, str) or not model:
        raise reader.fail(
            [*keys, "litellm_params", "model"],
            "is required, e.g. model: openai/gpt-4o-mini (provider/model)",
        )
    custom = params.get("custom_llm_provider")
    if custom is not None and not isinstance(custom, str):
        raise reader.fail(
            [*keys, "litellm_params", "custom_llm_provider"], "must be a provider name"
        )
    provider, model_id, inferred = split_model(model, custom)
    info = reader.mapping(entry_map.get("model_info"), [*keys, "model_info"])
    dep_id = info.get("id")
    extra = {k: v for k, v in entry_map.items() if k not in ("model_name", "litellm_params")}
    return Deployment(
        group=name,
        provider=provider,
        model=model,
        model_id=model_id,
        params=params,
        index=i,
        deployment_id=str(dep_id) if dep_id is not None else None,
        provider_inferred=inferred,
        extra=extra,
    )


def _aliases(reader: _Reader, router: dict[str, Any]) -> dict[str, str]:
    """``router_settings.model_group_alias``: alias -> model group."""
    aliases: dict[str, str] = {}
    for alias, target in reader.mapping(
        router.get("model_group_alias"), ["router_settings", "model_group_alias"]
    ).items():
        if isinstance(target, dict):
            target = target.get("model")
        if not isinstance(target, str):
            raise reader.fail(
                ["router_settings", "model_group_alias", alias], "must name a model group"
            )
        aliases[alias] = target
    return aliases


def _guardrails(reader: _Reader, raw: Any) -> dict[str, Any]:
    """The top-level ``guardrails`` list, by ``guardrail_name``."""
    guardrails: dict[str, Any] = {}
    if raw is None:
        return guardrails
    if not isinstance(raw, list):
        raise reader.fail(["guardrails"], f"must be a list, got {_kind(raw)}")
    for i, g in enumerate(raw):
        g_map = reader.mapping(g, ["guardrails", i])
        name = g_map.get("guardrail_name", f"#{i}")
        guardrails[str(name)] = g_map
    return guardrails


def is_litellm_config(text: str | None, *, path: str) -> bool:
    """Whether ``text`` is recognisably a LiteLLM configuration, whatever the file's name: a
    ``model_list`` whose entries have ``litellm_params``. Never raises (a file that does not
    parse is not recognised)."""
    if not text or "model_list" not in text or "litellm_params" not in text:
        return False
    try:
        data = parse_config(text, path=path)
    except ConfigParseError:
        return False
    if not isinstance(data, dict):
        return False
    model_list = data.get("model_list")
    return isinstance(model_list, list) and any(
        isinstance(entry, dict) and isinstance(entry.get("litellm_params"), dict)
        for entry in model_list
    )
