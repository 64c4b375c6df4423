"""A failed verification is recorded, and raises its alert (§8), whichever entry point ran it:
the web page's "Verify chain" as well as `audit verify` and ``GET /api/audit/verify``, which
all call ``audit.verification.verify_and_record``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from changegate.alerts.models import Alert
from changegate.audit.models import AuditEvent
from changegate.db import session_scope
from tests.api.support import Org, database, running_org
from tests.audit.test_tamper import disable_triggers, sql


@pytest.fixture
def broken_org(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Org]:
    with database("sqlite", request, tmp_path) as url, running_org(url) as org:
        yield org


def _last_actions(org: Org, n: int) -> list[str]:
    with session_scope(org.engine, write=False) as s:
        rows = s.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(n))
        return [r.data.decode().split('"action":"', 1)[1].split('"', 1)[0] for r in rows]


def test_the_web_pages_failed_verification_is_recorded_and_alerts(broken_org: Org) -> None:
    org = broken_org
    auditor, alice = org.user("auditor"), org.user("engineer")
    org.change(alice, "submitted")
    headers, _ = org.web(auditor)
    intact = org.client.get("/audit/verify", headers=headers | {"HX-Request": "true"})
    assert "Audit record intact" in intact.text
    assert "audit.verification_failed" not in _last_actions(org, 3)
    disable_triggers(org.engine)  # someone with write access edits an event's bytes
    edit = "UPDATE audit_events SET data = replace(data, 'engineer', 'enginear') WHERE seq = 2"
    sql(org.engine, edit)
    failed = org.client.get("/audit/verify", headers=headers | {"HX-Request": "true"})
    assert failed.status_code == 200 and "Audit record intact" not in failed.text
    assert "#2" in failed.text  # the break is named
    assert _last_actions(org, 2) == ["alert.raised", "audit.verification_failed"]
    with session_scope(org.engine, write=False) as s:
        kinds = [a.kind for a in s.scalars(select(Alert))]
    assert "audit-verify-failed" in kinds
