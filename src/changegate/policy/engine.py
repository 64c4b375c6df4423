"""Requirement evaluation from plain data: no database, no I/O.

Every rule of the policy that applies to a change yields one :class:`RequirementResult`.
Evaluation fails closed: a requirement that cannot be evaluated is unmet, never skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from changegate.policy.schema import Policy, Rule, When


@dataclass(frozen=True)
class ApprovalFact:
    approver: str
    roles: frozenset[str]
    current: bool  # bound to the change's present content digest
    at: dt.datetime | None = None


@dataclass(frozen=True)
class EvidenceFact:
    kind: str  # junit | validation | document
    name: str  # suite name, validation name or document kind
    passed: bool | None = None
    summary: Mapping[str, Any] | None = None
    details: str = ""
    actor: str = ""
    at: dt.datetime | None = None
    #: the change's fields as they were when attached (policy evidence.stale_when_changed);
    #: None: recorded before evidence was bound, never stale
    bound_to: Mapping[str, Any] | None = None
    #: SHA-256 of the stored file behind it (a validation's report), if any
    report: str | None = None
    #: roles the person who attached it holds (none once deactivated); None: unknown, so a
    #: requirement with ``attached_by`` does not count it (fail closed)
    actor_roles: frozenset[str] | None = None


@dataclass(frozen=True)
class EmergencyReviewFact:
    reviewer: str
    at: dt.datetime
    fields: Mapping[str, str]


@dataclass(frozen=True)
class DeployerFact:
    name: str
    roles: frozenset[str]
    known: bool = True


@dataclass(frozen=True)
class ChangeFacts:
    id: str
    change_class: str
    author: str
    risk: Mapping[str, str]
    category: str | None = None
    components: Sequence[str] = ()
    providers: Sequence[str] = ()
    fields: Mapping[str, Any] = field(default_factory=dict)
    security_flag: bool = False
    approvals: Sequence[ApprovalFact] = ()
    evidence: Sequence[EvidenceFact] = ()
    first_deployed_at: dt.datetime | None = None
    created_at: dt.datetime | None = None
    emergency_review: EmergencyReviewFact | None = None
    #: people who authored, committed or pushed the change's commits: authors of the change
    #: for segregation of duties, as ``author`` is
    commit_authors: frozenset[str] = frozenset()
    #: hooks for requirement kinds whose data lives elsewhere (e.g. the DPA register)
    extra: Mapping[str, Callable[[Rule, ChangeFacts], tuple[bool, str]]] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class RequirementResult:
    rule_id: str
    section: str
    description: str
    kind: str
    stage: str
    met: bool
    reason: str
    policy: str
    bypassed: bool = False
    due: dt.datetime | None = None
    overdue: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "section": self.section,
            "description": self.description,
            "kind": self.kind,
            "stage": self.stage,
            "met": self.met,
            "reason": self.reason,
            "policy": self.policy,
            "bypassed": self.bypassed,
            "due": None if self.due is None else _fmt_iso(self.due),
            "overdue": self.overdue,
        }


@dataclass(frozen=True)
class Evaluation:
    change_id: str
    policy: str
    high_risk: bool
    security_impacting: bool
    ai: bool
    results: tuple[RequirementResult, ...]

    def stage(self, stage: str) -> list[RequirementResult]:
        return [r for r in self.results if r.stage == stage]

    @property
    def gate_open(self) -> bool:
        return all(r.met for r in self.stage("gate"))

    @property
    def unmet(self) -> list[RequirementResult]:
        return [r for r in self.results if not r.met]


def _fmt_iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def fmt_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# --- classification --------------------------------------------------------------------------


def is_high_risk(policy: Policy, risk: Mapping[str, str]) -> bool:
    threshold = policy.risk.high_risk.any_dimension_at_least
    return any(
        level in policy.risk.levels and policy.is_high(level, threshold) for level in risk.values()
    )


def is_security_impacting(policy: Policy, facts: ChangeFacts) -> bool:
    si = policy.security_impacting
    if facts.security_flag:
        return True
    for dim, threshold in si.risk_at_least.items():
        level = facts.risk.get(dim)
        if level in policy.risk.levels and policy.is_high(level, threshold):
            return True
    if set(facts.components) & set(si.components):
        return True
    return facts.category in si.categories


def rule_applies(when: When, policy: Policy, facts: ChangeFacts, flags: Mapping[str, bool]) -> bool:
    if when.change_class is not None and facts.change_class not in when.change_class:
        return False
    if when.category is not None and facts.category not in when.category:
        return False
    if when.components is not None and not set(when.components) & set(facts.components):
        return False
    for name in ("ai", "security_impacting", "high_risk", "provider_relationship"):
        wanted = getattr(when, name)
        if wanted is not None and flags[name] != wanted:
            return False
    return True


# --- evaluation ------------------------------------------------------------------------------


def evaluate(policy: Policy, facts: ChangeFacts, *, now: dt.datetime) -> Evaluation:
    category = policy.categories.get(facts.category or "")
    flags = {
        "ai": bool(category and category.ai),
        "security_impacting": is_security_impacting(policy, facts),
        "high_risk": is_high_risk(policy, facts.risk),
        "provider_relationship": bool(category and category.provider_relationship),
    }
    applicable = [r for r in policy.rules if rule_applies(r.when, policy, facts, flags)]
    class_spec = policy.classes.get(facts.change_class)  # type: ignore[call-overload]
    bypass = bool(class_spec and class_spec.bypass_approval)
    approval_rules = [r for r in applicable if r.require.kind == "approval"]
    approval_results = {} if bypass else _evaluate_approvals(policy, facts, approval_rules)
    label = policy.label
    stale = stale_evidence(policy, facts.evidence, facts.fields)
    current = replace(facts, evidence=[e for e in facts.evidence if id(e) not in stale])
    out: list[RequirementResult] = []
    for rule in applicable:
        kind = rule.require.kind
        due: dt.datetime | None = None
        overdue = False
        bypassed = False
        try:
            if kind == "approval" and bypass:
                met, bypassed = True, True
                just = str(facts.fields.get("justification") or "").strip()
                reason = f"bypassed: {facts.change_class} change" + (
                    f" (justification: {just})" if just else ""
                )
            elif kind == "approval":
                met, reason = approval_results[rule.id]
            elif kind in ("retrospective_review", "post_incident_review"):
                met, reason, due, overdue = _evaluate_emergency(policy, rule, facts, now)
            else:
                evaluator = _EVALUATORS.get(kind)
                hook = facts.extra.get(kind)
                if hook is not None:
                    met, reason = hook(rule, facts)
                elif evaluator is None:
                    met, reason = False, f"cannot evaluate: unknown requirement kind '{kind}'"
                else:
                    met, reason = evaluator(policy, rule, current)
                    if not met:
                        reason += _stale_note(rule, facts.evidence, stale)
        except Exception as exc:  # fail closed: an evaluation error is an unmet requirement
            met, reason = False, f"cannot evaluate: {type(exc).__name__}: {exc}"
        out.append(
            RequirementResult(
                rule_id=rule.id,
                section=rule.section,
                description=rule.description,
                kind=kind,
                stage=rule.stage,
                met=met,
                reason=reason,
                policy=f"{label} §{rule.section} rule {rule.id}",
                bypassed=bypassed,
                due=due,
                overdue=overdue,
            )
        )
    return Evaluation(
        change_id=facts.id,
        policy=label,
        high_risk=flags["high_risk"],
        security_impacting=flags["security_impacting"],
        ai=flags["ai"],
        results=tuple(out),
    )


def stale_evidence(
    policy: Policy, evidence: Sequence[EvidenceFact], now: Mapping[str, Any]
) -> dict[int, list[str]]:
    """Evidence attached before an edit to a field the policy binds evidence to.

    ``now`` holds the change's fields as they are. Maps ``id()`` of each stale fact to the
    fields that changed since it was attached (a field the policy lists but the evidence did
    not record counts as changed: fail closed).
    """
    fields = policy.evidence.stale_when_changed
    out: dict[int, list[str]] = {}
    for e in evidence:
        if e.bound_to is None or not fields:
            continue
        changed = [
            f for f in fields if f not in e.bound_to or _plain(e.bound_to[f]) != _plain(now.get(f))
        ]
        if changed:
            out[id(e)] = changed
    return out


def _plain(value: Any) -> Any:
    """Comparable form of a field value: sequences as lists, and every empty value alike."""
    if isinstance(value, list | tuple):
        value = [_plain(v) for v in value]
    elif isinstance(value, Mapping):
        value = {k: _plain(v) for k, v in value.items()}
    return None if value in ("", None, [], {}) else value


def _stale_note(
    rule: Rule, evidence: Sequence[EvidenceFact], stale: Mapping[int, list[str]]
) -> str:
    kind, name = rule.require.kind, rule.require.name
    hits = [
        stale[id(e)]
        for e in evidence
        if id(e) in stale and e.kind == kind and (name is None or e.name == name)
    ]
    if not hits:
        return ""
    changed = sorted({f for fields in hits for f in fields})
    return f"; {len(hits)} stale (attached before {', '.join(changed)} changed): attach again"


def counted_approvers(policy: Policy, facts: ChangeFacts) -> list[ApprovalFact]:
    """Current approvals that may count: not stale, not by the author (unless allowed)."""
    seen: set[str] = set()
    out: list[ApprovalFact] = []
    for a in facts.approvals:
        if not a.current or a.approver in seen:
            continue
        if (
            a.approver == facts.author or a.approver in facts.commit_authors
        ) and not policy.segregation_of_duties.author_may_approve:
            continue
        seen.add(a.approver)
        out.append(a)
    return out


def _evaluate_approvals(
    policy: Policy, facts: ChangeFacts, rules: Sequence[Rule]
) -> dict[str, tuple[bool, str]]:
    """Assign approvers to approval slots so that, when the policy says so, one person fills
    at most one slot across all requirements (maximum bipartite matching)."""
    approvers = counted_approvers(policy, facts)
    stale = sum(1 for a in facts.approvals if not a.current)
    slots: list[tuple[str, str]] = []  # (rule id, role)
    for rule in rules:
        slots.extend((rule.id, rule.require.role or "") for _ in range(rule.require.count))
    distinct = policy.segregation_of_duties.distinct_approvers_per_requirement
    filled = _match(slots, approvers, distinct)
    results: dict[str, tuple[bool, str]] = {}
    for rule in rules:
        role = rule.require.role
        need = rule.require.count
        names = [approvers[j].approver for i, j in filled.items() if slots[i][0] == rule.id]
        have = len(names)
        if have >= need:
            results[rule.id] = (True, f"approval by role {role}: {', '.join(sorted(names))}")
            continue
        if have == 0 and need == 1:
            reason = f"approval by role {role}: missing"
        else:
            reason = f"approval by role {role}: {have} of {need}"
            if names:
                reason += f" ({', '.join(sorted(names))})"
        holders = [a.approver for a in approvers if role in a.roles and a.approver not in names]
        if holders and distinct:
            reason += f"; {', '.join(holders)} already counted for another requirement"
        if stale:
            reason += f"; {stale} stale approval(s) not counted (change edited since)"
        results[rule.id] = (False, reason)
    return results


def _match(
    slots: Sequence[tuple[str, str]], approvers: Sequence[ApprovalFact], distinct: bool
) -> dict[int, int]:
    """slot index -> approver index. Kuhn's augmenting paths; sizes are tiny."""
    slot_of: dict[int, int] = {}
    used: dict[tuple[int, str], int] = {}  # (approver, rule) -> slot, for non-distinct mode

    if not distinct:
        for i, (rule_id, role) in enumerate(slots):
            for j, a in enumerate(approvers):
                if role in a.roles and (j, rule_id) not in used:
                    used[(j, rule_id)] = i
                    slot_of[i] = j
                    break
        return slot_of

    owner: dict[int, int] = {}  # approver -> slot

    def try_assign(i: int, seen: set[int]) -> bool:
        for j, a in enumerate(approvers):
            if slots[i][1] not in a.roles or j in seen:
                continue
            seen.add(j)
            if j not in owner or try_assign(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(slots)):
        try_assign(i, set())
    return {i: j for j, i in owner.items()}


def _latest(evidence: Iterable[EvidenceFact], kind: str, name: str) -> EvidenceFact | None:
    found = None
    for e in evidence:
        if (
            e.kind == kind
            and e.name == name
            and (
                found is None
                or (e.at or dt.datetime.min.replace(tzinfo=dt.UTC))
                >= (found.at or dt.datetime.min.replace(tzinfo=dt.UTC))
            )
        ):
            found = e
    return found


def attached_by_holder(
    rule: Rule, evidence: Iterable[EvidenceFact]
) -> tuple[list[EvidenceFact], str]:
    """The evidence this rule counts (policy ``require.attached_by``: roles whose holders'
    attachments count; absent: anyone allowed to attach), and a note on what it does not."""
    roles = rule.require.attached_by
    items = list(evidence)
    if not roles:
        return items, ""
    wanted = set(roles)
    counted: list[EvidenceFact] = []
    others: list[EvidenceFact] = []
    for e in items:
        (counted if e.actor_roles is not None and wanted & e.actor_roles else others).append(e)
    if not others:
        return counted, ""
    names = sorted({e.actor or "unknown" for e in others})
    who = "does" if len(names) == 1 else "do"
    return counted, (
        f"; {len(others)} not counted: attached by {', '.join(names)}, who {who} not hold "
        f"{' or '.join(roles)}"
    )


_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)
_COUNTS = ("tests", "failures", "errors", "skipped")


@dataclass
class _TestLedger:
    """Outcome of every test across a change's reports, in the order they were attached.

    A test's outcome is the one of the latest report in which it ran (passed, failed or
    error): a failure is cleared only by a later report in which that same test ran and passed,
    a skip clears nothing, and reports of different tests add up.
    """

    #: ("case", classname, name), ("suite", path) or ("legacy", label) -> outcome
    state: dict[tuple[str, ...], str] = field(default_factory=dict)
    #: tests of summaries recorded before per-test outcomes were (no ids, cannot be matched)
    anonymous_tests: int = 0
    anonymous_skipped: int = 0
    #: failures of such summaries that no name identifies: nothing can clear them
    unmatched_failures: int = 0

    def apply(self, key: tuple[str, ...], outcome: str) -> None:
        if outcome not in ("passed", "failed", "error", "skipped"):
            raise ValueError(f"unknown test outcome {outcome!r}")
        if outcome == "skipped" and key in self.state:
            return
        self.state[key] = outcome
        if outcome == "passed" and key[0] == "case":
            legacy = ("legacy", _label(key))
            if legacy in self.state:
                self.state[legacy] = "passed"

    def add(self, e: EvidenceFact) -> None:
        s = e.summary
        if not isinstance(s, Mapping):
            raise ValueError(f"cannot read summary of '{e.name}'")
        cases, suites = s.get("cases"), s.get("suites")
        if s.get("format") == 2 and isinstance(cases, list) and isinstance(suites, Mapping):
            for case in cases:
                if not (isinstance(case, list | tuple) and len(case) == 3):
                    raise ValueError(f"cannot read summary of '{e.name}'")
                classname, name, outcome = map(str, case)
                self.apply(("case", classname, name), outcome)
            for path, outcome in suites.items():
                self.apply(("suite", str(path)), str(outcome))
            return
        # a summary from before per-test outcomes: read by its old fields, failing closed
        if not all(type(s.get(k)) is int and s[k] >= 0 for k in _COUNTS):
            raise ValueError(f"cannot read summary of '{e.name}'")
        labels = s.get("failed_cases")
        names = [str(x) for x in labels] if isinstance(labels, list) else []
        bad = s["failures"] + s["errors"]
        names = names[:bad]
        for label in names:
            self.state[("legacy", label)] = "failed"
        self.unmatched_failures += bad - len(names)
        self.anonymous_tests += s["tests"] - len(names)
        self.anonymous_skipped += s["skipped"]

    def failing(self) -> list[tuple[str, ...]]:
        return [k for k, v in self.state.items() if v in ("failed", "error")]


def _label(key: tuple[str, ...]) -> str:
    """How a test is shown: ``classname.name``; a suite's own entry by its path."""
    if key[0] == "case":
        return f"{key[1]}.{key[2]}".strip(".")
    return key[1]


def _eval_junit(policy: Policy, rule: Rule, facts: ChangeFacts) -> tuple[bool, str]:
    reports = [e for e in facts.evidence if e.kind == "junit"]
    if not reports:
        return False, "test results: none attached (attach JUnit XML with `evidence add --junit`)"
    counted, note = attached_by_holder(rule, reports)
    if not counted:
        return False, f"test results: none counted{note}"
    ledger = _TestLedger()
    for e in sorted(counted, key=lambda e: e.at or _EPOCH):  # stable: ties keep attach order
        try:
            ledger.add(e)
        except ValueError as exc:
            return False, f"test results: {exc}"
    tests_ids = [k for k in ledger.state if k[0] == "case"]
    # a legacy failure a later pass cleared is counted once, as that test
    legacy_failed = [k for k in ledger.state if k[0] == "legacy" and ledger.state[k] != "passed"]
    skipped = sum(1 for k in tests_ids if ledger.state[k] == "skipped") + ledger.anonymous_skipped
    tests = len(tests_ids) + len(legacy_failed) + ledger.anonymous_tests
    failing = ledger.failing()
    errors = sum(1 for k in failing if ledger.state[k] == "error")
    bad = len(failing) + ledger.unmatched_failures
    if bad:
        shown = [_label(k) for k in failing]
        if ledger.unmatched_failures:
            shown.append(f"{ledger.unmatched_failures} unnamed in an earlier report")
        more = f", +{len(shown) - 5} more" if len(shown) > 5 else ""
        return False, (
            f"test results: {bad} of {tests} failed"
            + (f" ({errors} errors)" if errors else "")
            + f": {', '.join(shown[:5])}{more}{note}"
        )
    ran = tests - skipped
    if ran <= 0 or ran < rule.require.min_tests:
        return (
            False,
            f"test results: {ran} tests ran, at least {max(rule.require.min_tests, 1)} required"
            + note,
        )
    extra = f", {skipped} skipped" if skipped else ""
    return True, f"test results: {ran} of {tests} passed{extra}{note}"


def _eval_validation(policy: Policy, rule: Rule, facts: ChangeFacts) -> tuple[bool, str]:
    name = rule.require.name or ""
    counted, note = attached_by_holder(
        rule, (e for e in facts.evidence if e.kind == "validation" and e.name == name)
    )
    e = _latest(counted, "validation", name)
    if e is None:
        return False, f"validation {name}: missing{note}"
    if e.passed is None:
        return False, f"validation {name}: result unreadable"
    verdict = "pass" if e.passed else "fail"
    detail = f" — {e.details}" if e.details else ""
    by = f" (by {e.actor})" if e.actor else ""
    if rule.require.report and not e.report:
        return False, (
            f"validation {name}: {verdict}{by} without the report it was decided on (the "
            f"`changegate ai` commands attach theirs; or `evidence add --validation {name} "
            "--result ... --report FILE`)"
        )
    return e.passed, f"validation {name}: {verdict}{by}{detail}{note}"


def _eval_document(policy: Policy, rule: Rule, facts: ChangeFacts) -> tuple[bool, str]:
    name = rule.require.name or ""
    e = _latest(facts.evidence, "document", name)
    if e is None:
        return False, f"document {name}: missing"
    return True, f"document {name}: attached" + (f" by {e.actor}" if e.actor else "")


def _eval_field(policy: Policy, rule: Rule, facts: ChangeFacts) -> tuple[bool, str]:
    name = rule.require.field or ""
    value = facts.fields.get(name)
    if value in (None, "", [], {}):
        return False, f"field {name}: missing"
    shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return True, f"field {name}: {shown[:80]}"


def _eval_pre_approved(policy: Policy, rule: Rule, facts: ChangeFacts) -> tuple[bool, str]:
    spec = policy.classes.get(facts.change_class)  # type: ignore[call-overload]
    if spec is None or not spec.pre_approved:
        return False, f"class {facts.change_class} is not pre-approved"
    from changegate.policy.catalogue import WAY_OUT, standard_change_problems

    ai_component = facts.fields.get("ai_component")
    problems = standard_change_problems(
        policy,
        category=facts.category,
        risk=facts.risk,
        components=facts.components,
        ai_component=ai_component if isinstance(ai_component, str) else None,
        security_impacting=is_security_impacting(policy, facts),
        high_risk=is_high_risk(policy, facts.risk),
        complete=True,
    )
    if problems:
        return False, "outside the catalogue (§3a): " + "; ".join(problems) + f"; {WAY_OUT}"
    return True, (
        f"pre-approved procedure {facts.category}; logged in the audit record"
        if facts.category
        else f"pre-approved {facts.change_class} change; logged in the audit record"
    )


_EVALUATORS: dict[str, Callable[[Policy, Rule, ChangeFacts], tuple[bool, str]]] = {
    "junit": _eval_junit,
    "validation": _eval_validation,
    "document": _eval_document,
    "field": _eval_field,
    "pre_approved": _eval_pre_approved,
}


def retrospective_due(policy: Policy, facts: ChangeFacts) -> dt.datetime | None:
    spec = policy.classes.get(facts.change_class)  # type: ignore[call-overload]
    if spec is None or spec.retrospective_review is None or facts.first_deployed_at is None:
        return None
    return facts.first_deployed_at + dt.timedelta(hours=spec.retrospective_review.due_within_hours)


def _evaluate_emergency(
    policy: Policy, rule: Rule, facts: ChangeFacts, now: dt.datetime
) -> tuple[bool, str, dt.datetime | None, bool]:
    spec = policy.classes.get(facts.change_class)  # type: ignore[call-overload]
    review = facts.emergency_review
    due = retrospective_due(policy, facts)
    if rule.require.kind == "post_incident_review":
        wanted = list(spec.post_incident_review_fields) if spec else []
        if review is None:
            missing = ", ".join(w.replace("_", " ") for w in wanted)
            return False, f"post-incident review: not recorded ({missing})", due, False
        empty = [w for w in wanted if not str(review.fields.get(w, "")).strip()]
        if empty:
            return False, f"post-incident review: missing {', '.join(empty)}", due, False
        return (
            True,
            f"post-incident review by {review.reviewer} on {fmt_time(review.at)}",
            due,
            False,
        )
    if spec is None or spec.retrospective_review is None:
        return False, "cannot evaluate: class has no retrospective_review settings", None, False
    if review is not None:
        return (
            True,
            f"retrospective review by {review.reviewer} on {fmt_time(review.at)}",
            due,
            False,
        )
    if due is None:
        hours = spec.retrospective_review.due_within_hours
        return False, f"retrospective review due within {hours}h of deployment", None, False
    if now > due:
        return False, f"retrospective review OVERDUE since {fmt_time(due)}", due, True
    return False, f"retrospective review due {fmt_time(due)}", due, False


def deployer_checks(
    policy: Policy, facts: ChangeFacts, deployer: DeployerFact, *, high_risk: bool
) -> list[RequirementResult]:
    """Checks on who deploys: production access by role (§4d, §7) and segregation of duties."""
    sod = policy.segregation_of_duties
    label = policy.label
    out: list[RequirementResult] = []

    def add(rule_id: str, section: str, description: str, met: bool, reason: str) -> None:
        out.append(
            RequirementResult(
                rule_id=rule_id,
                section=section,
                description=description,
                kind="deployer",
                stage="gate",
                met=met,
                reason=reason,
                policy=f"{label} §{section} {rule_id}",
            )
        )

    roles = sorted(set(policy.deploy.deployer_roles) & deployer.roles)
    if not deployer.known:
        add(
            "deployer-role",
            policy.deploy.section,
            "Production access is restricted and role-based",
            False,
            f"deployer {deployer.name}: unknown user",
        )
    elif roles:
        add(
            "deployer-role",
            policy.deploy.section,
            "Production access is restricted and role-based",
            True,
            f"deployer {deployer.name} holds role {', '.join(roles)}",
        )
    else:
        wanted = " or ".join(policy.deploy.deployer_roles)
        add(
            "deployer-role",
            policy.deploy.section,
            "Production access is restricted and role-based",
            False,
            f"deployer {deployer.name} lacks role {wanted}",
        )
    if high_risk:
        approvers = {a.approver for a in counted_approvers(policy, facts)}
        desc = "No single individual both approves and deploys a high-risk change"
        if not sod.high_risk_deployer_may_be_approver and deployer.name in approvers:
            add(
                "segregation-of-duties",
                sod.section,
                desc,
                False,
                f"segregation of duties: {deployer.name} approved this high-risk change and may "
                "not also deploy it",
            )
        elif not sod.author_may_deploy_high_risk and (
            deployer.name == facts.author or deployer.name in facts.commit_authors
        ):
            add(
                "segregation-of-duties",
                sod.section,
                desc,
                False,
                f"segregation of duties: {deployer.name} authored this high-risk change and may "
                "not also deploy it",
            )
        else:
            add(
                "segregation-of-duties",
                sod.section,
                desc,
                True,
                f"segregation of duties: deployer {deployer.name} is not an approver",
            )
    return out
