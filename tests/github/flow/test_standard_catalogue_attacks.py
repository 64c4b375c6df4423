"""§3a over the webhook, as an attacker would try it: a pull request pre-approved as a standard
change must not carry more than its catalogue entry covers when it changes later.

Signed deliveries to the real endpoint, a real git repository, SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from changegate.audit.models import AuditEvent
from changegate.auth import service as auth
from changegate.changes.models import Change
from changegate.db import session_scope
from tests.factories import tx
from tests.github.flow.conftest import Hub
from tests.github.flow.test_standard_pull_request import STANDARD
from tests.gitrepo import Repo

LOW = STANDARD.replace("- [ ] low\n- [x] medium", "- [x] low\n- [ ] medium")


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        events = conn.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
        changes = conn.execute(select(func.count()).select_from(Change)).scalar_one()
    return int(events), int(changes)


def only_change(hub: Hub) -> Change:
    with session_scope(hub.engine, write=False) as s:
        change = s.scalars(select(Change)).one()
        s.expunge(change)
        return change


def gate_by_commit(hub: Hub, sha: str) -> int:
    _, secret = tx(hub.engine, lambda s: auth.create_token(s, user="carol", actor="system"))
    response = hub.client.post(
        f"/api/changes/by-commit/{sha}/gate",
        json={"env": "production"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code < 500, response.text
    return (
        response.status_code if response.status_code != 200 else int(not response.json()["passed"])
    )


def pre_approved_pull_request(hub: Hub) -> tuple[str, str]:
    base = hub.repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    hub.repo.branch("deps")
    head = hub.repo.commit("Bump httpx", {"requirements.txt": "httpx==0.28.1\n"})
    ok(hub.send("pull_request", hub.pull_request("opened", head=head, base=base, body=LOW)))
    change = only_change(hub)
    assert (change.change_class, change.state) == ("standard", "approved")
    assert gate_by_commit(hub, head) == 0
    return base, head


def test_a_push_outside_the_procedure_makes_the_pre_approved_change_normal(hub: Hub) -> None:
    base, _ = pre_approved_pull_request(hub)
    sneaky = hub.repo.commit("Open the admin API", {"iam/policy.json": '{"Allow": "*"}\n'})
    outcome = ok(
        hub.send("pull_request", hub.pull_request("synchronize", head=sneaky, base=base, body=LOW))
    )["outcome"]
    change = only_change(hub)
    assert change.change_class == "normal", outcome
    assert change.state == "submitted"
    assert gate_by_commit(hub, sneaky) != 0


def test_a_push_the_clone_cannot_place_is_never_pre_approved(hub: Hub) -> None:
    """The new head is not in the clone (no fetch): its files cannot be read, so the path rules
    cannot place them. Found: the change stayed standard and was pre-approved again for the
    unread head, whose gate then opened."""
    base, _ = pre_approved_pull_request(hub)
    unread = "f" * 40
    outcome = ok(
        hub.send("pull_request", hub.pull_request("synchronize", head=unread, base=base, body=LOW))
    )["outcome"]
    change = only_change(hub)
    assert change.state != "approved", outcome
    assert change.change_class == "normal", outcome
    assert "cannot be read" in outcome or "not in the clone" in outcome
    assert gate_by_commit(hub, unread) != 0


# -- the CLI and the API: commits listed by hand ------------------------------------------

LOW_RISK = ["--risk", "availability=low", "--risk", "security=low", "--risk", "data=low"]


def cli_team(db: str) -> None:
    from tests.cli_runner import cli

    assert cli(db, "user", "add", "carol", "--role", "deployer").code == 0
    # the attacker holds engineer and deployer
    assert cli(db, "user", "add", "mallory", "--role", "engineer", "--role", "deployer").code == 0


def two_commits(tmp_path: Path) -> tuple[Repo, str, str, str]:
    """A repository: base, a dependency bump on it, and a commit opening IAM."""
    repo = Repo(tmp_path / "svc")
    base = repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    bump = repo.commit("Bump httpx", {"requirements.txt": "httpx==0.28.1\n"})
    sneaky = repo.commit("Open the admin API", {"iam/policy.json": '{"Allow": "*"}\n'})
    return repo, base, bump, sneaky


def from_git(db: str, repo: Repo, base: str, head: str) -> dict[str, Any]:
    """`change from-git` of ``base..head`` by mallory, low risk; the change as JSON."""
    from tests.cli_runner import cli

    made = cli(
        db,
        "change",
        "from-git",
        "--git-range",
        f"{base}..{head}",
        "--repo",
        str(repo.path),
        "--title",
        "Bump httpx",
        "--author",
        "mallory",
        "--description",
        "patch release",
        "--rollback",
        "revert the lock file",
        *LOW_RISK,
        "--json",
    )
    assert made.code == 0, made.stderr
    out: dict[str, Any] = made.json()
    return out


def from_git_standard(db: str, repo: Repo, base: str, head: str) -> str:
    from tests.cli_runner import cli

    out = from_git(db, repo, base, head)
    assert (out["change_class"], out["category"]) == ("standard", "dependency-update")
    key: str = out["id"]
    assert cli(db, "change", "submit", key, "--by", "mallory").code == 0
    assert cli(db, "change", "show", key, "--json").json()["state"] == "approved"
    return key


def test_commits_listed_by_hand_on_a_standard_change_are_refused(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Found: `change new --class standard --category dependency-update --commit SHA` listed a
    commit that changes IAM; submit pre-approved it and `gate --git-sha SHA` opened: the
    entry's paths were never checked."""
    from tests.cli_runner import cli

    cli_team(db_url)
    _, _, _, sneaky = two_commits(tmp_path)
    before = counts(engine)
    run = cli(
        db_url,
        "change",
        "new",
        "--title",
        "Bump httpx",
        "--class",
        "standard",
        "--category",
        "dependency-update",
        "--description",
        "patch release",
        "--rollback",
        "revert",
        "--author",
        "mallory",
        *LOW_RISK,
        "--commit",
        sneaky,
    )
    assert run.code == 1, run.stdout
    assert "file it as a normal change" in run.stderr and "commit" in run.stderr
    assert counts(engine) == before
    gate = cli(db_url, "gate", "--git-sha", sneaky, "--env", "production", "--deployer", "carol")
    assert gate.code != 0


def test_an_edit_cannot_add_commits_to_a_pre_approved_change(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Found: a standard change from a range that only bumps requirements.txt, approved, then
    `change edit --commit SHA` (or PATCH commits) added the IAM commit; the edit was
    pre-approved again and `gate --git-sha SHA` opened."""
    from tests.api.support import running_org
    from tests.cli_runner import cli

    cli_team(db_url)
    repo, base, bump, sneaky = two_commits(tmp_path)
    key = from_git_standard(db_url, repo, base, bump)
    before = counts(engine)
    run = cli(
        db_url, "change", "edit", key, "--commit", bump, "--commit", sneaky, "--by", "mallory"
    )
    assert run.code == 1, run.stdout
    assert "file it as a normal change" in run.stderr
    assert counts(engine) == before
    assert cli(db_url, "change", "show", key, "--json").json()["state"] == "approved"
    gate = cli(db_url, "gate", "--git-sha", sneaky, "--env", "production", "--deployer", "carol")
    assert gate.code != 0
    # the API, with the author's token
    with running_org(db_url) as org:
        headers = org.bearer("mallory")
        r = org.client.patch(
            f"/api/changes/{key}", json={"commits": [bump, sneaky]}, headers=headers
        )
        assert r.status_code == 403, r.text
        assert "file it as a normal change" in r.json()["message"]
    gate = cli(db_url, "gate", "--git-sha", sneaky, "--env", "production", "--deployer", "carol")
    assert gate.code != 0
    # the commits it was pre-approved for still open the gate
    gate = cli(db_url, "gate", "--git-sha", bump, "--env", "production", "--deployer", "carol")
    assert gate.code == 0, gate.stdout + gate.stderr


def test_a_normal_change_with_commits_listed_by_hand_cannot_turn_standard(
    db_url: str, tmp_path: Path
) -> None:
    from tests.cli_runner import cli

    cli_team(db_url)
    _, _, _, sneaky = two_commits(tmp_path)
    made = cli(
        db_url,
        "change",
        "new",
        "--title",
        "Bump httpx",
        "--class",
        "normal",
        "--category",
        "dependency-update",
        "--component",
        "application",
        "--description",
        "patch release",
        "--rollback",
        "revert",
        "--author",
        "mallory",
        *LOW_RISK,
        "--commit",
        sneaky,
        "--json",
    )
    assert made.code == 0, made.stderr
    key = made.json()["id"]
    assert cli(db_url, "change", "submit", key, "--by", "mallory").code == 0
    run = cli(db_url, "change", "edit", key, "--class", "standard", "--by", "mallory")
    assert run.code == 1, run.stdout
    assert "file it as a normal change" in run.stderr
    assert cli(db_url, "change", "show", key, "--json").json()["state"] == "submitted"
    gate = cli(db_url, "gate", "--git-sha", sneaky, "--env", "production", "--deployer", "carol")
    assert gate.code != 0


def test_a_range_change_keeps_the_procedure_its_files_fall_in(db_url: str, tmp_path: Path) -> None:
    """A range the path rules place under dependency-update cannot be relabelled as another
    procedure of the catalogue (whose paths its files are not in)."""
    from tests.cli_runner import cli

    cli_team(db_url)
    repo, base, bump, _ = two_commits(tmp_path)
    key = from_git_standard(db_url, repo, base, bump)
    run = cli(
        db_url, "change", "edit", key, "--category", "configuration-tuning", "--by", "mallory"
    )
    assert run.code == 1, run.stdout
    assert "configuration-tuning" in run.stderr and "file it as a normal change" in run.stderr
    assert cli(db_url, "change", "show", key, "--json").json()["category"] == ("dependency-update")


def test_an_edit_that_empties_required_fields_is_not_pre_approved_again(db_url: str) -> None:
    """Found: an approved standard change edited to an empty rollback plan and description was
    pre-approved again and its gate stayed open; at submit those fields are required."""
    from tests.cli_runner import cli

    cli_team(db_url)
    made = cli(
        db_url,
        "change",
        "new",
        "--title",
        "Bump httpx",
        "--class",
        "standard",
        "--category",
        "dependency-update",
        "--description",
        "patch release",
        "--rollback",
        "revert",
        "--author",
        "mallory",
        *LOW_RISK,
        "--json",
    )
    key = made.json()["id"]
    assert cli(db_url, "change", "submit", key, "--by", "mallory").code == 0
    emptied = cli(db_url, "change", "edit", key, "--rollback", "", "--by", "mallory")
    assert emptied.code == 0, emptied.stderr
    assert cli(db_url, "change", "show", key, "--json").json()["state"] == "submitted"
    gate = cli(db_url, "gate", key, "--env", "production", "--deployer", "carol")
    assert gate.code == 1, gate.stdout
    # complete again: pre-approved again
    assert cli(db_url, "change", "edit", key, "--rollback", "revert", "--by", "mallory").code == 0
    assert cli(db_url, "change", "show", key, "--json").json()["state"] == "approved"
    assert cli(db_url, "gate", key, "--env", "production", "--deployer", "carol").code == 0


def test_a_commit_inside_the_range_that_leaves_the_procedure_counts(
    db_url: str, tmp_path: Path
) -> None:
    """Found: a range whose net diff is only requirements.txt, through a commit that opens IAM
    and a later one that puts it back, was classified standard (the net diff) while the IAM
    commit is one of the change's own commits: `gate --git-sha` on it opened, deploying the
    IAM opening with no review. Every commit of a range can be deployed by its SHA, so every
    file any of them touches counts."""
    from tests.cli_runner import cli

    cli_team(db_url)
    repo = Repo(tmp_path / "svc")
    base = repo.commit(
        "Initial import", {"src/app.py": "x = 1\n", "iam/policy.json": '{"Allow": []}\n'}
    )
    opened = repo.commit("Open the admin API", {"iam/policy.json": '{"Allow": "*"}\n'})
    head = repo.commit(
        "Bump httpx",
        {"iam/policy.json": '{"Allow": []}\n', "requirements.txt": "httpx==0.28.1\n"},
    )
    classified = cli(
        db_url, "classify", "--git-range", f"{base}..{head}", "--repo", str(repo.path), "--json"
    )
    assert classified.code == 0, classified.stderr
    assert classified.json()["class"] == "normal"
    assert "iam" in classified.json()["components"]
    out = from_git(db_url, repo, base, head)
    assert out["change_class"] == "normal"
    key = out["id"]
    assert cli(db_url, "change", "submit", key, "--by", "mallory").code == 0
    for sha in (opened, head):
        gate = cli(db_url, "gate", "--git-sha", sha, "--env", "production", "--deployer", "carol")
        assert gate.code == 1, gate.stdout


def test_an_edit_cannot_drop_what_the_changed_files_say(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    """Found: a range that changes iam/ is security-impacting with component iam (the path
    rules), so it needs a security reviewer; `change edit --component application` and
    PATCH security_flag=false dropped both, and with them the security review. What the
    changed files say is a floor, like their class."""
    from tests.api.support import running_org
    from tests.cli_runner import cli

    cli_team(db_url)
    repo = Repo(tmp_path / "svc")
    base = repo.commit("Initial import", {"src/app.py": "x = 1\n"})
    head = repo.commit("Open the admin API", {"iam/policy.json": '{"Allow": "*"}\n'})
    out = from_git(db_url, repo, base, head)
    key = out["id"]
    assert (out["change_class"], out["components"], out["security_flag"]) == (
        "normal",
        ["iam"],
        True,
    )
    before = counts(engine)
    run = cli(db_url, "change", "edit", key, "--component", "application", "--by", "mallory")
    assert run.code == 2, run.stdout
    assert "iam" in run.stderr
    with running_org(db_url) as org:
        r = org.client.patch(
            f"/api/changes/{key}",
            json={"security_flag": False},
            headers=org.bearer("mallory"),
        )
        assert r.status_code == 400, r.text
        assert "security" in r.json()["message"]
    shown = cli(db_url, "change", "show", key, "--json").json()
    assert (shown["components"], shown["security_flag"]) == (["iam"], True)
    assert counts(engine)[1] == before[1]
    status = cli(db_url, "status", key, "--json").json()
    assert "security-scrutiny" in [r["rule"] for r in status["requirements"]]


def test_a_merge_of_a_head_never_classified_does_not_open_the_gate(hub: Hub) -> None:
    """Found: the author pushes a commit outside the procedure and merges before (or without)
    a `synchronize` delivery; the `closed` delivery linked the merge commit to the
    pre-approved change and the gate by that merge commit opened."""
    base, head = pre_approved_pull_request(hub)
    hub.repo.commit("Open the admin API", {"iam/policy.json": '{"Allow": "*"}\n'})
    sneaky = hub.repo.head()
    hub.repo.checkout("main")
    merge = hub.repo.merge("deps", "Merge pull request #42")
    closed = hub.pull_request("closed", head=sneaky, base=base, body=LOW, merge_sha=merge)
    outcome = ok(hub.send("pull_request", closed))["outcome"]
    assert gate_by_commit(hub, merge) != 0, outcome
    assert gate_by_commit(hub, sneaky) != 0
    # the pre-approved head still opens its own gate
    assert gate_by_commit(hub, head) == 0


def test_a_merge_after_the_change_was_deployed_does_not_reuse_its_pre_approval(
    hub: Hub,
) -> None:
    """Found: once the pre-approved change was deployed its pull request no longer edits it,
    but the link still followed the new head; merged there, the merge commit was linked to
    the deployed change and the gate by that merge commit opened for code never classified."""
    base, head = pre_approved_pull_request(hub)
    _, secret = tx(hub.engine, lambda s: auth.create_token(s, user="carol", actor="system"))
    deployed = hub.client.post(
        f"/api/changes/by-commit/{head}/deploy",
        json={"env": "production", "version": "v1"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert deployed.status_code == 201 and deployed.json()["deployed"], deployed.text
    sneaky = hub.repo.commit("Open the admin API", {"iam/policy.json": '{"Allow": "*"}\n'})
    ok(hub.send("pull_request", hub.pull_request("synchronize", head=sneaky, base=base, body=LOW)))
    hub.repo.checkout("main")
    merge = hub.repo.merge("deps", "Merge pull request #42")
    closed = hub.pull_request("closed", head=sneaky, base=base, body=LOW, merge_sha=merge)
    outcome = ok(hub.send("pull_request", closed))["outcome"]
    assert gate_by_commit(hub, merge) != 0, outcome
    assert gate_by_commit(hub, sneaky) != 0
