"""/metrics carries the §8 violation counters by kind and the overdue gauges, from the database."""

from __future__ import annotations

import re

from sqlalchemy import Engine

from tests.alerts.support import make_alert
from tests.api.support import running_org


def value(text: str, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


def test_violation_counters_and_overdue_gauges(db_url: str, engine: Engine) -> None:
    with running_org(db_url) as org:
        make_alert(org.engine, author=org.user("engineer"), deployer=org.user("deployer"))
        make_alert(org.engine, author=org.user("engineer"), deployer=org.user("deployer"))
        text = org.client.get("/metrics").text
    assert value(text, 'changegate_violations_total{kind="gate-refused"}') == 2
    assert value(text, 'changegate_violations_total{kind="emergency-bypass"}') == 0
    assert value(text, "changegate_investigations_open") == 2
    assert value(text, "changegate_investigations_unacknowledged") == 2
    assert value(text, "changegate_investigations_overdue") == 0
    assert value(text, "changegate_alert_dead_letters") == 0
    assert value(text, "changegate_emergency_reviews_overdue") == 0
    assert value(text, 'changegate_findings_overdue{severity="critical"}') == 0
    assert value(text, "changegate_access_review_overdue") in (0, 1)
    assert value(text, "changegate_policy_review_overdue") in (0, 1)
