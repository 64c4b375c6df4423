"""§10.2's pages where a person decides (issue 11), through the app on both databases: the
LLM provider register with its DPAs (the policy's ``ai.provider.manage``, the CTO by default)
and the security impact assessment on a change (``ai.security_assessor_roles``). The pages
call the services the CLI and the API call; what they write is read back through those."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

from changegate.ai import checks, register
from changegate.audit.service import search
from changegate.changes.service import get_change
from tests.ai.flow import bodies
from tests.api.support import Org, P
from tests.factories import tx

DOCUMENT = b"%PDF-1.4\n% signed DPA\n"


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def listing(org: Org) -> dict[str, dict[str, Any]]:
    """`changegate ai provider list --json`, by provider."""
    out = tx(org.engine, lambda s: register.listing(s, P))
    return {row["provider"]: row for row in out["providers"]}


def day(offset: int) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=offset)).isoformat()


def post_dpa(org: Org, who: str, fields: dict[str, str], document: bytes | None = DOCUMENT) -> Any:
    headers, csrf = org.web(who)
    files = {"document": ("dpa.pdf", document or b"", "application/pdf")} if document else None
    return org.client.post(
        "/ai/providers/dpa", headers=headers, data={"csrf": csrf, **fields}, files=files
    )


def test_the_cto_adds_a_provider_and_records_its_dpa(org: Org) -> None:
    cto, name = org.user("cto"), org.name("prov")
    headers, csrf = org.web(cto)
    page = org.client.get("/ai/providers", headers=headers)
    assert page.status_code == 200
    assert 'id="add-provider-form"' in page.text and 'href="/ai/providers"' in page.text
    form = {"csrf": csrf, "name": name, "display_name": "Prov Inc.", "notes": "EU region"}
    added = org.client.post("/ai/providers", headers=headers, data=form)
    assert added.status_code == 303 and added.headers["location"] == "/ai/providers?done=added"
    assert listing(org)[name]["dpa_status"] == "none"

    warn = P.ai.dpa_warning_days
    expires = day(warn // 2) if warn is not None else day(10)
    fields = {"provider": name, "status": "signed", "signed": day(-300), "expires": expires}
    done = post_dpa(org, cto, fields | {"notes": "filed under legal/dpa"})
    assert done.status_code == 303, done.text[:500]
    row = listing(org)[name]
    assert (row["dpa_status"], row["signed_on"], row["expires_on"]) == (
        "signed",
        day(-300),
        expires,
    )
    assert row["document_sha256"] is not None and row["valid"] is True
    if warn is not None:  # within the policy's warning window: flagged
        assert row["state"] == "expiring"

    page = text(org.client.get("/ai/providers?done=dpa", headers=headers).text)
    assert "DPA recorded." in page and expires in page
    if warn is not None:
        assert "expiring in" in page and f"within {warn} days" in page

    events = tx(org.engine, lambda s: search(s, actor=cto, action="ai_provider.*"))
    assert [(e.action, e.event["after"]["name"]) for e in events][-2:] == [
        ("ai_provider.added", name),
        ("ai_provider.dpa_recorded", name),
    ]
    assert events[-1].event["after"]["dpa_expires_on"] == expires


def test_an_expired_dpa_is_shown_expired(org: Org) -> None:
    cto, name = org.user("cto"), org.name("prov")
    headers, csrf = org.web(cto)
    org.client.post("/ai/providers", headers=headers, data={"csrf": csrf, "name": name})
    fields = {"provider": name, "status": "signed", "signed": day(-400), "expires": day(-5)}
    assert post_dpa(org, cto, fields).status_code == 303
    assert listing(org)[name]["state"] == "expired"
    page = org.client.get("/ai/providers", headers=headers).text
    row = page.split(f'id="provider-{name}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="expired"' in page and ">expired<" in row


def test_others_get_the_register_read_only_and_403_on_post(org: Org) -> None:
    cto, engineer, name = org.user("cto"), org.user("engineer"), org.name("prov")
    headers, csrf = org.web(cto)
    org.client.post("/ai/providers", headers=headers, data={"csrf": csrf, "name": name})
    before = listing(org)

    headers, csrf = org.web(engineer)
    page = org.client.get("/ai/providers", headers=headers)
    assert page.status_code == 200 and f'id="provider-{name}"' in page.text
    assert 'id="read-only"' in page.text
    assert "<form" not in page.text.split("<main", 1)[1]  # no add or DPA form
    refused = org.client.post(
        "/ai/providers", headers=headers, data={"csrf": csrf, "name": org.name("prov")}
    )
    assert refused.status_code == 403 and "ai.provider.manage" in text(refused.text)
    assert refused.headers["content-type"].startswith("text/html")  # the error page, not JSON
    fields = {"provider": name, "status": "signed", "signed": day(-1), "expires": day(300)}
    assert post_dpa(org, engineer, fields).status_code == 403
    bad = post_dpa(org, engineer, fields, document=None)  # the service checks the input first
    assert bad.status_code == 400 and "a signed DPA needs --document FILE" in text(bad.text)
    assert listing(org) == before
    denied = tx(org.engine, lambda s: search(s, actor=engineer, action="access.denied"))
    assert len(denied) == 2


def test_bad_input_comes_back_on_the_page(org: Org) -> None:
    cto, name = org.user("cto"), org.name("prov")
    headers, csrf = org.web(cto)
    bad = org.client.post(
        "/ai/providers", headers=headers, data={"csrf": csrf, "name": "Not a name!"}
    )
    assert bad.status_code == 400
    assert 'id="add-error"' in bad.text and "use the provider id" in text(bad.text)
    assert 'value="Not a name!"' in bad.text  # the input is kept
    org.client.post("/ai/providers", headers=headers, data={"csrf": csrf, "name": name})
    again = org.client.post("/ai/providers", headers=headers, data={"csrf": csrf, "name": name})
    assert again.status_code == 409 and "already registered" in text(again.text)

    signed = {"provider": name, "status": "signed", "signed": day(-1), "expires": day(300)}
    cases = [
        (signed, None, 400, "a signed DPA needs --document FILE"),
        (signed | {"expires": "next year"}, DOCUMENT, 400, "is not a date; use YYYY-MM-DD"),
        (signed | {"expires": day(-2)}, DOCUMENT, 400, "is not after --signed"),
        (signed | {"status": "maybe"}, DOCUMENT, 400, "--status 'maybe': use one of"),
        (signed | {"provider": "nobody-here"}, DOCUMENT, 404, "unknown provider"),
    ]
    for fields, document, status, message in cases:
        r = post_dpa(org, cto, fields, document)
        assert r.status_code == status, (fields, r.text[:300])
        assert 'id="dpa-error"' in r.text and message in text(r.text)
        assert f'name="expires" type="date" value="{fields["expires"]}"' in r.text  # kept
    nul = post_dpa(org, cto, signed | {"notes": "a\x00b"})
    assert nul.status_code == 400 and nul.headers["content-type"].startswith("text/html")
    assert listing(org)[name]["dpa_status"] == "none"  # nothing was written

    no_csrf = org.client.post("/ai/providers", headers=headers, data={"name": org.name("prov")})
    assert no_csrf.status_code == 403 and "security token" in text(no_csrf.text)


def ai_change(org: Org) -> str:
    """A submitted AI change (RAG configuration) whose §10.2 requirements are open."""
    return org.change(
        org.user("engineer"),
        "submitted",
        category="rag-config-change",
        components=["rag-pipeline"],
        ai_component="rag-pipeline",
    )


def requirement(org: Org, key: str, rule: str) -> dict[str, Any]:
    status = org.client.get(f"/api/changes/{key}/status", headers=org.bearer(org.ci()))
    found = [r for r in status.json()["requirements"] if r["rule"] == rule]
    assert len(found) == 1, rule
    return found[0]


ASSESSMENT = {
    "prompt_injection": "medium",
    "data_leakage": "low",
    "content_filter": "low",
    "note_prompt_injection": "new retrieval scope reviewed",
    "notes": "scope limited to the tenant's own documents",
}


def test_the_security_reviewer_assesses_on_the_change_page(org: Org) -> None:
    security, key = org.user("security"), ai_change(org)
    rule = next(r.id for r in P.rules if getattr(r.require, "name", None) == "security-impact")
    assert requirement(org, key, rule)["met"] is False

    headers, csrf = org.web(security)
    page = org.client.get(f"/changes/{key}", headers=headers)
    assert 'id="ai-review"' in page.text and 'id="assess-form"' in page.text
    done = org.client.post(
        f"/changes/{key}/ai/assess", headers=headers, data={"csrf": csrf, **ASSESSMENT}
    )
    assert done.status_code == 303, done.text[:500]
    assert requirement(org, key, rule)["met"] is True

    shown = org.client.get(done.headers["location"].split("#")[0], headers=headers).text
    section = text(shown.split('id="ai-review"', 1)[1].split("</section>", 1)[0])
    assert "Security impact assessment recorded." in text(shown)
    assert "prompt injection risk: medium — new retrieval scope reviewed" in section
    assert f"assessed by {security}" in section


def test_an_engineer_cannot_assess_and_bad_ratings_are_refused(org: Org) -> None:
    engineer, security, key = org.user("engineer"), org.user("security"), ai_change(org)
    headers, csrf = org.web(engineer)
    page = org.client.get(f"/changes/{key}", headers=headers).text
    assert 'id="assess-form"' not in page
    reason = text(page.split('id="assess-unavailable">', 1)[1].split("</p>", 1)[0])
    assert "may not record a security impact assessment" in reason
    refused = org.client.post(
        f"/changes/{key}/ai/assess", headers=headers, data={"csrf": csrf, **ASSESSMENT}
    )
    assert refused.status_code == 403 and reason.rstrip(".") in text(refused.text)

    headers, csrf = org.web(security)
    bad = org.client.post(
        f"/changes/{key}/ai/assess",
        headers=headers,
        data={"csrf": csrf, **ASSESSMENT, "data_leakage": "tiny"},
    )
    assert bad.status_code == 400 and "--data-leakage 'tiny': use low|medium|high" in text(bad.text)
    assert requirement(org, key, "ai-security-impact")["met"] is False
    evidence = org.client.get(f"/api/changes/{key}", headers=org.bearer(security)).json()
    assert evidence["evidence"] == []  # nothing was written


def test_the_ai_review_shows_evidence_stored_by_the_services(org: Org) -> None:
    key, ci = ai_change(org), org.ci()

    def store(s: Any) -> None:
        change = get_change(s, key)
        observation = bodies.isolation()["observation"]
        checks.record_check(s, P, change, actor=ci, check="isolation", observation=observation)
        imported = bodies.PROMPTFOO
        checks.record_import(
            s, P, change, actor=ci, content=imported.read_bytes(), source=imported.name, phase="pre"
        )

    tx(org.engine, store)
    headers, _ = org.web(org.user("engineer"))
    page = org.client.get(f"/changes/{key}", headers=headers).text
    section = page.split('id="ai-review"', 1)[1].split("</section>", 1)[0]
    names = P.ai.evidence
    for name in (names.tenant_isolation, names.tenant_isolation_report, names.results_pre):
        assert f'data-name="{name}"' in section, name
    row = section.split(f'data-name="{names.tenant_isolation}"', 1)[1].split("</tr>", 1)[0]
    assert "badge-ok" in row and ">pass<" in row

    plain = org.change(org.user("engineer"), "submitted")
    assert 'id="ai-review"' not in org.client.get(f"/changes/{plain}", headers=headers).text
