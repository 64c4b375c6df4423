"""§3a over the webhook: a pull request that ticks "standard" outside the policy's catalogue is
filed as a normal change with the reason on the pull request (before issue 10 it was approved
on submit with no review)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from changegate.changes.models import Change
from changegate.db import session_scope
from tests.github.flow.conftest import COMPLETE_BODY, Hub

STANDARD = COMPLETE_BODY.replace("- [ ] standard: low-risk", "- [x] standard: low-risk").replace(
    "- [x] normal: planned", "- [ ] normal: planned"
)


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def only_change(hub: Hub) -> Change:
    with session_scope(hub.engine, write=False) as s:
        change = s.scalars(select(Change)).one()
        s.expunge(change)
        return change


def test_standard_outside_its_procedure_becomes_normal(hub: Hub) -> None:
    assert "- [x] standard" in STANDARD and "- [x] medium" in STANDARD
    base = hub.repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    hub.repo.branch("deps")
    head = hub.repo.commit("Bump httpx", {"requirements.txt": "httpx==0.28.1\n"})
    sent = hub.pull_request("opened", head=head, base=base, body=STANDARD)
    outcome = ok(hub.send("pull_request", sent))["outcome"]
    # availability medium is above the dependency-update procedure's limit (low)
    assert "not a pre-approved standard change" in outcome
    assert "availability=medium is above the dependency-update procedure's limit" in outcome
    change = only_change(hub)
    assert (change.change_class, change.state) == ("normal", "submitted")


def test_standard_within_its_procedure_is_pre_approved(hub: Hub) -> None:
    body = STANDARD.replace("- [ ] low\n- [x] medium", "- [x] low\n- [ ] medium")
    base = hub.repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    hub.repo.branch("deps")
    head = hub.repo.commit("Bump httpx", {"requirements.txt": "httpx==0.28.1\n"})
    ok(hub.send("pull_request", hub.pull_request("opened", head=head, base=base, body=body)))
    change = only_change(hub)
    assert (change.change_class, change.category, change.state) == (
        "standard",
        "dependency-update",
        "approved",
    )
