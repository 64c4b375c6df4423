"""`changegate audit git` on a real repository with merges, against both databases: every
first-parent commit without a change, without an independent approval, or deployed without
a passing gate is reported, with summary counts, in the three formats."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from changegate.audit import events
from changegate.audit.service import record
from changegate.audit.verify import verify
from changegate.changes import service as changes
from changegate.changes.from_git import create_change_from_range
from changegate.changes.schemas import ChangeUpdate
from changegate.db import session_scope, utcnow
from changegate.github.models import CommitLink, GitHubDeployment
from changegate.reviews import service as reviews
from changegate.scm.history import audit_history
from changegate.scm.history_db import DatabaseLookup, audit_branch
from tests.cli_runner import cli
from tests.factories import DEFAULT, make_change, risk, tx
from tests.github.flow.conftest import make_team
from tests.gitrepo import Repo

P = DEFAULT.policy


def submit_and_approve(engine: Engine, key: str, approver: str | None) -> None:
    def run(s: Session) -> None:
        change = changes.get_change(s, key)
        changes.submit_change(s, P, change, actor=change.author)
        if approver:
            reviews.approve(s, P, change, actor=approver)

    tx(engine, run)


@pytest.fixture
def history(tmp_path: Path, engine: Engine) -> dict[str, Any]:
    make_team(engine)
    repo = Repo(tmp_path / "service")
    c0 = repo.commit("Initial import", {"src/app.py": "x = 0\n"})
    repo.branch("feature")
    f1 = repo.commit("Feature work", {"src/feature.py": "x\n"}, author="Bob")
    repo.checkout("main")
    m1 = repo.merge("feature", "Merge pull request #7 from octo-org/feature")
    c2 = repo.commit("Direct push", {"src/app.py": "x = 2\n"}, author="Carol")
    c3 = repo.commit("Deployed by hand", {"src/app.py": "x = 3\n"}, author="Erin")
    c4 = repo.commit("Bump deps", {"requirements.txt": "httpx\n"}, author="Bob")
    c5 = repo.commit("Edited after approval", {"src/app.py": "x = 5\n"}, author="Bob")

    pr = make_change(engine, author="bob", commits=[f1])  # CHG-1, the merge linked below
    submit_and_approve(engine, pr, "alice")

    def link_merge(s: Session) -> None:
        link = CommitLink(
            sha=m1,
            change_id=1,
            kind="merge",
            repository="octo-org/service",
            reason="merge commit of pull request #7",
            created_at=utcnow(),
        )
        s.add(link)
        record(s, events.CommitLinked, actor="github", after=link)

    tx(engine, link_merge)
    direct = make_change(engine, author="alice", commits=[c2])  # CHG-2: nobody approved
    submit_and_approve(engine, direct, None)
    by_hand = make_change(engine, author="erin", commits=[c3])  # CHG-3
    submit_and_approve(engine, by_hand, "bob")

    def deployed_outside(s: Session) -> None:
        now = utcnow()
        row = GitHubDeployment(
            github_id=99,
            repository="octo-org/service",
            sha=c3,
            ref="main",
            environment="production",
            creator_login="erin-gh",
            state="success",
            change_id=3,
            gate_passed=False,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        record(s, events.GitHubDeploymentRecorded, actor="github", after=row)

    tx(engine, deployed_outside)
    # CHG-4: a standard change is pre-approved on submit; its commits come from its range
    # (commits listed by hand are never checked against the procedure's paths, §3a)
    deps = tx(
        engine,
        lambda s: (
            create_change_from_range(
                s,
                P,
                repo=repo.path,
                git_range=f"{c3}..{c4}",
                author="bob",
                requested_class=None,
                fields={
                    "title": "Bump deps",
                    "description": "httpx patch release",
                    "risk": risk(),
                    "rollback_plan": "revert the lock file",
                },
            )[0].key
        ),
    )
    submit_and_approve(engine, deps, None)
    edited = make_change(engine, author="bob", commits=[c5])  # CHG-5
    submit_and_approve(engine, edited, "alice")
    tx(
        engine,
        lambda s: changes.edit_change(
            s, P, changes.get_change(s, edited), ChangeUpdate(description="changed"), actor="bob"
        ),
    )
    return {"repo": repo, "c0": c0, "m1": m1, "c2": c2, "c3": c3, "c4": c4, "c5": c5}


def test_audit_git_reports_what_bypassed_the_process(
    history: dict[str, Any], db_url: str, engine: Engine
) -> None:
    path = str(history["repo"].path)
    run = cli(db_url, "audit", "git", path, "--branch", "main", "--format", "json")
    assert run.code == 1, run.stderr
    out = run.json()
    found = {f["sha"]: f for f in out["findings"]}
    assert set(found) == {history["c0"], history["c2"], history["c3"], history["c5"]}
    assert found[history["c0"]]["problems"] == ["no_linked_change"]
    assert found[history["c2"]]["problems"] == ["no_independent_approval"]
    assert found[history["c2"]]["details"] == ["CHG-2 has no approval"]
    assert found[history["c3"]]["change_id"] == "CHG-3"
    assert found[history["c3"]]["problems"] == ["deployed_without_passing_gate"]
    assert found[history["c3"]]["details"] == [
        "deployed to production (deployment github 99) without a passing gate"
    ]
    assert found[history["c5"]]["problems"] == ["no_independent_approval"]  # stale approval
    assert out["summary"] == {
        "branch": "main",
        "head": history["c5"],
        "since": None,
        "commits_scanned": 6,
        "commits_with_findings": 4,
        "problems": {
            "no_linked_change": 1,
            "no_independent_approval": 2,
            "deployed_without_passing_gate": 1,
        },
        "complete": True,
        "passed": False,
    }
    # CSV: one row per finding on stdout, the summary on stderr
    run = cli(db_url, "audit", "git", path, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [r["sha"] for r in rows] == [
        history["c5"],
        history["c3"],
        history["c2"],
        history["c0"],
    ]
    assert rows[1]["change_id"] == "CHG-3"
    assert "6 commits on main" in run.stderr and "with findings" in run.stderr
    # table: the findings, then the summary
    run = cli(db_url, "audit", "git", path)
    assert run.code == 1
    assert history["c0"][:12] in run.stdout
    assert "6 commits on main" in run.stdout and "no_linked_change: 1" in run.stdout
    # --since: only commits from then on
    run = cli(db_url, "audit", "git", path, "--since", "2026-01-01T04:30:00Z", "--json")
    summary = run.json()["summary"]
    assert summary["commits_scanned"] == 3  # c3, c4, c5
    assert {f["sha"] for f in run.json()["findings"]} == {history["c3"], history["c5"]}
    bad = cli(db_url, "audit", "git", path, "--since", "yesterday")
    assert bad.code == 2 and "--since 'yesterday' is not a date" in bad.stderr
    assert cli(db_url, "audit", "git", path, "--branch", "nope").code == 2
    with session_scope(engine, write=False) as s:
        assert verify(s).ok


def test_the_database_lookup_is_batched(history: dict[str, Any], engine: Engine) -> None:
    with session_scope(engine, write=False) as s:
        lookup = DatabaseLookup(s, P)
        audit = audit_history(history["repo"].path, "main", lookup=lookup, batch_size=2)
        findings = list(audit)
        assert len(findings) == 4
        # one query per batch, whatever its size (SHAs match exactly: nothing is loaded
        # ahead to match abbreviated ones by prefix)
        assert lookup.queries == 3
        one = DatabaseLookup(s, P)
        list(audit_history(history["repo"].path, "main", lookup=one, batch_size=1000))
        assert one.queries == 1
        # the pipelined audit of `changegate audit git` finds the same, in the same order
        for size in (1, 2, 1000):
            piped = audit_branch(s, P, history["repo"].path, "main", batch_size=size)
            assert [(f.commit.sha, f.problems) for f in piped] == [
                (f.commit.sha, f.problems) for f in findings
            ]
            assert piped.summary.to_dict() == audit.summary.to_dict()
