"""A compromised CI token (threat model: the `ci` service account's API token).

`ci` may attach test results and validations, read changes and check the gate; it cannot
create or edit changes, approve, reject, deploy, roll back, or manage users, roles, passwords
or other people's tokens. Every refusal is a 403 naming the policy's grant, on both databases.
"""

from __future__ import annotations

from tests.api.support import JUNIT_B64, Org


def test_a_ci_token_attaches_evidence_and_checks_the_gate_but_decides_nothing(org: Org) -> None:
    author = org.user("engineer")
    bot = org.user("ci")
    key = org.change(author, "submitted")
    ci = org.bearer(bot)
    client = org.client
    # what a pipeline does
    junit = {"filename": "junit.xml", "content_base64": JUNIT_B64}
    assert (
        client.post(f"/api/changes/{key}/evidence/junit", json=junit, headers=ci).status_code < 300
    )
    staging = {"name": "staging", "result": "pass"}
    assert (
        client.post(f"/api/changes/{key}/evidence/validation", json=staging, headers=ci).status_code
        < 300
    )
    assert client.get(f"/api/changes/{key}", headers=ci).status_code == 200
    assert (
        client.post(f"/api/changes/{key}/gate", json={"env": "production"}, headers=ci).status_code
        < 300
    )
    # what it may not do
    refused = [
        ("POST", f"/api/changes/{key}/approve", {}),
        ("POST", f"/api/changes/{key}/reject", {"comment": "no"}),
        ("POST", f"/api/changes/{key}/deploy", {"env": "production", "version": "v1"}),
        ("POST", f"/api/changes/{key}/rollback", {"env": "production", "to": "v0", "reason": "x"}),
        ("PATCH", f"/api/changes/{key}", {"description": "rewritten by the pipeline"}),
        ("POST", "/api/users", {"name": "ci-helper", "roles": ["engineer"]}),
        ("PUT", f"/api/users/{bot}/roles", {"roles": ["ci", "engineer", "deployer"]}),
        ("PUT", f"/api/users/{author}/password", {"password": "a-new-password-123456"}),
        ("POST", "/api/tokens", {"user": author}),
    ]
    for method, url, body in refused:
        response = client.request(method, url, json=body, headers=ci)
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["error"] == "PolicyDenied", (method, url, response.text)
        assert "holds ci" in response.json()["message"], (method, url, response.text)
    # nothing it did approved or deployed the change
    shown = client.get(f"/api/changes/{key}", headers=ci).json()
    assert shown["state"] == "submitted"
