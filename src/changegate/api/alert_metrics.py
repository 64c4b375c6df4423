"""/metrics for §8: violation counters by alert kind, and gauges of what is overdue (open
investigations, emergency reviews), read from the database at scrape time like the rest of
/metrics (docs/alerts.md has example Prometheus alerting rules over them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from changegate.db import session_scope

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


class AlertCollector(Collector):
    def __init__(self, engine: Engine, policy: Policy) -> None:
        self.engine = engine
        self.policy = policy

    def collect(self) -> Iterator[Metric]:
        from changegate.alerts import service
        from changegate.alerts.models import AlertDelivery
        from changegate.incidents.service import overdue as overdue_reviews

        with session_scope(self.engine, write=False) as s:
            counts = service.counts(s, self.policy)
            pending = s.scalar(
                select(func.count())
                .select_from(AlertDelivery)
                .where(AlertDelivery.state == "pending")
            )
            reviews = len(overdue_reviews(s, self.policy))
        violations = CounterMetricFamily(
            "changegate_violations",
            "Violations that raised an alert (policy monitoring.alert_on), by kind",
            labels=["kind"],
        )
        for kind in self.policy.monitoring.alert_on:
            violations.add_metric([kind], counts.by_kind.get(kind, 0))
        yield violations
        gauges = (
            ("changegate_investigations_open", "Alerts not resolved yet", counts.open),
            (
                "changegate_investigations_unacknowledged",
                "Alerts nobody has acknowledged",
                counts.unacknowledged,
            ),
            (
                "changegate_investigations_overdue",
                "Alerts unacknowledged past monitoring.ack_within_hours",
                counts.overdue,
            ),
            ("changegate_alert_deliveries_pending", "Deliveries waiting to be sent", pending or 0),
            (
                "changegate_alert_dead_letters",
                "Deliveries that ran out of attempts (dead letters)",
                counts.dead_letters,
            ),
            (
                "changegate_emergency_reviews_overdue",
                "Emergency changes past their retrospective review deadline",
                reviews,
            ),
        )
        for name, doc, value in gauges:
            yield GaugeMetricFamily(name, doc, value=value)
        yield from self.obligations()

    def obligations(self) -> Iterator[Metric]:
        """Overdue items of the other slices: findings past SLA (§6), the access review (§7)
        and the policy's own review (§9), each as its slice decides."""
        from changegate.access.reports import due as access_due
        from changegate.db import utcnow
        from changegate.findings.queries import overdue_by_severity
        from changegate.policy.review import review_status

        today = utcnow().date()
        with session_scope(self.engine, write=False) as s:
            findings = overdue_by_severity(s, today=today)
            access = access_due(s, self.policy, today=today).overdue
            policy = review_status(s, self.policy, "").overdue(today)
        by_severity = GaugeMetricFamily(
            "changegate_findings_overdue",
            "Open vulnerability findings past their SLA, by severity",
            labels=["severity"],
        )
        for severity, n in findings.items():
            by_severity.add_metric([severity], n)
        yield by_severity
        yield GaugeMetricFamily(
            "changegate_access_review_overdue", "1 when the access review is overdue", value=access
        )
        yield GaugeMetricFamily(
            "changegate_policy_review_overdue",
            "1 when the policy's own review is due (interval passed or significant change)",
            value=policy,
        )
