"""Prometheus metrics, read from the database at scrape time.

Counting in the database rather than in process memory gives the same numbers from every
worker and every server sharing the database, and survives restarts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import Engine, func, select

from changegate.db import session_scope


class DatabaseCollector(Collector):
    def __init__(self, engine: Engine, policy_label: str) -> None:
        self.engine = engine
        self.policy_label = policy_label

    def collect(self) -> Iterator[Metric]:
        from changegate.audit.models import AuditHead
        from changegate.changes.lifecycle import STATES
        from changegate.changes.models import Change
        from changegate.deployments.models import Deployment, GateDecision

        with session_scope(self.engine, write=False) as s:
            by_state = dict(
                (state, n)
                for state, n in s.execute(select(Change.state, func.count()).group_by(Change.state))
            )
            gates = s.execute(
                select(GateDecision.passed, GateDecision.bypass, func.count()).group_by(
                    GateDecision.passed, GateDecision.bypass
                )
            ).all()
            deps = s.execute(
                select(Deployment.environment, Deployment.kind, func.count()).group_by(
                    Deployment.environment, Deployment.kind
                )
            ).all()
            head = s.scalar(select(AuditHead.seq).where(AuditHead.id == 1)) or 0

        changes = GaugeMetricFamily(
            "changegate_changes", "Change requests by lifecycle state", labels=["state"]
        )
        for state in STATES:
            changes.add_metric([state], by_state.get(state, 0))
        yield changes

        decisions = CounterMetricFamily(
            "changegate_gate_decisions",
            "Deploy gate evaluations by result (open, closed, bypass: emergency bypass)",
            labels=["result"],
        )
        totals: dict[str, Any] = {"open": 0, "closed": 0, "bypass": 0}
        for passed, bypass, n in gates:
            totals["bypass" if passed and bypass else "open" if passed else "closed"] += n
        for result, n in totals.items():
            decisions.add_metric([result], n)
        yield decisions

        deployments = CounterMetricFamily(
            "changegate_deployments", "Deployments by environment", labels=["environment"]
        )
        rollbacks = CounterMetricFamily(
            "changegate_rollbacks", "Rollbacks by environment", labels=["environment"]
        )
        for env, kind, n in deps:
            (deployments if kind == "deploy" else rollbacks).add_metric([env], n)
        yield deployments
        yield rollbacks

        yield CounterMetricFamily(
            "changegate_audit_events", "Events appended to the audit log", value=head
        )
        info = GaugeMetricFamily("changegate_policy_info", "Policy in force", labels=["policy"])
        info.add_metric([self.policy_label], 1)
        yield info


def make_registry(engine: Engine, policy_label: str) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(engine, policy_label))
    return registry
