"""The provider register and the DPA check (policy §10.2), on both databases."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from changegate.ai import providers
from changegate.ai.models import AiProvider
from changegate.audit.models import AuditEvent
from changegate.db import session_scope
from changegate.evidence.models import Blob
from tests.ai.flow.flow import Flow, day, make_ai_team
from tests.factories import DEFAULT

P = DEFAULT.policy


@pytest.fixture
def flow(db_url: str, engine: Engine, tmp_path: Path) -> Flow:
    make_ai_team(engine)
    return Flow(db_url, tmp_path)


def provider_switch(flow: Flow, *names: str) -> str:
    key = flow.change("model-provider-switch", "normal", providers=names)
    flow.submit(key)
    return key


def dpa_reason(flow: Flow, key: str) -> tuple[bool, str]:
    reqs = {r["rule"]: r for r in flow.status(key)["requirements"]}
    return reqs["ai-provider-dpa"]["met"], reqs["ai-provider-dpa"]["reason"]


def test_dpa_missing_pending_expired_and_current(flow: Flow, engine: Engine) -> None:
    key = provider_switch(flow, "anthropic")
    assert dpa_reason(flow, key) == (
        False,
        "provider anthropic: DPA missing (not in the provider register; `changegate ai provider "
        "add anthropic`, then `changegate ai provider dpa anthropic ...`)",
    )
    added = flow.json("ai", "provider", "add", "Anthropic", "--display-name", "Anthropic PBC")
    assert added["name"] == "anthropic" and added["dpa_status"] == "none"
    assert added["created_by"] == "system"
    assert dpa_reason(flow, key) == (False, "provider anthropic: DPA missing")

    flow.run("ai", "provider", "dpa", "anthropic", "--status", "pending", "--by", "artur")
    assert dpa_reason(flow, key) == (False, "provider anthropic: DPA pending, not signed")

    flow.dpa("anthropic", signed="2025-10-01", expires=day(-3))
    assert dpa_reason(flow, key) == (False, f"provider anthropic: DPA expired {day(-3)}")
    _, unmet = flow.gate(key)
    assert unmet["ai-provider-dpa"] == f"provider anthropic: DPA expired {day(-3)}"

    out = flow.dpa("anthropic", signed=day(-1), expires=day(364))
    assert out["dpa"]["state"] == "valid" and out["dpa"]["days_left"] == 364
    met, reason = dpa_reason(flow, key)
    assert (
        met
        and reason == f"provider anthropic: DPA expires in 364 days ({day(364)}; signed {day(-1)})"
    )

    # the document is stored by hash; every version of the register is in the audit log
    with session_scope(engine, write=False) as s:
        row = s.scalar(select(AiProvider).where(AiProvider.name == "anthropic"))
        assert row is not None and row.dpa_sha256 is not None
        blob = s.get(Blob, row.dpa_sha256)
        assert blob is not None and blob.content.startswith(b"%PDF-1.4 signed DPA for anthropic")
        n = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.entity_key == f"ai_provider:{row.id}")
        )
        assert n == 4  # added, pending, the expired DPA, the current one
    verify = flow.json("audit", "verify")
    assert verify["ok"], verify["problems"]
    assert verify["rows_checked"] > 0


def test_expiring_dpa_shows_in_status_list_and_for_the_dashboard(
    flow: Flow, engine: Engine
) -> None:
    for name in ("openai", "anthropic", "google"):
        flow.provider(name)
    flow.dpa("openai", expires=day(12))
    flow.dpa("anthropic", expires=day(400))
    flow.dpa("google", expires=day(-10), signed=day(-400))
    key = provider_switch(flow, "openai", "anthropic")
    met, reason = dpa_reason(flow, key)
    assert met  # still valid: the gate does not refuse yet, but status says it is running out
    assert reason.startswith(f"provider openai: DPA expires in 12 days ({day(12)}; signed ")

    listed = flow.json("ai", "provider", "list")
    states = {p["provider"]: p["state"] for p in listed["providers"]}
    assert states == {"anthropic": "valid", "google": "expired", "openai": "expiring"}
    assert [p["provider"] for p in listed["flagged"]] == ["google", "openai"]
    assert listed["warning_days"] == 30
    human = flow.run("ai", "provider", "list").stdout
    assert "EXPIRING" in human and "EXPIRED" in human

    with session_scope(engine, write=False) as s:
        soon = providers.expiring_dpas(s, P)
        assert [(d.provider, d.state, d.days_left) for d in soon] == [
            ("google", "expired", -10),
            ("openai", "expiring", 12),
        ]
        later = providers.expiring_dpas(
            s, P, today=dt.datetime.now(dt.UTC).date() + dt.timedelta(days=380)
        )
        assert [(d.provider, d.state) for d in later] == [
            ("google", "expired"),
            ("openai", "expired"),
            ("anthropic", "expiring"),
        ]
        assert json.loads(json.dumps(soon[0].to_dict()))["reason"] == (
            f"provider google: DPA expired {day(-10)}"
        )


def test_dpa_input_is_checked_and_refusals_change_nothing(flow: Flow, engine: Engine) -> None:
    flow.provider("openai")

    def count() -> int:
        with session_scope(engine, write=False) as s:
            return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)

    before = count()
    r = flow.run("ai", "provider", "dpa", "openai", "--status", "signed", "--by", "artur", code=2)
    assert "a signed DPA needs --signed DATE, --expires DATE, --document FILE" in r.stderr
    r = flow.run(
        "ai", "provider", "dpa", "openai", "--status", "signed", "--signed", "2026-13-01",
        "--by", "artur", code=2,
    )  # fmt: skip
    assert "--signed '2026-13-01' is not a date; use YYYY-MM-DD" in r.stderr
    r = flow.run("ai", "provider", "dpa", "openai", "--status", "lost", "--by", "artur", code=2)
    assert "use one of none, pending, signed, terminated" in r.stderr
    doc = flow.tmp / "dpa.pdf"
    doc.write_bytes(b"%PDF dpa")
    r = flow.run(
        "ai", "provider", "dpa", "openai", "--status", "signed", "--signed", "2026-05-01",
        "--expires", "2026-04-01", "--document", str(doc), "--by", "artur", code=2,
    )  # fmt: skip
    assert "--expires 2026-04-01 is not after --signed 2026-05-01" in r.stderr
    # an engineer may not vouch for a DPA: the policy grants ai.provider.manage to cto, security, admin
    r = flow.run(
        "ai", "provider", "dpa", "openai", "--status", "signed", "--signed", "2026-01-01",
        "--expires", "2027-01-01", "--document", str(doc), "--by", "bob", code=1,
    )  # fmt: skip
    assert "bob may not record Data Processing Agreements" in r.stderr
    r = flow.run("ai", "provider", "dpa", "azure", "--status", "none", "--by", "artur", code=2)
    assert "unknown provider 'azure': add it with `changegate ai provider add azure`" in r.stderr
    r = flow.run("ai", "provider", "add", "openai", code=1)
    assert "already registered" in r.stderr
    r = flow.run("ai", "provider", "add", "Open AI!", code=2)
    assert "provider 'Open AI!'" in r.stderr
    assert count() == before


def test_a_change_without_providers_fails_the_dpa_check(flow: Flow) -> None:
    key = flow.change("model-provider-switch", "normal")
    met, reason = dpa_reason(flow, key)
    assert not met
    assert reason == (
        f"provider DPA: no providers listed on the change; add them with "
        f"`changegate change edit {key} --provider NAME`"
    )
