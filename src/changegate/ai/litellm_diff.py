"""Classify a change between two versions of a LiteLLM router configuration.

Rules (policy 10.1; the key lists come from the policy file's ``ai.litellm``):

* a provider added to or removed from a model group, providers reordered (list position,
  ``order`` or ``weight``), any fallback setting changed (``ai.litellm.fallback_settings``:
  ``fallbacks``, ``default_fallbacks``, ``context_window_fallbacks``,
  ``content_policy_fallbacks``), or a deployment pointed at another endpoint
  (``ai.litellm.endpoint_keys``) -> ``model-provider-switch``;
* the same provider serving a different model id -> ``model-version-upgrade``;
* nothing but credential references inside ``litellm_params`` changed
  (``ai.litellm.credential_keys``, each from one ``os.environ/`` reference to another)
  -> ``credential-rotation``; alongside any other difference it is not a rotation;
* with ``incident=True``, any change that moves traffic to another provider or to a
  fallback -> ``emergency-model-fallback`` (listed first, the others kept);
* ``guardrails`` changed -> ``content-filtering-adjustment`` (security impacting); a
  setting in ``ai.litellm.security_settings`` (authentication, master key, redaction,
  logging destinations) -> security impacting.

Every other difference (temperature, timeouts, retries, ``model_info``, a setting whose name
merely contains "key" or "token") is a finding without a category: it is not understood, so
it never makes the change a pre-approved one (the class is normal).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from changegate.ai.categories import AiCategory, AiComponent
from changegate.ai.classification import AiChangeClassification, Finding, rotation_alone
from changegate.ai.litellm_config import (
    ALL_GROUPS,
    PRIORITY_KEYS,
    Deployment,
    LiteLLMConfig,
    LiteLLMRules,
    parse_litellm_config,
)

# Only for display: a value under a name like this is never printed unless it is a reference.
# It classifies nothing (a redaction switch is not a credential because of its name).
_SECRET_NAME = re.compile(r"(api_?key|secret|password|token|master_key|database_url)", re.I)
_ENV_REF = "os.environ/"


def _is_ref(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(_ENV_REF) and len(value) > len(_ENV_REF)


def _show(key: str, value: Any, rules: LiteLLMRules) -> str:
    """Render a config value for a finding without printing literal secrets."""
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        if (key in rules.credential_keys or _SECRET_NAME.search(key)) and not _is_ref(value):
            return "<literal secret>"
        return value
    if _holds_literal_secret(value):
        return "<value hidden: it holds a literal secret>"
    return json.dumps(value, sort_keys=True, default=str)


def _holds_literal_secret(value: Any) -> bool:
    """Whether a nested value has a secret-like key whose value is not a reference."""
    if isinstance(value, dict):
        return any(
            (isinstance(v, str) and _SECRET_NAME.search(str(k)) is not None and not _is_ref(v))
            or _holds_literal_secret(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_holds_literal_secret(v) for v in value)
    return False


def _is_literal_secret(key: str, value: Any, rules: LiteLLMRules) -> bool:
    return (
        key in rules.credential_keys
        and isinstance(value, str)
        and bool(value)
        and not _is_ref(value)
    )


def _provider_order(deps: list[Deployment]) -> list[str]:
    return list(dict.fromkeys(d.provider for d in deps))


def _weight_shares(deps: list[Deployment]) -> dict[str, float]:
    total = sum(d.weight for d in deps) or 1.0
    shares: dict[str, float] = {}
    for d in deps:
        shares[d.provider] = shares.get(d.provider, 0.0) + d.weight / total
    return shares


@dataclass
class _Diff:
    path: str
    rules: LiteLLMRules
    findings: list[Finding] = field(default_factory=list)
    providers: set[str] = field(default_factory=set)
    # (group, old primary providers, new primary providers) for traffic moves
    moves: list[str] = field(default_factory=list)

    def add(
        self,
        message: str,
        category: AiCategory | None,
        *,
        component: AiComponent = AiComponent.LLM_SHUFFLE,
        providers: tuple[str, ...] = (),
        security: bool = False,
        advisory: bool = False,
    ) -> None:
        self.findings.append(
            Finding(
                message=message,
                component=component,
                category=category,
                path=self.path,
                security_impacting=security,
                advisory=advisory,
            )
        )
        if category is not None:
            self.providers.update(p for p in providers if p)


def _diff_groups(d: _Diff, old: LiteLLMConfig, new: LiteLLMConfig) -> None:
    old_groups, new_groups = old.groups(), new.groups()
    old_all, new_all = old.providers(), new.providers()
    for group in sorted(old_groups.keys() | new_groups.keys()):
        o, n = old_groups.get(group, []), new_groups.get(group, [])
        if not o or not n:
            _group_added_or_removed(d, group, n or o, old_all if not o else new_all, added=not o)
            if not n:
                d.moves.append(f"model group '{group}' removed; its traffic goes to its fallbacks")
            continue
        _diff_group(d, group, o, n)


def _group_added_or_removed(
    d: _Diff, group: str, deployments: list[Deployment], elsewhere: set[str], *, added: bool
) -> None:
    """A model group only one side has: per provider, a version change when the provider
    serves other groups on the other side too, a provider switch when it does not."""
    for p in _provider_order(deployments):
        models = ", ".join(x.model for x in deployments if x.provider == p)
        if p in elsewhere:
            message = (
                f"model group '{group}' added, served by existing provider {p} ({models})"
                if added
                else f"model group '{group}' removed (provider {p} still serves other groups)"
            )
            d.add(message, AiCategory.MODEL_VERSION_UPGRADE, providers=(p,))
        else:
            message = (
                f"provider {p} added (new model group '{group}': {models})"
                if added
                else f"provider {p} removed (model group '{group}' removed)"
            )
            d.add(message, AiCategory.MODEL_PROVIDER_SWITCH, providers=(p,))


def _diff_group(d: _Diff, group: str, o: list[Deployment], n: list[Deployment]) -> None:
    o_prov, n_prov = _provider_order(o), _provider_order(n)
    for p in n_prov:
        if p not in o_prov:
            models = ", ".join(x.model for x in n if x.provider == p)
            d.add(
                f"model group '{group}': provider {p} added ({models})",
                AiCategory.MODEL_PROVIDER_SWITCH,
                providers=(p,),
            )
    for p in o_prov:
        if p not in n_prov:
            d.add(
                f"model group '{group}': provider {p} removed",
                AiCategory.MODEL_PROVIDER_SWITCH,
                providers=(p,),
            )
    common_old = [p for p in o_prov if p in n_prov]
    common_new = [p for p in n_prov if p in o_prov]
    if common_old != common_new:
        d.add(
            f"model group '{group}': providers reprioritized "
            f"({' > '.join(common_old)} -> {' > '.join(common_new)})",
            AiCategory.MODEL_PROVIDER_SWITCH,
            providers=tuple(common_new),
        )
    if o_prov[0] != n_prov[0]:
        d.moves.append(f"model group '{group}': primary provider {o_prov[0]} -> {n_prov[0]}")
    elif set(o_prov) - set(n_prov):
        gone = ", ".join(sorted(set(o_prov) - set(n_prov)))
        d.moves.append(f"model group '{group}': traffic moved off {gone}")
    o_share, n_share = _weight_shares(o), _weight_shares(n)
    changed_share = [p for p in common_new if abs(o_share.get(p, 0.0) - n_share.get(p, 0.0)) > 1e-9]
    if len(n_prov) > 1 and changed_share and any("weight" in x.params for x in o + n):
        shares = ", ".join(
            f"{p} {o_share.get(p, 0.0):.0%} -> {n_share.get(p, 0.0):.0%}" for p in changed_share
        )
        d.add(
            f"model group '{group}': traffic weights changed ({shares})",
            AiCategory.MODEL_PROVIDER_SWITCH,
            providers=tuple(changed_share),
        )
        d.moves.append(f"model group '{group}': traffic re-weighted ({shares})")
    for p in common_new:
        o_p = [x for x in o if x.provider == p]
        n_p = [x for x in n if x.provider == p]
        _diff_provider(d, group, p, o_p, n_p)


def _diff_provider(
    d: _Diff, group: str, provider: str, o: list[Deployment], n: list[Deployment]
) -> None:
    o_models = sorted(x.model_id for x in o)
    n_models = sorted(x.model_id for x in n)
    if o_models != n_models:
        d.add(
            f"model group '{group}': {provider} model {', '.join(o_models)} -> "
            f"{', '.join(n_models)}",
            AiCategory.MODEL_VERSION_UPGRADE,
            providers=(provider,),
        )
        return
    # same models: pair deployments by stable id when given, else by model and position
    new_ids = {y.deployment_id for y in n if y.deployment_id}
    by_id = {x.deployment_id: x for x in o if x.deployment_id and x.deployment_id in new_ids}
    pairs = [(by_id[y.deployment_id], y) for y in n if y.deployment_id in by_id]
    rest_old = [x for x in o if x.deployment_id not in by_id]
    rest_new = [y for y in n if y.deployment_id not in by_id]
    rest_old.sort(key=lambda x: (x.model_id, x.index))
    rest_new.sort(key=lambda x: (x.model_id, x.index))
    pairs.extend(zip(rest_old, rest_new, strict=False))
    label = f"model group '{group}' ({provider})"
    rules = d.rules
    for a, b in pairs:
        keys = sorted((a.params.keys() | b.params.keys()) - PRIORITY_KEYS - {"model"})
        for key in keys:
            va, vb = a.params.get(key), b.params.get(key)
            if va == vb:
                continue
            change = f"{key} {_show(key, va, rules)} -> {_show(key, vb, rules)}"
            if key in rules.credential_keys and _is_ref(va) and _is_ref(vb):
                d.add(
                    f"{label}: credential rotated: {change}",
                    AiCategory.CREDENTIAL_ROTATION,
                    providers=(provider,),
                )
            elif key in rules.credential_keys:
                d.add(
                    f"{label}: credential changed: {change}; a rotation replaces one "
                    f"{_ENV_REF} reference with another",
                    None,
                )
            elif key in rules.endpoint_keys:
                d.add(
                    f"{label}: endpoint changed: {change}; confirm the provider DPA covers it",
                    AiCategory.MODEL_PROVIDER_SWITCH,
                    providers=(provider,),
                )
                d.moves.append(f"{label}: endpoint {change}")
            else:
                d.add(f"{label}: {change}", None)
        for key in sorted(a.extra.keys() | b.extra.keys()):
            va, vb = a.extra.get(key), b.extra.get(key)
            if va != vb:
                d.add(f"{label}: {key} {_show(key, va, rules)} -> {_show(key, vb, rules)}", None)


def _fallback_label(setting: str, group: str) -> str:
    return f"{setting} (every model group)" if group == ALL_GROUPS else f"{setting} for '{group}'"


def _diff_fallbacks(d: _Diff, old: LiteLLMConfig, new: LiteLLMConfig) -> None:
    new_groups, old_groups = new.groups(), old.groups()

    def providers_of(groups: tuple[str, ...]) -> tuple[str, ...]:
        out: list[str] = []
        for g in groups:
            for dep in new_groups.get(g, old_groups.get(g, [])):
                out.append(dep.provider)
        return tuple(dict.fromkeys(out))

    for setting in sorted(old.fallbacks.keys() | new.fallbacks.keys()):
        o_map, n_map = old.fallbacks.get(setting, {}), new.fallbacks.get(setting, {})
        for group in sorted(o_map.keys() | n_map.keys()):
            o, n = o_map.get(group, ()), n_map.get(group, ())
            if o == n:
                continue
            if not o:
                what = f"added: {', '.join(n)}"
            elif not n:
                what = f"removed (were {', '.join(o)})"
            elif set(o) == set(n):
                what = f"reordered: {' > '.join(o)} -> {' > '.join(n)}"
            else:
                what = f"changed: {' > '.join(o)} -> {' > '.join(n)}"
            label = _fallback_label(setting, group)
            d.add(
                f"{label} {what}",
                AiCategory.MODEL_PROVIDER_SWITCH,
                providers=providers_of((*([] if group == ALL_GROUPS else [group]), *o, *n)),
            )
            if n and (not o or o[0] != n[0]):
                d.moves.append(f"{label} now go first to '{n[0]}'")


def _diff_router(d: _Diff, old: LiteLLMConfig, new: LiteLLMConfig) -> None:
    if old.routing_strategy != new.routing_strategy:
        multi = sorted(g for g, deps in new.groups().items() if len(_provider_order(deps)) > 1)
        change = f"routing_strategy {old.routing_strategy or '(default)'} -> " + (
            new.routing_strategy or "(default)"
        )
        if multi:
            provs = tuple(dict.fromkeys(p for g in multi for p in _provider_order(new.groups()[g])))
            d.add(
                f"{change} changes how traffic is split between providers in "
                f"{', '.join(repr(g) for g in multi)}",
                AiCategory.MODEL_PROVIDER_SWITCH,
                providers=provs,
            )
            d.moves.append(change)
        else:
            d.add(change, None, component=AiComponent.ORCHESTRATION)
    new_groups, old_groups = new.groups(), old.groups()
    for alias in sorted(old.model_group_alias.keys() | new.model_group_alias.keys()):
        a, b = old.model_group_alias.get(alias), new.model_group_alias.get(alias)
        if a == b:
            continue
        pa = set(_provider_order(old_groups.get(a, []))) if a else set()
        pb = set(_provider_order(new_groups.get(b, []))) if b else set()
        msg = f"model_group_alias '{alias}': {a or '(none)'} -> {b or '(none)'}"
        if pa != pb:
            d.add(msg, AiCategory.MODEL_PROVIDER_SWITCH, providers=tuple(sorted(pa ^ pb)))
            d.moves.append(msg)
        else:
            d.add(msg, AiCategory.MODEL_VERSION_UPGRADE, providers=tuple(sorted(pb)))
    _diff_settings(d, "router_settings", old.router_settings, new.router_settings)


def _diff_settings(d: _Diff, section: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    rules = d.rules
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        change = f"{section}.{key} {_show(key, a, rules)} -> {_show(key, b, rules)}"
        if key == "guardrails":
            d.add(
                change,
                AiCategory.CONTENT_FILTERING_ADJUSTMENT,
                component=AiComponent.CONTENT_FILTERING,
                security=True,
            )
        elif key in rules.security_settings:
            d.add(
                f"{change}: a security-impacting setting (authentication, redaction, logging "
                "destinations or guardrails); assess prompt injection and data-leakage risk",
                None,
                component=AiComponent.ORCHESTRATION,
                security=True,
            )
        else:
            d.add(change, None, component=AiComponent.ORCHESTRATION)


def _diff_guardrails(d: _Diff, old: LiteLLMConfig, new: LiteLLMConfig) -> None:
    for name in sorted(old.guardrails.keys() | new.guardrails.keys()):
        a, b = old.guardrails.get(name), new.guardrails.get(name)
        if a == b:
            continue
        what = "added" if a is None else "removed" if b is None else "changed"
        d.add(
            f"guardrail '{name}' {what}",
            AiCategory.CONTENT_FILTERING_ADJUSTMENT,
            component=AiComponent.CONTENT_FILTERING,
            security=True,
        )


def _literal_secrets(cfg: LiteLLMConfig, rules: LiteLLMRules) -> set[tuple[str, str, str, str]]:
    return {
        (dep.group, dep.provider, key, str(value))
        for dep in cfg.deployments
        for key, value in dep.params.items()
        if _is_literal_secret(key, value, rules)
    }


def diff_litellm_configs(
    old: LiteLLMConfig,
    new: LiteLLMConfig,
    *,
    path: str,
    rules: LiteLLMRules,
    incident: bool = False,
) -> AiChangeClassification:
    """Classify the difference between two parsed LiteLLM configs."""
    d = _Diff(path=path, rules=rules)
    _diff_groups(d, old, new)
    _diff_fallbacks(d, old, new)
    _diff_router(d, old, new)
    _diff_settings(d, "litellm_settings", old.litellm_settings, new.litellm_settings)
    _diff_settings(d, "general_settings", old.general_settings, new.general_settings)
    _diff_settings(d, "environment_variables", old.environment_variables, new.environment_variables)
    _diff_settings(d, "(top level)", old.other, new.other)
    _diff_guardrails(d, old, new)
    for group, provider, key, _ in sorted(
        _literal_secrets(new, rules) - _literal_secrets(old, rules)
    ):
        d.add(
            f"model group '{group}' ({provider}): {key} is a literal secret in the file; "
            f"reference an environment variable instead (os.environ/NAME) and revoke it",
            None,
            security=True,
        )
    for dep in new.deployments:
        if dep.provider_inferred and not any(
            o.group == dep.group and o.model == dep.model for o in old.deployments
        ):
            d.add(
                f"model group '{dep.group}': provider of '{dep.model}' inferred as "
                f"{dep.provider}; write it as provider/model to make it explicit",
                None,
                advisory=True,
            )
    switched = any(f.category is AiCategory.MODEL_PROVIDER_SWITCH for f in d.findings)
    if incident:
        if switched and d.moves:
            d.add(
                "incident declared and traffic moved to a fallback: " + "; ".join(d.moves),
                AiCategory.EMERGENCY_MODEL_FALLBACK,
                providers=tuple(d.providers),
            )
        else:
            d.add(
                "incident declared, but this change activates no fallback provider; "
                "it is not an emergency model fallback",
                None,
                advisory=True,
            )
    return rotation_alone(
        AiChangeClassification.from_findings(d.findings, providers=d.providers, paths=(path,))
    )


def classify_litellm_change(
    old_text: str | None,
    new_text: str | None,
    *,
    path: str,
    rules: LiteLLMRules,
    incident: bool = False,
) -> AiChangeClassification:
    """Classify a LiteLLM config change; ``None`` means the file did not exist."""

    def parse(text: str | None) -> LiteLLMConfig:
        if text is None:
            return LiteLLMConfig()
        return parse_litellm_config(text, path=path, rules=rules)

    return diff_litellm_configs(
        parse(old_text), parse(new_text), path=path, rules=rules, incident=incident
    )
