"""Gate integrity §2: a commit reaches production only under the change that reviewed it.

Each test reproduces an attack found on main and asserts the refusal: through signed webhook
deliveries to the real endpoint, the real API and the real CLI, on real git repositories, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from changegate.audit.verify import verify
from changegate.auth import service as auth
from changegate.changes import service as changes
from changegate.changes.models import Change
from changegate.db import session_scope
from changegate.evidence import service as evidence
from changegate.github.models import CommitLink, GitHubDeployment
from changegate.reviews import service as reviews
from tests.cli_runner import cli
from tests.factories import DEFAULT, JUNIT_PASS, tx
from tests.github.flow.conftest import Hub

P = DEFAULT.policy


def ok(response: Any, status: str = "processed") -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    return body


def token(hub: Hub, user: str) -> dict[str, str]:
    _, secret = tx(hub.engine, lambda s: auth.create_token(s, user=user, actor="system"))
    return {"Authorization": f"Bearer {secret}"}


def reviewed_pull_request(hub: Hub, *, risk_high: bool = False) -> tuple[str, str]:
    """CHG-1 from pull request #42, approved by bob, with tests and staging: its gate is open
    for its head commit. Returns (base, head)."""
    repo = hub.repo
    base = repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    repo.branch("round-tax")
    head = repo.commit("Round tax per line", {"src/tax.py": "ROUND = True\n"})
    ok(hub.send("pull_request", hub.pull_request("opened", head=head, base=base)))
    if risk_high:
        tx(
            hub.engine,
            lambda s: changes.edit_change(
                s,
                P,
                changes.get_change(s, "CHG-1", lock=True),
                changes_update(availability="high"),
                actor="alice",
            ),
        )
    ok(hub.send("pull_request_review", hub.review("approved", reviewer="hubot", commit=head)))

    def attach(s: Any) -> None:
        from changegate.users.models import User
        from changegate.users.service import add_user

        if s.scalar(select(User).where(User.name == "ci-bot")) is None:
            add_user(s, P, name="ci-bot", roles=["ci"])
        c = changes.get_change(s, "CHG-1", lock=True)
        evidence.add_junit(s, P, c, content=JUNIT_PASS, filename="junit.xml", actor="ci-bot")
        evidence.add_validation(s, P, c, name="staging", result="pass", actor="ci-bot")

    tx(hub.engine, attach)
    return base, head


def changes_update(**levels: str) -> Any:
    from changegate.changes.schemas import ChangeUpdate
    from tests.factories import risk

    return ChangeUpdate(risk=risk(**levels))


# -- (a) a commit message that names a change never opens its gate --------------------------


def test_a_pushed_commit_naming_a_change_is_a_reference_and_opens_no_gate(
    hub: Hub, db_url: str
) -> None:
    _base, head = reviewed_pull_request(hub)
    # the reviewed commit passes by its SHA
    run = cli(db_url, "gate", "--git-sha", head, "--env", "production", "--deployer", "carol")
    assert run.code == 0, run.stdout + run.stderr
    # an unreviewed commit pushed to main whose message names CHG-1 (and PR #42)
    hub.repo.checkout("main")
    sneaky = hub.repo.commit("Disable auth\n\nrefs CHG-1", {"src/auth.py": "OFF = True\n"})
    squashy = hub.repo.commit("Tweak (#42)", {"src/auth.py": "OFF = 2\n"})
    result = ok(
        hub.send(
            "push",
            hub.push([(sneaky, "Disable auth\n\nrefs CHG-1"), (squashy, "Tweak (#42)")]),
        )
    )
    assert "reference" in result["outcome"]
    # the gate by commit (CLI) and the deploy by commit (API) refuse it
    run = cli(db_url, "gate", "--git-sha", sneaky, "--env", "production", "--deployer", "carol")
    assert run.code == 1, run.stdout + run.stderr
    assert f"no change record is linked to commit {sneaky[:12]}" in run.stderr
    for sha in (sneaky, squashy):
        response = hub.client.post(
            f"/api/changes/by-commit/{sha}/deploy",
            json={"env": "production", "version": "v9"},
            headers=token(hub, "carol"),
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "NoLinkedChange"
    with session_scope(hub.engine, write=False) as s:
        assert s.get(Change, 1).state == "approved"  # type: ignore[union-attr]
        links = {(link.sha, link.kind) for link in s.scalars(select(CommitLink))}
        assert links == {(sneaky, "reference"), (squashy, "reference")}
        # shown on the change and audited
        from changegate.changes.status import change_report

        report = change_report(s, P, changes.get_change(s, "CHG-1"))
        assert {r["sha"] for r in report["references"]} == {sneaky, squashy}
        assert verify(s).ok
    page = hub.client.get("/changes/CHG-1", headers=web_session(hub, "bob"))
    assert page.status_code == 200
    assert sneaky[:12] in page.text.split('id="commits"', 1)[1].split("</section>", 1)[0]


def test_a_reference_becomes_a_merge_link_when_github_reports_the_merge(hub: Hub) -> None:
    base, head = reviewed_pull_request(hub)
    hub.repo.checkout("main")
    merge = hub.repo.merge("round-tax", "Merge pull request #42 from octo-org/round-tax")
    # the push arrives before the pull request's closed event
    ok(hub.send("push", hub.push([(merge, "Merge pull request #42 from octo-org/round-tax")])))
    body = ok(
        hub.send("pull_request", hub.pull_request("closed", head=head, base=base, merge_sha=merge))
    )
    assert f"merged: {merge[:12]} linked to CHG-1" in body["outcome"]
    with session_scope(hub.engine, write=False) as s:
        (link,) = s.scalars(select(CommitLink)).all()
        assert (link.sha, link.kind) == (merge, "merge")
        assert verify(s).ok
    response = hub.client.post(
        f"/api/changes/by-commit/{merge}/gate",
        json={"env": "production"},
        headers=token(hub, "carol"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["passed"] is True
    assert response.json()["commit"] == {"sha": merge, "linked_as": "merge"}


# -- (b) a commit is its full object name ---------------------------------------------------


def test_a_short_sha_on_a_change_never_covers_a_commit_that_starts_with_it(
    hub: Hub, db_url: str
) -> None:
    _base, head = reviewed_pull_request(hub)
    forged = head[:4] + "0123" + "f" * 32  # a commit found by trying ~65k
    # an abbreviated SHA is no longer accepted on a change (API and library)
    response = hub.client.patch(
        "/api/changes/CHG-1",
        json={"commits": [head, head[:4]], "by": "alice"},
        headers=token(hub, "alice"),
    )
    assert response.status_code in (400, 422), response.text
    with session_scope(hub.engine, write=False) as s:
        assert s.get(Change, 1).commits == [head]  # type: ignore[union-attr]
    # gating and deploying by commit take the full object name
    short = cli(
        db_url, "gate", "--git-sha", head[:12], "--env", "production", "--deployer", "carol"
    )
    assert short.code == 2, short.stdout + short.stderr
    assert "--git-sha" in short.stderr and "40" in short.stderr
    run = cli(db_url, "gate", "--git-sha", forged, "--env", "production", "--deployer", "carol")
    assert run.code == 1 and "no change record is linked" in run.stderr
    for sha in (head[:7], forged):
        response = hub.client.post(
            f"/api/changes/by-commit/{sha}/deploy",
            json={"env": "production", "version": "v9"},
            headers=token(hub, "carol"),
        )
        assert response.status_code in (400, 404), response.text
        assert response.json()["error"] in ("InvalidInput", "NoLinkedChange")
    with session_scope(hub.engine, write=False) as s:
        assert s.get(Change, 1).state == "approved"  # type: ignore[union-attr]


def test_the_cli_expands_a_short_sha_in_its_repository_or_refuses_it(
    hub: Hub, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    repo = hub.repo
    sha = repo.commit("Round tax", {"src/tax.py": "x\n"})
    new = ("change", "new", "--title", "Tax", "--class", "normal", "--author", "alice", "--json")
    monkeypatch.chdir(repo.path)
    run = cli(db_url, *new, "--commit", sha[:8])
    assert run.code == 0, run.stderr
    assert run.json()["commits"] == [sha]
    too_short = cli(db_url, *new, "--commit", sha[:6])
    assert too_short.code == 2 and "--commit" in too_short.stderr
    unknown = cli(db_url, *new, "--commit", "deadbeef")
    assert unknown.code == 2 and "deadbeef" in unknown.stderr
    elsewhere = tmp_path / "not-a-repo"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    outside = cli(db_url, *new, "--commit", sha[:8])
    assert outside.code == 2 and "git rev-parse" in outside.stderr
    full = cli(db_url, *new, "--commit", sha.upper())
    assert full.code == 0 and full.json()["commits"] == [sha]


# -- whoever authored or pushed a change's commits is one of its authors -----------------------


def test_a_reviewer_who_pushed_commits_to_the_change_may_not_approve_it(hub: Hub) -> None:
    repo = hub.repo
    base = repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    repo.branch("round-tax")
    first = repo.commit("Round tax per line", {"src/tax.py": "ROUND = True\n"})
    ok(hub.send("pull_request", hub.pull_request("opened", head=first, base=base)))
    # bob (hubot) pushes his own code to alice's pull request, then approves it
    second = repo.commit("Skip the audit log", {"src/tax.py": "AUDIT = False\n"}, author="Hubot")
    ok(
        hub.send(
            "pull_request",
            hub.pull_request("synchronize", head=second, base=base, sender="hubot"),
        )
    )
    refused = ok(
        hub.send("pull_request_review", hub.review("approved", reviewer="hubot", commit=second)),
        "refused",
    )
    assert "bob" in refused["outcome"] and "may not approve" in refused["outcome"]
    page = hub.client.get("/changes/CHG-1", headers=web_session(hub, "bob"))
    assert 'id="approve-button"' not in page.text
    # the page gives the service's reason, the one the API and the webhook give
    assert "bob is an author of CHG-1" in page.text and "may not approve it" in page.text
    with session_scope(hub.engine, write=False) as s:
        assert s.get(Change, 1).state == "submitted"  # type: ignore[union-attr]
        assert verify(s).ok


def test_a_reviewer_whose_commits_a_change_lists_may_not_approve_it(
    hub: Hub, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = hub.repo
    repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    bobs = repo.commit("Bob's change", {"src/tax.py": "x\n"}, author="Bob", email="bob@example.com")
    monkeypatch.chdir(repo.path)
    new = ("change", "new", "--title", "Tax", "--class", "normal", "--author", "alice")
    run = cli(
        db_url,
        *new,
        "--commit",
        bobs[:10],
        "--json",
        "--description",
        "d",
        "--risk",
        "availability=low",
        "--risk",
        "security=low",
        "--risk",
        "data=low",
        "--rollback",
        "revert",
    )
    assert run.code == 0, run.stderr
    key = run.json()["id"]
    assert cli(db_url, "change", "submit", key, "--by", "alice").code == 0
    refused = cli(db_url, "approve", key, "--by", "bob")
    assert refused.code == 1, refused.stdout + refused.stderr
    assert "bob" in refused.stderr and bobs[:12] in refused.stderr
    assert cli(db_url, "approve", key, "--by", "erin").code == 0


# -- (c) a GitHub deployment's deployer is its creator -----------------------------------------


def test_a_github_deployment_is_checked_against_its_creator(hub: Hub, db_url: str) -> None:
    _base, head = reviewed_pull_request(hub, risk_high=True)
    tx(
        hub.engine,
        lambda s: reviews.approve(s, P, changes.get_change(s, "CHG-1", lock=True), actor="sam"),
    )
    # carol passes the gate; bob, an approver of this high-risk change, creates the deployment
    run = cli(db_url, "gate", "CHG-1", "--env", "production", "--deployer", "carol")
    assert run.code == 0, run.stdout + run.stderr
    tx(hub.engine, lambda s: _grant(s, "bob", ["engineer", "deployer"]))
    ok(hub.send("deployment", hub.deployment(9, head, creator="hubot")))
    body = ok(
        hub.send("deployment_status", hub.deployment_status(9, head, "success", creator="hubot"))
    )
    assert "violation" in body["outcome"]
    assert "bob approved this high-risk change" in body["outcome"]
    # a deployment whose creator maps to nobody is a violation too
    ok(
        hub.send(
            "deployment_status", hub.deployment_status(10, head, "success", creator="stranger")
        )
    )
    with session_scope(hub.engine, write=False) as s:
        rows = {r.github_id: r for r in s.scalars(select(GitHubDeployment))}
        assert rows[9].gate_passed is False and "bob" in (rows[9].violation or "")
        assert rows[10].gate_passed is False and "stranger" in (rows[10].violation or "")
        assert s.get(Change, 1).state == "approved"  # type: ignore[union-attr]
        assert verify(s).ok
    status = cli(db_url, "status", "CHG-1", "--json")
    violations = status.json()["violations"]
    assert len(violations) == 2 and any("bob" in v["reason"] for v in violations)
    text = cli(db_url, "status", "CHG-1")
    assert "violation" in text.stdout.lower()
    log = cli(db_url, "audit", "log", "CHG-1", "--json")
    assert "github.deployment_violation" in log.stdout
    # shown on the change page and on the dashboard
    cookie = web_session(hub, "alice")
    for page in ("/changes/CHG-1", "/"):
        shown = hub.client.get(page, headers=cookie)
        assert shown.status_code == 200, shown.text
        section = shown.text.split('id="violations"', 1)[1].split("</section>", 1)[0]
        assert "GitHub deployment 9" in section and "stranger" in section


def web_session(hub: Hub, name: str) -> dict[str, str]:
    import datetime as dt

    from changegate.users import service as users
    from tests.api.support import COOKIE

    def open_(s: Any) -> str:
        _, raw = auth.open_session(
            s, users.get_user(s, name), address="testclient", ttl=dt.timedelta(hours=1)
        )
        return raw

    return {"Cookie": f"{COOKIE}={tx(hub.engine, open_)}"}


def _grant(s: Any, name: str, roles: list[str]) -> None:
    from changegate.users.models import User

    user = s.scalar(select(User).where(User.name == name))
    from changegate.users.service import set_roles

    set_roles(s, P, user, roles=roles, actor="system")


# -- rows from before schema 0007 -----------------------------------------------------------


def test_rows_recorded_before_0007_stay_valid_and_push_links_cover_nothing(
    hub: Hub, db_url: str
) -> None:
    """A ``push`` link (how a commit message naming a change was linked before 0007) and a
    GitHub deployment without ``violation``: their events still match them, the push link
    opens no gate, and the old deployment shows as a violation."""
    from changegate.audit import events
    from changegate.audit.service import record
    from changegate.db import utcnow

    _base, head = reviewed_pull_request(hub)
    pushed = "ab" * 20

    def old_rows(s: Any) -> None:
        now = utcnow()
        link = CommitLink(
            sha=pushed,
            change_id=1,
            kind="push",
            repository="octo-org/persona-service",
            reason="the commit message names CHG-1",
            created_at=now,
        )
        deployment = GitHubDeployment(
            github_id=77,
            repository="octo-org/persona-service",
            sha=head,
            environment="production",
            creator_login="monalisa",
            state="success",
            change_id=1,
            gate_passed=False,
            created_at=now,
            updated_at=now,
        )
        s.add_all([link, deployment])
        record(s, events.CommitLinked, actor="github", after=link)
        record(s, events.GitHubDeploymentRecorded, actor="github", after=deployment)

    tx(hub.engine, old_rows)
    run = cli(db_url, "gate", "--git-sha", pushed, "--env", "production", "--deployer", "carol")
    assert run.code == 1 and "no change record is linked" in run.stderr
    status = cli(db_url, "status", "CHG-1", "--json").json()
    assert [v["github_deployment"] for v in status["violations"]] == [77]
    assert status["violations"][0]["reason"] == "deployed without a passing gate"
    shown = cli(db_url, "change", "show", "CHG-1", "--json").json()
    assert [r["sha"] for r in shown["references"]] == [pushed]
    with session_scope(hub.engine, write=False) as s:
        row = s.scalars(select(GitHubDeployment)).one()
        assert "violation" not in row.audit_state()
        report = verify(s)
        assert report.ok, report.problems
