"""The server judges what a check saw; a client's verdict is never taken (issue 11).

A remote `ai isolation`, `ai injection` or `ai regress` sends the raw answers of the target.
Attacks by a compromised or careless CI client, on SQLite and PostgreSQL: a forged verdict,
a run that leaves out the probes that would have found a leak, a suite run without the
critical case. Each is judged from the answers and refused or failed; nothing passes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from changegate.ai.injection import observe_injection
from changegate.ai.isolation import observe_isolation
from changegate.ai.regression import collect_outputs
from changegate.ai.suite import load_suite
from changegate.ai.targets import CallableTarget
from changegate.api.routes.ai_schemas import OutputIn, RunIn
from tests.ai.fake_targets import InProcessRag, answer
from tests.api.conftest import org  # noqa: F401  (the server on both databases)
from tests.api.support import Org

SUITE = Path(__file__).parent / "data" / "suite_fast.yaml"


def setup(org: Org) -> tuple[str, dict[str, str]]:  # noqa: F811
    ci = org.ci()
    key = org.change(org.user("engineer"), "submitted")
    return f"/api/changes/{key}/ai", org.bearer(ci)


def evidence_count(org: Org, key_url: str, headers: dict[str, str]) -> int:  # noqa: F811
    key = key_url.split("/")[3]
    return len(org.client.get(f"/api/changes/{key}", headers=headers).json()["evidence"])


def test_a_forged_isolation_verdict_is_judged_from_the_answers(org: Org) -> None:  # noqa: F811
    url, headers = setup(org)
    seen: dict[str, Any] = observe_isolation(
        InProcessRag(tenant_filter=False), ["acme", "globex"], probes_per_pair=1, seed=5
    ).to_dict()
    seen |= {"status": "pass", "passed": True, "reasons": ["all good"]}
    r = org.client.post(f"{url}/isolation", json={"observation": seen}, headers=headers)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["passed"]) == ("fail", False)
    assert r.json()["validation"]["passed"] is False


def test_an_isolation_run_without_its_cross_tenant_probes_is_not_a_pass(
    org: Org,  # noqa: F811
) -> None:
    url, headers = setup(org)
    seen = observe_isolation(
        InProcessRag(tenant_filter=False), ["acme", "globex"], probes_per_pair=1, seed=5
    ).to_dict()
    seen["asked"] = [a for a in seen["asked"] if a["kind"] == "control" and not a["error"]]
    for a in seen["asked"]:  # only what a leak-free service would answer
        a["response"]["chunks"] = [
            c for c in a["response"]["chunks"] if c["tenant"] == a["as_tenant"]
        ]
        a["response"]["context"] = ""
        a["response"]["answer"] = " ".join(c["text"] for c in a["response"]["chunks"])
    r = org.client.post(f"{url}/isolation", json={"observation": seen}, headers=headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["status"], out["passed"]) == ("inconclusive", False)
    assert "no cross-tenant probe from acme about globex" in out["report"]["reasons"]


def test_injection_results_that_leave_out_probes_are_refused(org: Org) -> None:  # noqa: F811
    url, headers = setup(org)
    seen = observe_injection(InProcessRag(tenant_filter=False), seed=3).to_dict()
    full = len(seen["asked"])
    before = evidence_count(org, url, headers)
    for keep in (
        [a for a in seen["asked"] if a["id"] == "instruction-override-direct"],
        seen["asked"] + seen["asked"][:1],  # one probe twice
        [],
    ):
        forged = seen | {"asked": keep, "status": "pass"}
        r = org.client.post(f"{url}/injection", json={"observation": forged}, headers=headers)
        assert r.status_code == 400, r.text
        assert "expected each of" in r.json()["message"]
    assert evidence_count(org, url, headers) == before
    assert full == 6


def test_a_regression_run_is_judged_by_the_server(org: Org) -> None:  # noqa: F811
    url, headers = setup(org)
    suite = load_suite(SUITE)
    good = CallableTarget(answer, label="good")
    outputs = collect_outputs(suite, good)
    body: dict[str, Any] = {
        "suite_text": SUITE.read_text(),
        "suite_source": str(SUITE),
        "before": {"label": "good", "outputs": outputs},
    }
    # a verdict field is not part of the request: refused
    forged = body | {"after": {"label": "good", "outputs": outputs}, "verdict": "pass"}
    r = org.client.post(f"{url}/regress", json=forged, headers=headers)
    assert r.status_code == 422, r.text
    # the critical case left out of the after run: it did not pass, and the verdict says so
    without = [o for o in outputs if o["id"] != "refund-window"]
    r = org.client.post(
        f"{url}/regress",
        json=body | {"after": {"label": "good", "outputs": without}},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["verdict"] == "fail"
    assert "critical cases regressed: refund-window" in r.json()["reasons"]
    # an answer that fails an assertion fails, whatever the client thinks of it
    wrong = [
        o | {"output": "ask again later"} if o["id"] == "refund-window" else o for o in outputs
    ]
    r = org.client.post(
        f"{url}/regress",
        json=body | {"after": {"label": "good", "outputs": wrong}},
        headers=headers,
    )
    assert r.status_code == 201 and r.json()["verdict"] == "fail", r.text
    # outputs naming a case the suite does not have are refused
    extra = [*outputs, {"id": "made-up", "output": "yes", "error": None}]
    r = org.client.post(
        f"{url}/regress",
        json=body | {"after": {"label": "good", "outputs": extra}},
        headers=headers,
    )
    assert r.status_code == 400, r.text


def test_what_a_target_answered_is_kept_as_sent() -> None:
    """Request bodies trim text, but a model's answer is evidence: kept as sent (an assertion
    may look at its whitespace), and still refused with a NUL in it."""
    run = RunIn(label=" good ", outputs=[OutputIn(id="a", output="  30 days \n")])
    assert run.fields()["outputs"][0]["output"] == "  30 days \n"
    assert run.label == " good "
    with pytest.raises(ValidationError):
        OutputIn(id="a", output="nul\x00")
