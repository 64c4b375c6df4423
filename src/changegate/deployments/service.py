"""The deploy gate, deployments and rollbacks.

``deploy`` re-evaluates the gate under the change's row lock, so two concurrent deployers
cannot both pass on stale state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.changes.lifecycle import TRANSITIONS
from changegate.changes.models import Change
from changegate.changes.service import lock_change, transition
from changegate.changes.status import collect_facts
from changegate.db import utcnow
from changegate.deployments.models import Deployment, GateDecision
from changegate.errors import Conflict, InvalidInput
from changegate.findings.links import gate_requirement, resolve_deployed
from changegate.policy import service as policy_service
from changegate.policy.engine import (
    DeployerFact,
    Evaluation,
    RequirementResult,
    deployer_checks,
    evaluate,
)
from changegate.users.models import User

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


@dataclass(frozen=True)
class GateResult:
    change: str
    environment: str
    deployer: str
    evaluation: Evaluation
    checks: tuple[RequirementResult, ...]  # every gate-stage requirement, deployer checks included
    decision_id: int | None = None

    @property
    def passed(self) -> bool:
        return all(r.met for r in self.checks)

    @property
    def bypass(self) -> bool:
        return any(r.bypassed for r in self.checks)

    @property
    def unmet(self) -> list[RequirementResult]:
        return [r for r in self.checks if not r.met]

    def to_dict(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "environment": self.environment,
            "deployer": self.deployer,
            "passed": self.passed,
            "bypass": self.bypass,
            "policy": self.evaluation.policy,
            "high_risk": self.evaluation.high_risk,
            "security_impacting": self.evaluation.security_impacting,
            "decision": self.decision_id,
            "requirements": [r.to_dict() for r in self.checks],
            "unmet": [r.to_dict() for r in self.unmet],
        }


def _check_env(policy: Policy, env: str) -> None:
    if env not in policy.deploy.environments:
        raise InvalidInput(
            f"--env {env!r} is not an environment of the policy; use one of "
            f"{', '.join(policy.deploy.environments)}",
            field="env",
        )


def evaluate_gate(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    env: str,
    deployer: str,
    version: str | None = None,
) -> GateResult:
    _check_env(policy, env)
    facts = collect_facts(session, change)
    evaluation = evaluate(policy, facts, now=utcnow())
    user = session.scalar(select(User).where(User.name == deployer))
    dfact = DeployerFact(
        name=deployer,
        roles=frozenset(user.roles) if user is not None and user.active else frozenset(),
        known=user is not None and user.active,
    )
    checks = list(evaluation.stage("gate"))
    checks.extend(deployer_checks(policy, facts, dfact, high_risk=evaluation.high_risk))
    findings = gate_requirement(session, policy, change, env=env)
    if findings is not None:
        checks.append(findings)
    redeploy = _redeploy_check(session, policy, change, env=env, version=version)
    if redeploy is not None:
        checks.append(redeploy)
    state_ok = change.state in TRANSITIONS["deploy"] and (
        change.state != "submitted" or policy.classes[change.change_class].bypass_approval  # type: ignore[index]
    )
    checks.insert(
        0,
        RequirementResult(
            rule_id="lifecycle",
            section="4b",
            description="Change is approved (or an emergency change) before deployment",
            kind="state",
            stage="gate",
            met=state_ok,
            reason=f"state: {change.state}"
            + ("" if state_ok else " (needs approval before deployment)"),
            policy=f"{policy.label} §4b lifecycle",
        ),
    )
    return GateResult(
        change=change.key,
        environment=env,
        deployer=deployer,
        evaluation=evaluation,
        checks=tuple(checks),
    )


def _redeploy_check(
    session: Session, policy: Policy, change: Change, *, env: str, version: str | None
) -> RequirementResult | None:
    """When the change is deployed to ``env`` already: the same version again is a re-run
    (recognised, recorded once); another version is a new deployment the gate refuses until
    the current one is rolled back (or the new version goes out as a new change)."""
    current = current_deployment(session, change, env)
    if current is None:
        return None
    same = version is None or version.strip() == current.version
    now = f"{change.key} is deployed to {env} at {current.version} (by {current.actor})"
    return RequirementResult(
        rule_id="redeploy",
        section="4d",
        description="A change is deployed once per version; a re-run of that version is recognised",
        kind="state",
        stage="gate",
        met=same,
        reason=f"{now}: deploying {current.version} again is recorded once"
        if same
        else f"{now}: {version} is a new deployment; roll back first or open a new change",
        policy=f"{policy.label} §4d deployments",
    )


def gate(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    env: str,
    deployer: str,
    version: str | None = None,
    via: Mapping[str, Any] | None = None,
) -> GateResult:
    """Evaluate the gate and record the decision in the audit log (§8: deployment activity).
    The change is locked first: the decision is made on the state read under its lock, whether
    or not the caller locked it. ``via``: the CI job that asked (its repository, ref, commit,
    platform login and the identity it acted as), recorded with the decision."""
    lock_change(session, change)
    return _decide(session, policy, change, env=env, deployer=deployer, version=version, via=via)


def _decide(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    env: str,
    deployer: str,
    version: str | None,
    via: Mapping[str, Any] | None = None,
) -> GateResult:
    """:func:`gate` on a change its caller has locked (:func:`lock_change`)."""
    result = evaluate_gate(session, policy, change, env=env, deployer=deployer, version=version)
    decision = GateDecision(
        change_id=change.id,
        environment=env,
        deployer=deployer,
        passed=result.passed,
        bypass=result.bypass and result.passed,
        unmet=[f"{r.rule_id}: {r.reason}" for r in result.unmet],
        policy=result.evaluation.policy,
        created_at=utcnow(),
    )
    session.add(decision)
    record(session, events.GateEvaluated, actor=deployer, after=decision, extra=_via(via))
    return GateResult(
        change=result.change,
        environment=env,
        deployer=deployer,
        evaluation=result.evaluation,
        checks=result.checks,
        decision_id=decision.id,
    )


def current_deployment(session: Session, change: Change, env: str) -> Deployment | None:
    last = session.scalar(
        select(Deployment)
        .where(Deployment.change_id == change.id, Deployment.environment == env)
        .order_by(Deployment.id.desc())
        .limit(1)
    )
    return last if last is not None and last.kind == "deploy" else None


@dataclass(frozen=True)
class DeployResult:
    gate: GateResult
    deployment: Deployment | None
    #: a re-run: this version was already recorded, and nothing new was
    already_recorded: bool = False


def deploy(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    env: str,
    version: str,
    actor: str,
    via: Mapping[str, Any] | None = None,
) -> DeployResult:
    """Record a deployment if, and only if, the gate passes. A refusal is recorded too.
    ``via``: the CI job that deployed (see :func:`gate`), recorded with the gate decision and
    the deployment.

    Recording the deployment of the version already current in ``env`` again (a re-run of the
    job) returns the existing record, flagged ``already_recorded``, when the gate still passes
    for the deployer; nothing new is written."""
    if not version.strip():
        raise InvalidInput(
            "--version is empty; give the version being deployed (e.g. v1.4.2)", field="version"
        )
    _check_env(policy, env)
    lock_change(session, change)  # decided on the state read under the lock (see gate)
    existing = current_deployment(session, change, env)
    if existing is not None and existing.version == version.strip():
        again = evaluate_gate(session, policy, change, env=env, deployer=actor, version=version)
        if again.passed:
            return DeployResult(gate=again, deployment=existing, already_recorded=True)
    result = _decide(session, policy, change, env=env, deployer=actor, version=version, via=via)
    if not result.passed:
        return DeployResult(gate=result, deployment=None)
    dep = Deployment(
        change_id=change.id,
        environment=env,
        version=version.strip(),
        kind="deploy",
        actor=actor,
        reason="",
        bypass=result.bypass,
        gate_decision_id=result.decision_id,
        created_at=utcnow(),
    )
    session.add(dep)
    record(session, events.DeploymentRecorded, actor=actor, after=dep, extra=_via(via))
    resolve_deployed(session, policy, change, env=env, actor=actor)
    if change.state != "deployed":
        transition(
            session,
            change,
            "deployed",
            actor=actor,
            reason="emergency bypass" if result.bypass else f"deployed to {env}",
        )
    return DeployResult(gate=result, deployment=dep)


def rollback(
    session: Session,
    policy: Policy,
    change: Change,
    *,
    env: str,
    to_version: str,
    reason: str,
    actor: str,
) -> Deployment:
    from changegate.users.service import get_user

    user = get_user(session, actor)
    policy_service.require(policy, user, "rollback", doing="roll back deployments")
    _check_env(policy, env)
    if not reason.strip():
        raise InvalidInput(
            "--reason is empty; say why the deployment is rolled back", field="reason"
        )
    if not to_version.strip():
        raise InvalidInput("--to is empty; give the version to return to", field="to")
    current = current_deployment(session, change, env)
    if current is None:
        raise Conflict(f"{change.key} has no current deployment in {env} to roll back", field="env")
    dep = Deployment(
        change_id=change.id,
        environment=env,
        version=to_version.strip(),
        kind="rollback",
        actor=user.name,
        reason=reason.strip(),
        bypass=False,
        created_at=utcnow(),
    )
    session.add(dep)
    record(
        session,
        events.RollbackRecorded,
        actor=user.name,
        after=dep,
        extra={"rolled_back_from": current.version},
    )
    if not any(current_deployment(session, change, e) for e in policy.deploy.environments):
        transition(session, change, "rolled_back", actor=user.name, reason=reason.strip())
    return dep


def history(session: Session, env: str | None = None) -> list[Deployment]:
    stmt = select(Deployment).order_by(Deployment.id)
    if env:
        stmt = stmt.where(Deployment.environment == env)
    return list(session.scalars(stmt))


def _via(via: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The audit event's ``extra`` naming the CI job that asked (none when a person did)."""
    return {"via": dict(via)} if via else None
