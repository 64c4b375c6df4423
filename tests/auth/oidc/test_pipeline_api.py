"""A pipeline authenticates with its CI identity token: the trust policy decides whether and as
whom it acts, the person who triggered the job is the deployer, the commit comes from the
token. SQLite and PostgreSQL (the ``trusted`` fixture)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from sqlalchemy import func, select

from changegate.deployments.models import Deployment
from tests.api.support import Org
from tests.auth.oidc.conftest import Trusted
from tests.factories import tx

_shas = (f"{n:040x}" for n in itertools.count(0xA11CE000))


def ready(org: Org, **overrides: Any) -> tuple[str, str]:
    """A change approved with its evidence, on a commit of its own: (key, sha)."""
    sha = next(_shas)
    return org.change("alice", "ready", commits=[sha], **overrides), sha


def call(t: Trusted, path: str, body: dict[str, Any], token: str) -> Any:
    return t.org.client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def gate(t: Trusted, sha: str, token: str, **body: Any) -> Any:
    return call(t, f"/api/changes/by-commit/{sha}/gate", {"env": "production", **body}, token)


def deploy(t: Trusted, sha: str, token: str, version: str = "v1", **body: Any) -> Any:
    payload = {"env": "production", "version": version, **body}
    return call(t, f"/api/changes/by-commit/{sha}/deploy", payload, token)


def deployments(org: Org, key: str) -> int:
    from changegate.changes.service import get_change

    def count(s: Any) -> int:
        cid = get_change(s, key).id
        stmt = select(func.count()).select_from(Deployment).where(Deployment.change_id == cid)
        return int(s.scalar(stmt))

    return tx(org.engine, count)


def test_the_token_s_actor_deploys_the_token_s_commit(trusted: Trusted) -> None:
    t = trusted
    key, sha = ready(t.org)
    token = t.issuer.token(sha=sha)
    r = gate(t, sha, token)
    assert r.status_code == 200, r.text
    assert r.json()["passed"] and r.json()["deployer"] == "carol"
    r = deploy(t, sha, token)
    assert r.status_code == 201, r.text
    assert r.json()["deployment"]["actor"] == "carol" and not r.json()["already_recorded"]
    me = t.org.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["name"] == "ci-bot" and "deploy" in me["permissions"]
    # the audit log says which job it was, with the gate decisions and the deployment
    vias = {a: [e.get("extra", {}).get("via") for e in events(t.org, a)] for a in ACTIONS}
    for action in ACTIONS:
        via = vias[action][-1]
        assert via is not None, action
        assert (via["repository"], via["sha"], via["login"]) == ("acme/shop", sha, "carol-gh")
        assert via["identity"] == "ci-bot" and via["platform"] == "github"
    local = t.org.client.post(
        f"/api/changes/{key}/gate",
        json={"env": "production", "deployer": "carol"},
        headers=t.org.bearer("carol"),
    )
    assert local.status_code == 200, local.text
    assert events(t.org, "gate.evaluated")[-1].get("extra") is None  # no job: nothing to say


ACTIONS = ("gate.evaluated", "deployment.recorded")


def events(org: Org, action: str) -> list[dict[str, Any]]:
    """The payloads of the log's events of ``action``, oldest first."""
    import json

    from changegate.audit.models import AuditEvent

    def read(s: Any) -> list[dict[str, Any]]:
        rows = s.scalars(select(AuditEvent.data).order_by(AuditEvent.seq))
        decoded = [json.loads(bytes(d)) for d in rows]
        return [e for e in decoded if e["action"] == action]

    return tx(org.engine, read)


def test_a_re_run_is_recognised_and_records_nothing_new(trusted: Trusted) -> None:
    t = trusted
    key, sha = ready(t.org)
    token = t.issuer.token(sha=sha)
    first = deploy(t, sha, token)
    assert first.status_code == 201, first.text
    again = deploy(t, sha, token)
    assert again.status_code == 201, again.text
    assert again.json()["already_recorded"] is True
    assert again.json()["deployment"]["id"] == first.json()["deployment"]["id"]
    assert deployments(t.org, key) == 1
    # the gate says so, and a different version is a new deployment it refuses
    said = gate(t, sha, token, version="v1").json()
    redeploy = next(r for r in said["requirements"] if r["rule"] == "redeploy")
    assert said["passed"] and "deployed to production at v1" in redeploy["reason"]
    other = deploy(t, sha, token, version="v2")
    assert other.status_code == 409 and "roll back first" in other.json()["message"]
    assert deployments(t.org, key) == 1


def test_a_git_sha_that_disagrees_with_the_token_is_refused(trusted: Trusted) -> None:
    """Attack: a pipeline of a trusted repository claims another commit (an approved change)."""
    t = trusted
    _, approved_sha = ready(t.org)
    _, own_sha = ready(t.org)
    token = t.issuer.token(sha=own_sha)
    for r in (gate(t, approved_sha, token), deploy(t, approved_sha, token)):
        assert r.status_code == 403, r.text
        assert "disagrees with the token's commit" in r.json()["message"]


def test_a_change_named_by_id_must_be_the_token_s_commit_s(trusted: Trusted) -> None:
    t = trusted
    other_key, _ = ready(t.org)
    _, sha = ready(t.org)
    body = {"env": "production", "version": "v1"}
    r = call(t, f"/api/changes/{other_key}/deploy", body, t.issuer.token(sha=sha))
    assert r.status_code == 403 and "is not the change of the token's commit" in r.text


def test_the_deployer_comes_from_the_token(trusted: Trusted) -> None:
    """Attack: the job names someone else as deployer; the token's person stands."""
    t = trusted
    _, sha = ready(t.org)
    token = t.issuer.token(sha=sha)
    r = gate(t, sha, token, deployer="dana")
    assert r.status_code == 403 and "disagrees" in r.json()["message"]
    assert gate(t, sha, token, deployer="carol-gh").json()["deployer"] == "carol"
    assert gate(t, sha, token, deployer="carol").status_code == 200


def test_an_unmapped_actor_cannot_deploy(trusted: Trusted) -> None:
    t = trusted
    _, sha = ready(t.org)
    r = deploy(t, sha, t.issuer.token(sha=sha, actor="stranger"))
    assert r.status_code == 403
    assert "'stranger' is not mapped to a changegate user" in r.json()["message"]


def test_an_untrusted_repository_is_refused(trusted: Trusted) -> None:
    t = trusted
    _, sha = ready(t.org)
    r = gate(t, sha, t.issuer.token(sha=sha, repository="acme/forked-shop"))
    assert r.status_code == 403
    assert "repository 'acme/forked-shop' (github) is not trusted" in r.json()["message"]


def test_a_branch_rule_narrows_the_roles(trusted: Trusted) -> None:
    """A feature branch of the trusted repository may check the gate (ci) but not deploy,
    although its service identity holds deployer: the rule grants only ci."""
    t = trusted
    _, sha = ready(t.org)
    token = t.issuer.token(sha=sha, ref="refs/heads/feature/x")
    assert gate(t, sha, token).status_code == 200
    r = deploy(t, sha, token)
    assert r.status_code == 403 and "may not deploy changes" in r.json()["message"]
    tag = t.issuer.token(sha=sha, ref="refs/tags/v1")
    r = gate(t, sha, tag)
    assert r.status_code == 403 and "ref 'refs/tags/v1' of acme/shop is not trusted" in r.text


def test_gitlab_token_maps_user_login_and_environments(trusted: Trusted) -> None:
    t = trusted
    _, sha = ready(t.org)
    token = t.issuer.token("gitlab", alg="ES256", sha=sha)
    r = gate(t, sha, token)
    assert r.status_code == 200 and r.json()["deployer"] == "carol", r.text
    review = t.issuer.token("gitlab", sha=sha, environment="review/feature")
    r = gate(t, sha, review)
    assert r.status_code == 403 and "environment 'review/feature'" in r.text


def test_segregation_of_duties_uses_the_token_s_person(trusted: Trusted) -> None:
    """Attack: dana approved a high-risk change and triggers its deploy job; the service
    identity holding deployer does not launder her approval."""
    t = trusted
    from tests.api.support import risk

    key, sha = ready(t.org, risk=risk(availability="high"))
    from changegate.changes import service as changes
    from changegate.reviews import service as reviews
    from tests.factories import DEFAULT

    tx(
        t.org.engine,
        lambda s: reviews.approve(s, DEFAULT.policy, changes.get_change(s, key), actor="dana"),
    )
    r = deploy(t, sha, t.issuer.token(sha=sha, actor="dana-gh"))
    assert r.status_code == 409, r.text
    unmet = {u["rule"]: u["reason"] for u in r.json()["gate"]["unmet"]}
    assert "dana approved this high-risk change" in unmet["segregation-of-duties"]


def test_bad_tokens_are_401_and_api_tokens_still_work(trusted: Trusted) -> None:
    t = trusted
    _, sha = ready(t.org)
    now = int(time.time())
    expired = t.issuer.token(sha=sha, iat=now - 900, nbf=now - 900, exp=now - 600)
    forged = t.issuer.token(sha=sha, key=t.issuer.other_key)
    for token in (expired, forged, t.issuer.token(sha=sha, aud="someone-else")):
        r = gate(t, sha, token)
        assert r.status_code == 401 and "CI identity token refused" in r.json()["message"]
    r = gate(t, sha, t.org.token("carol"))
    assert r.status_code == 200 and r.json()["deployer"] == "carol"


def test_the_status_a_pipeline_polls_takes_its_token(trusted: Trusted) -> None:
    t = trusted
    key, sha = ready(t.org)
    headers = {"Authorization": f"Bearer {t.issuer.token(sha=sha)}"}
    for _ in range(2):  # the second read would come from the cache; a JWT is never remembered
        r = t.org.client.get(f"/api/changes/{key}/status", headers=headers)
        assert r.status_code == 200, r.text
    fork = t.issuer.token(sha=sha, repository="acme/forked-shop")
    r = t.org.client.get(f"/api/changes/{key}/status", headers={"Authorization": f"Bearer {fork}"})
    assert r.status_code == 403


def test_the_rule_s_roles_bind_the_services_too(trusted: Trusted) -> None:
    """Attack: a feature-branch job (its rule grants ci only) rolls production back through a
    service that checks the acting user's roles itself; ci-bot holds deployer, the job not."""
    t = trusted
    key, sha = ready(t.org)
    assert deploy(t, sha, t.issuer.token(sha=sha)).status_code == 201
    feature = t.issuer.token(sha=sha, ref="refs/heads/feature/x")
    body = {"env": "production", "to": "v0", "reason": "from a branch"}
    r = call(t, f"/api/changes/{key}/rollback", body, feature)
    assert r.status_code == 403 and "may not roll back" in r.json()["message"], r.text
    roles = t.org.client.get(
        "/api/me", headers={"Authorization": f"Bearer {t.org.token('ci-bot')}"}
    )
    assert roles.json()["roles"] == ["ci", "deployer"]  # the narrowing is never written
