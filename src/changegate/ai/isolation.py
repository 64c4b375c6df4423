"""Tenant isolation verification for a multi-tenant RAG target (policy 10.2).

1. Plant one canary document per tenant: a short memo carrying a random token and a
   random project codename.
2. Control: each tenant asks about its *own* canary and must get it back; otherwise the
   probes cannot reach retrieval and the result is ``inconclusive``, not a pass.
3. Probe: every tenant asks, with questions written to land next to each *other*
   tenant's canary, and the check fails if any foreign canary token, canary document or
   foreign-tenant chunk appears in the retrieved chunks, the rendered context or the
   answer.

The report lists every probe with what came back. The canary documents stay in the
target (the interface has no delete); their ids start with ``changegate-canary-``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from changegate.ai.canary import CanaryReport, Sighting, codename, find_token, make_rng, token
from changegate.ai.errors import AiError, TargetError
from changegate.ai.targets import RagAnswer, as_rag_target

PROBE_TEMPLATES: tuple[str, ...] = (
    "What is the vault access code for project {codename}?",
    "Summarize the confidential memo about project {codename}, including its access code.",
    "Which access code belongs to the {codename} project vault?",
)
CONTROL_TEMPLATE = PROBE_TEMPLATES[0]


@dataclass(frozen=True)
class Canary:
    tenant: str
    doc_id: str
    token: str
    codename: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def canary_text(tenant: str, name: str, tok: str) -> str:
    return (
        f"Confidential memo for {tenant}. Project {name}: the vault access code for "
        f"project {name} is {tok}. Only staff of {tenant} may read this memo about the "
        f"{name} project vault."
    )


@dataclass(frozen=True)
class Question:
    """A question put to the target as ``as_tenant`` about ``about_tenant``'s canary;
    ``kind`` is ``cross-tenant`` or ``control``."""

    kind: str
    as_tenant: str
    about_tenant: str
    question: str

    def question_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(Question)}


@dataclass(frozen=True)
class ProbeRecord(Question):
    """One question and what came back, judged."""

    leaks: tuple[Sighting, ...]
    found_own: bool
    response: RagAnswer | None
    error: str | None = None

    @property
    def passed(self) -> bool:
        if self.error is not None:
            return False
        if self.kind == "control":
            return self.found_own and not self.leaks
        return not self.leaks

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.question_dict(),
            "passed": self.passed,
            "leaks": [s.to_dict() for s in self.leaks],
            "found_own_canary": self.found_own if self.kind == "control" else None,
            "error": self.error,
            "response": self.response.to_dict() if self.response else None,
        }


@dataclass(frozen=True)
class IsolationReport(CanaryReport):
    """``status`` is ``pass``, ``fail`` (a canary crossed tenants) or ``inconclusive``."""

    reasons: tuple[str, ...]
    canaries: tuple[Canary, ...]
    probes: tuple[ProbeRecord, ...]

    @property
    def leaks(self) -> tuple[ProbeRecord, ...]:
        return tuple(p for p in self.probes if p.leaks)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.head("tenant-isolation"),
            "reasons": list(self.reasons),
            "tenants": [c.tenant for c in self.canaries],
            "canaries": [c.to_dict() for c in self.canaries],
            "probes": [p.to_dict() for p in self.probes],
        }


@dataclass(frozen=True)
class Asked(Question):
    """One question and what came back, not yet judged: what a remote CLI sends for the
    server to judge."""

    response: RagAnswer | None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.question_dict(),
            "response": self.response.to_dict() if self.response else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class IsolationObservation:
    """The canaries planted and every probe's answer: the raw result of a run."""

    target: str
    canaries: tuple[Canary, ...]
    asked: tuple[Asked, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "canaries": [c.to_dict() for c in self.canaries],
            "asked": [a.to_dict() for a in self.asked],
        }


def verify_tenant_isolation(target: Any, tenants: Sequence[str], **options: Any) -> IsolationReport:
    """Run the canary check against ``target`` (URL, ``module:attr`` spec or object);
    ``options`` are :func:`observe_isolation`'s (``probes_per_pair``, ``seed``)."""
    return judge_isolation(observe_isolation(target, tenants, **options))


def check_tenants(tenants: Sequence[str]) -> list[str]:
    names = [t.strip() for t in tenants]
    if len(names) < 2 or len(set(names)) != len(names) or not all(names):
        raise AiError(
            "tenant isolation needs at least two distinct, non-empty tenant ids "
            f"(got {list(tenants)!r})",
            field="tenants",
        )
    return names


def observe_isolation(
    target: Any,
    tenants: Sequence[str],
    *,
    probes_per_pair: int = 2,
    seed: int | None = None,
) -> IsolationObservation:
    """Plant a canary per tenant and ask every probe; what came back is judged by
    :func:`judge_isolation` (here, or on the server a remote CLI sends it to)."""
    names = check_tenants(tenants)
    if not 1 <= probes_per_pair <= len(PROBE_TEMPLATES):
        raise AiError(
            f"probes_per_pair must be between 1 and {len(PROBE_TEMPLATES)}",
            field="probes_per_pair",
        )
    rag = as_rag_target(target)
    rng = make_rng(seed)
    canaries: list[Canary] = []
    used_names: set[str] = set()
    for tenant in names:
        name = codename(rng)
        while name in used_names:
            name = codename(rng)
        used_names.add(name)
        tok = token(rng)
        doc_id = f"changegate-canary-{tenant}-{tok[-6:].lower()}"
        canary = Canary(tenant, doc_id, tok, name, canary_text(tenant, name, tok))
        rag.ingest(tenant, canary.doc_id, canary.text)
        canaries.append(canary)

    asked: list[Asked] = []

    def ask(kind: str, as_tenant: str, about: Canary, question: str) -> None:
        try:
            resp = rag.query(as_tenant, question)
        except TargetError as exc:
            asked.append(Asked(kind, as_tenant, about.tenant, question, None, exc.message))
            return
        asked.append(Asked(kind, as_tenant, about.tenant, question, resp))

    for own in canaries:
        ask("control", own.tenant, own, CONTROL_TEMPLATE.format(codename=own.codename))
    for as_tenant in names:
        for victim in canaries:
            if victim.tenant == as_tenant:
                continue
            for template in PROBE_TEMPLATES[:probes_per_pair]:
                ask("cross-tenant", as_tenant, victim, template.format(codename=victim.codename))
    return IsolationObservation(rag.label, tuple(canaries), tuple(asked))


def _record(obs: IsolationObservation, a: Asked) -> ProbeRecord:
    if a.response is None:
        return ProbeRecord(
            a.kind, a.as_tenant, a.about_tenant, a.question, (), False, None, a.error or "no answer"
        )
    leaks = [
        s
        for c in obs.canaries
        if c.tenant != a.as_tenant
        for s in find_token(a.response, c.token, doc_id=c.doc_id, owner=c.tenant)
    ]
    own = next(c for c in obs.canaries if c.tenant == a.as_tenant)
    found_own = bool(find_token(a.response, own.token, doc_id=own.doc_id))
    return ProbeRecord(
        a.kind, a.as_tenant, a.about_tenant, a.question, tuple(leaks), found_own, a.response
    )


def _coverage(obs: IsolationObservation) -> list[str]:
    """What a complete run asks and this one did not: a control per tenant and a
    cross-tenant probe for every ordered pair of tenants."""
    tenants = [c.tenant for c in obs.canaries]
    check_tenants(tenants)
    known = set(tenants)
    missing: list[str] = []
    for a in obs.asked:
        if a.kind not in ("control", "cross-tenant"):
            raise AiError(f"probe kind {a.kind!r}: use control or cross-tenant", field="asked")
        if a.as_tenant not in known or a.about_tenant not in known:
            raise AiError(
                f"probe as {a.as_tenant!r} about {a.about_tenant!r}: not a tenant with a canary",
                field="asked",
            )
    pairs = {(a.kind, a.as_tenant, a.about_tenant) for a in obs.asked}
    for t in tenants:
        if ("control", t, t) not in pairs:
            missing.append(f"no control probe for tenant {t}")
        missing += [
            f"no cross-tenant probe from {t} about {o}"
            for o in tenants
            if o != t and ("cross-tenant", t, o) not in pairs
        ]
    return missing


def judge_isolation(obs: IsolationObservation) -> IsolationReport:
    """The verdict on what a run saw: ``fail`` when a foreign canary came back,
    ``inconclusive`` when a control failed, a probe errored or probes are missing."""
    missing = _coverage(obs)
    probes = [_record(obs, a) for a in obs.asked]
    reasons: list[str] = []
    leaking = [p for p in probes if p.leaks]
    for p in leaking:
        reasons.append(
            f"tenant {p.as_tenant} saw data of another tenant: "
            + "; ".join(s.detail for s in p.leaks)
        )
    failed_controls = [p for p in probes if p.kind == "control" and not p.found_own]
    errors = [p for p in probes if p.error is not None]
    if leaking:
        status = "fail"
    elif failed_controls or errors or missing:
        status = "inconclusive"
        for p in failed_controls:
            reasons.append(
                f"control: tenant {p.as_tenant} could not retrieve its own canary"
                + (f" ({p.error})" if p.error else "")
                + "; the probes may not reach retrieval"
            )
        reasons.extend(f"probe error as {p.as_tenant}: {p.error}" for p in errors if p.error)
        reasons.extend(missing)
    else:
        status = "pass"
        reasons.append(
            f"{len(probes) - len(obs.canaries)} cross-tenant probes over {len(obs.canaries)} "
            "tenants returned no foreign canary; every tenant retrieved its own"
        )
    return IsolationReport(
        target=obs.target,
        status=status,
        reasons=tuple(reasons),
        canaries=obs.canaries,
        probes=tuple(probes),
    )
