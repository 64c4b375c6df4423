"""Policy §10: the gate refuses each AI category until the policy's requirements for it and the
§10.3 documentation are on the change, then opens. One test per category, both databases,
every step through the real CLI; the AI evidence comes from real `changegate ai` runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.ai.flow.flow import LEAKY, Flow, day, make_ai_team

#: what every normal AI change owes before any evidence (besides its category's own rules)
NORMAL_AI = {
    "lifecycle",
    "peer-review",
    "automated-tests",
    "staging-validation",
    "ai-behavioral-regression",
    "ai-tenant-isolation",
    "ai-security-impact",
    "ai-behavioral-results-pre",
    "ai-behavioral-results-post",
}


@pytest.fixture
def flow(db_url: str, engine: Engine, tmp_path: Path) -> Flow:
    make_ai_team(engine)
    return Flow(db_url, tmp_path)


def common_evidence(flow: Flow, key: str) -> None:
    """Tests, staging, and the §10.2 review steps produced by changegate itself."""
    flow.junit(key)
    flow.staging(key)
    assert flow.regress(key)["passed"] is True
    assert flow.isolation(key)["passed"] is True
    assert flow.assess(key)["passed"] is True


def test_system_prompt_change_needs_cto_sign_off_and_ai_evidence(flow: Flow) -> None:
    key = flow.change("system-prompt-change", "normal")
    flow.submit(key)
    passed, unmet = flow.gate(key)
    assert not passed
    assert set(unmet) == NORMAL_AI | {"cto-sign-off"}
    assert unmet["cto-sign-off"] == "approval by role cto: missing"
    assert unmet["ai-behavioral-results-pre"] == "document behavioral-results-pre: missing"

    flow.approve(key, "bob")
    common_evidence(flow, key)
    passed, unmet = flow.gate(key)
    assert not passed
    assert set(unmet) == {"lifecycle", "cto-sign-off"}  # everything but the CTO record (§10.3)

    flow.approve(key, "artur")
    passed, unmet = flow.gate(key)
    assert passed, unmet
    status = {r["rule"]: r["reason"] for r in flow.status(key)["requirements"]}
    assert status["ai-component-documented"] == "field ai_component: persona-engine"
    assert (
        status["ai-behavioral-results-post"]
        == "document behavioral-results-post: attached by ci-bot"
    )
    assert status["ai-security-impact"].startswith("validation security-impact: pass (by sam)")


def test_model_provider_switch_needs_providers_cto_and_current_dpas(flow: Flow) -> None:
    key = flow.change("model-provider-switch", "normal")
    passed, unmet = flow.gate(key)
    assert not passed
    assert unmet["ai-providers-documented"] == "field providers: missing"
    assert unmet["ai-provider-dpa"].startswith("provider DPA: no providers listed on the change")
    refused = flow.submit(key, code=2)
    assert "providers" in refused.stderr

    flow.run(
        "change", "edit", key, "--provider", "openai", "--provider", "anthropic", "--by", "alice"
    )
    flow.submit(key)
    passed, unmet = flow.gate(key)
    assert set(unmet) == NORMAL_AI | {"cto-sign-off", "ai-provider-dpa"}
    assert unmet["ai-provider-dpa"] == (
        "provider openai: DPA missing (not in the provider register; `changegate ai provider add "
        "openai`, then `changegate ai provider dpa openai ...`); provider anthropic: DPA missing "
        "(not in the provider register; `changegate ai provider add anthropic`, then "
        "`changegate ai provider dpa anthropic ...`)"
    )

    flow.approve(key, "bob")
    flow.approve(key, "artur")
    common_evidence(flow, key)
    flow.provider("openai")
    flow.provider("anthropic")
    flow.dpa("openai", expires=day(200))
    passed, unmet = flow.gate(key)
    assert not passed
    assert unmet == {
        "ai-provider-dpa": f"provider openai: DPA expires in 200 days ({day(200)}; signed "
        f"{day(-300)}); provider anthropic: DPA missing"
    }

    flow.dpa("anthropic", expires=day(90))
    passed, unmet = flow.gate(key)
    assert passed, unmet


def test_rag_config_change_needs_passing_tenant_isolation(flow: Flow) -> None:
    key = flow.change("rag-config-change", "normal")
    flow.submit(key)
    passed, unmet = flow.gate(key)
    assert set(unmet) == NORMAL_AI

    flow.approve(key, "bob")
    flow.junit(key)
    flow.staging(key)
    flow.regress(key)
    flow.assess(key)
    leak = flow.isolation(key, target=LEAKY, code=1)  # the tenant filter is broken: exit 1
    assert leak["status"] == "fail"
    passed, unmet = flow.gate(key)
    assert not passed
    assert list(unmet) == ["ai-tenant-isolation"]
    assert unmet["ai-tenant-isolation"].startswith("validation tenant-isolation: fail (by ci-bot)")
    assert "tenant acme saw data of another tenant" in unmet["ai-tenant-isolation"]

    flow.isolation(key)  # fixed: the latest run counts
    passed, unmet = flow.gate(key)
    assert passed, unmet


def test_model_version_upgrade_needs_a_regression_run_that_passes(flow: Flow) -> None:
    key = flow.change("model-version-upgrade", "normal", providers=("openai",))
    flow.submit(key)
    passed, unmet = flow.gate(key)
    assert set(unmet) == NORMAL_AI | {"model-upgrade-regression"}

    flow.approve(key, "bob")
    flow.junit(key)
    flow.staging(key)
    flow.isolation(key)
    flow.assess(key)
    bad = flow.regress(key, target="tests.ai.flow.targets:degraded", code=1)
    assert bad["critical_regressed"] == ["refund-window"]
    passed, unmet = flow.gate(key)
    assert set(unmet) == {"model-upgrade-regression", "ai-behavioral-regression"}
    assert "regressed: refund-window (critical), opening-hours" in unmet["ai-behavioral-regression"]

    flow.regress(key)
    passed, unmet = flow.gate(key)
    assert passed, unmet


def test_content_filtering_adjustment_needs_security_review(flow: Flow) -> None:
    key = flow.change("content-filtering-adjustment", "normal")
    flow.submit(key)
    passed, unmet = flow.gate(key)
    assert set(unmet) == NORMAL_AI | {"security-scrutiny", "content-filter-security-review"}

    flow.approve(key, "bob")
    flow.approve(key, "sam")
    common_evidence(flow, key)
    passed, unmet = flow.gate(key)
    assert not passed
    # one security reviewer fills one of the two security slots (§4b and §10.1)
    assert set(unmet) == {"lifecycle", "content-filter-security-review"}
    assert unmet["content-filter-security-review"].startswith("approval by role security: missing")

    flow.approve(key, "sue")
    passed, unmet = flow.gate(key)
    assert passed, unmet


def test_credential_rotation_is_standard_but_documents_its_providers(flow: Flow) -> None:
    key = flow.change("credential-rotation", "standard")
    passed, unmet = flow.gate(key)
    assert set(unmet) == {"lifecycle", "ai-providers-documented"}
    flow.submit(key, code=2)

    flow.run("change", "edit", key, "--provider", "openai", "--by", "alice")
    flow.submit(key)  # pre-approved on submit (§3a)
    passed, unmet = flow.gate(key)
    assert passed, unmet
    reasons = {r["rule"]: r["reason"] for r in flow.status(key)["requirements"]}
    assert reasons == {
        "standard-pre-approved": (
            "pre-approved procedure credential-rotation; logged in the audit record"
        ),
        "ai-component-documented": "field ai_component: llm-shuffle",
        "ai-providers-documented": "field providers: openai",
    }


def test_emergency_model_fallback_bypasses_approval_but_not_the_dpa(flow: Flow) -> None:
    key = flow.change(
        "emergency-model-fallback",
        "emergency",
        providers=("anthropic",),
        extra=("--justification", "OpenAI outage: fail over to Anthropic"),
    )
    flow.submit(key)
    passed, unmet = flow.gate(key)
    assert unmet == {
        "ai-provider-dpa": "provider anthropic: DPA missing (not in the provider register; "
        "`changegate ai provider add anthropic`, then `changegate ai provider dpa anthropic ...`)"
    }
    flow.provider("anthropic")
    flow.dpa("anthropic", expires=day(-1), signed=day(-366))
    passed, unmet = flow.gate(key)
    assert unmet == {"ai-provider-dpa": f"provider anthropic: DPA expired {day(-1)}"}

    flow.dpa("anthropic", expires=day(365), signed=day(-1))
    passed, unmet = flow.gate(key)
    assert passed, unmet
    flow.run("deploy", key, "--env", "production", "--version", "fallback-1", "--by", "carol")

    # §5 and §10.3 after the fact: retrospective review and post-change behavioural results
    after = {r["rule"]: r["reason"] for r in flow.status(key)["unmet"]}
    assert after["ai-emergency-behavioral-results"] == "document behavioral-results-post: missing"
    flow.regress(key)
    after = {r["rule"] for r in flow.status(key)["unmet"]}
    assert "ai-emergency-behavioral-results" not in after
    assert {"retrospective-review", "post-incident-review"} <= after
