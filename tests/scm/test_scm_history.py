from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from changegate.scm.errors import BadRevision, NotARepository, ScmError
from changegate.scm.gitformats import Commit
from changegate.scm.history import (
    CSV_COLUMNS,
    Approver,
    AuditResult,
    DeploymentRecord,
    LinkedChange,
    Problem,
    audit_history,
    evaluate_commit,
    format_csv,
    format_json,
    format_table,
    iter_json,
    run_audit,
)

if TYPE_CHECKING:
    from tests.gitrepo import Repo


class History:
    """A main branch with every case the audit distinguishes, and the lookup data."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.root = repo.commit("initial import", {"README.md": "hi\n"})
        # A reviewed pull request, merged with a merge commit.
        repo.branch("feature-a")
        repo.commit("prompt tweak", {"prompts/system.txt": "be kind\n"}, author="Bob")
        repo.checkout("main")
        self.reviewed_merge = repo.merge("feature-a", "Merge pull request #1 from bob/feature-a")
        # A direct push to main that bypassed everything.
        self.direct_push = repo.commit("hotfix straight to main", {"x": "1"}, author="Mallory")
        # A change approved only by its own author.
        self.self_approved = repo.commit("self approved", {"y": "1"}, author="Carol")
        # A change approved by someone whose identity is the commit's author.
        self.approved_by_committer = repo.commit(
            "approved by the committer", {"z": "1"}, author="Dave", email="dave@corp.example"
        )
        # A change with no approval at all.
        self.unapproved = repo.commit("nobody approved", {"w": "1"}, author="Erin")
        # Reviewed, but deployed once without a passing gate.
        self.ungated = repo.commit("deployed around the gate", {"v": "1"}, author="Frank")
        # No change, and deployed anyway.
        self.deployed_unlinked = repo.commit("deployed with no change", {"u": "1"})
        # Fully clean.
        self.clean = repo.commit("clean change", {"t": "1"}, author="Grace")
        self.links: dict[str, LinkedChange] = {
            self.root: LinkedChange("CHG-1", author="alice", approvers=(Approver("bob"),)),
            self.reviewed_merge: LinkedChange(
                "CHG-2",
                author="bob",
                approvers=(Approver("carol"),),
                deployments=(DeploymentRecord("production", True, "7"),),
            ),
            self.self_approved: LinkedChange(
                "CHG-3", author="carol", approvers=(Approver("carol"),)
            ),
            self.approved_by_committer: LinkedChange(
                "CHG-4",
                author="heidi",
                approvers=(Approver("dave", emails=("Dave@Corp.Example",)),),
            ),
            self.unapproved: LinkedChange("CHG-5", author="erin"),
            self.ungated: LinkedChange(
                "CHG-6",
                author="frank",
                approvers=(Approver("grace"),),
                deployments=(
                    DeploymentRecord("staging", True, "8"),
                    DeploymentRecord("production", False, "9"),
                ),
            ),
            self.deployed_unlinked: LinkedChange(
                None, deployments=(DeploymentRecord("production", False),)
            ),
            self.clean: LinkedChange(
                "CHG-7", author="grace", approvers=(Approver("grace"), Approver("ivan"))
            ),
        }
        self.calls: list[list[str]] = []

    def lookup(self, shas: Sequence[str]) -> Mapping[str, LinkedChange]:
        self.calls.append(list(shas))
        return {sha: self.links[sha] for sha in shas if sha in self.links}


@pytest.fixture
def history(repo: Repo) -> History:
    return History(repo)


def test_audit_reports_every_way_around_the_process(history: History) -> None:
    result = run_audit(audit_history(history.repo.path, "main", lookup=history.lookup))
    found = {f.commit.sha: f for f in result.findings}
    assert list(found) == [
        history.deployed_unlinked,
        history.ungated,
        history.unapproved,
        history.approved_by_committer,
        history.self_approved,
        history.direct_push,
    ]
    assert found[history.direct_push].problems == (Problem.NO_LINKED_CHANGE,)
    assert found[history.direct_push].change_id is None
    assert found[history.self_approved].problems == (Problem.NO_INDEPENDENT_APPROVAL,)
    assert found[history.self_approved].details == ("CHG-3 is approved only by its author (carol)",)
    assert found[history.approved_by_committer].problems == (Problem.NO_INDEPENDENT_APPROVAL,)
    assert found[history.unapproved].details == ("CHG-5 has no approval",)
    assert found[history.ungated].problems == (Problem.DEPLOYED_WITHOUT_PASSING_GATE,)
    assert found[history.ungated].details == (
        "deployed to production (deployment 9) without a passing gate",
    )
    assert found[history.deployed_unlinked].problems == (
        Problem.NO_LINKED_CHANGE,
        Problem.DEPLOYED_WITHOUT_PASSING_GATE,
    )
    summary = result.summary
    assert summary.complete and not summary.passed
    assert summary.commits_scanned == 9  # the side-branch commit is not on the first parent
    assert summary.commits_with_findings == 6
    assert summary.problems == {
        Problem.NO_LINKED_CHANGE: 2,
        Problem.NO_INDEPENDENT_APPROVAL: 3,
        Problem.DEPLOYED_WITHOUT_PASSING_GATE: 2,
    }
    assert summary.head == history.clean


def test_lookup_is_called_in_batches_and_progress_reported(history: History) -> None:
    progress: list[int] = []
    audit = audit_history(
        history.repo.path, "main", lookup=history.lookup, batch_size=4, progress=progress.append
    )
    findings = list(audit)
    assert [len(call) for call in history.calls] == [4, 4, 1]
    assert progress == [4, 8, 9]
    assert len(findings) == 6
    assert audit.summary.complete


def test_a_clean_history_passes(repo: Repo) -> None:
    shas = [repo.commit(f"c{i}", author="Alice") for i in range(3)]
    links = {
        sha: LinkedChange(f"CHG-{i}", "alice", (Approver("bob"),)) for i, sha in enumerate(shas)
    }
    audit = audit_history(repo.path, "main", lookup=lambda batch: links)
    assert list(audit) == []
    assert audit.summary.passed


def test_since_limits_the_walk(history: History) -> None:
    # Repo dates its n-th commit at 1_700_000_000 + n hours; 'ungated' is the 8th
    # commit made, so it and the two after it are at or after this cut-off.
    cutoff = datetime.fromtimestamp(1_700_000_000 + 8 * 3600, tz=UTC)
    audit = audit_history(history.repo.path, "main", cutoff, lookup=history.lookup)
    found = [f.commit.sha for f in audit]
    assert found == [history.deployed_unlinked, history.ungated]
    assert audit.summary.commits_scanned == 3
    assert audit.summary.since == cutoff.isoformat()


def test_stopping_early_leaves_the_summary_incomplete(history: History) -> None:
    audit = audit_history(history.repo.path, "main", lookup=history.lookup, batch_size=2)
    iterator = iter(audit)
    next(iterator)
    assert not audit.summary.complete and not audit.summary.passed
    partial = AuditResult(findings=[], summary=audit.summary)
    assert "(incomplete: the walk stopped early)" in format_table(partial)
    with pytest.raises(ScmError, match="already been iterated"):
        iter(audit)


def test_bad_inputs_fail_at_once(history: History, tmp_path: Path) -> None:
    with pytest.raises(BadRevision, match="branch: 'develop' does not name a commit"):
        audit_history(history.repo.path, "develop", lookup=history.lookup)
    with pytest.raises(NotARepository):
        audit_history(tmp_path / "missing", "main", lookup=history.lookup)
    with pytest.raises(ScmError, match="batch_size: 0 is below 1"):
        audit_history(history.repo.path, "main", lookup=history.lookup, batch_size=0)
    assert history.calls == []


def test_a_lookup_that_returns_the_wrong_type(history: History) -> None:
    audit = audit_history(history.repo.path, "main", lookup=lambda shas: list(shas))  # type: ignore[arg-type,return-value]
    with pytest.raises(ScmError, match="lookup: returned list; it must return a mapping"):
        list(audit)


def _commit(email: str = "a@example.com") -> Commit:
    return Commit("f" * 40, (), "A", email, "2024-01-01T00:00:00+00:00", "s", ())


def test_evaluate_commit_rules() -> None:
    assert evaluate_commit(_commit(), None) is not None
    ok = LinkedChange("CHG-1", author="alice", approvers=(Approver("bob"),))
    assert evaluate_commit(_commit(), ok) is None
    no_author_known = LinkedChange("CHG-1", approvers=(Approver("bob"),))
    assert evaluate_commit(_commit(), no_author_known) is None
    by_email = LinkedChange("CHG-1", "x", (Approver("bob", emails=("A@EXAMPLE.COM",)),))
    finding = evaluate_commit(_commit(), by_email)
    assert finding is not None and finding.problems == (Problem.NO_INDEPENDENT_APPROVAL,)
    passed_gate = LinkedChange(
        "CHG-1", "alice", (Approver("bob"),), (DeploymentRecord("production", True),)
    )
    assert evaluate_commit(_commit(), passed_gate) is None
    ungated = LinkedChange("CHG-1", "alice", (Approver("bob"),), (DeploymentRecord("prod", False),))
    finding = evaluate_commit(_commit(), ungated)
    assert finding is not None
    assert finding.details == ("deployed to prod without a passing gate",)


# -- output formats -----------------------------------------------------------------------


def test_json_output_is_one_stable_document(history: History) -> None:
    audit = audit_history(history.repo.path, "main", lookup=history.lookup)
    document = json.loads(format_json(audit))
    assert set(document) == {"findings", "summary"}
    first = document["findings"][0]
    assert set(first) == {
        "sha",
        "committed_at",
        "author_name",
        "author_email",
        "subject",
        "change_id",
        "problems",
        "details",
    }
    assert first["sha"] == history.deployed_unlinked
    assert first["problems"] == ["no_linked_change", "deployed_without_passing_gate"]
    assert document["summary"] == {
        "branch": "main",
        "head": history.clean,
        "since": None,
        "commits_scanned": 9,
        "commits_with_findings": 6,
        "problems": {
            "no_linked_change": 2,
            "no_independent_approval": 3,
            "deployed_without_passing_gate": 2,
        },
        "complete": True,
        "passed": False,
    }


def test_json_of_an_empty_audit(repo: Repo) -> None:
    sha = repo.commit("only")
    links = {sha: LinkedChange("CHG-1", "a", (Approver("b"),))}
    chunks = list(iter_json(audit_history(repo.path, "main", lookup=lambda s: links)))
    document = json.loads("".join(chunks))
    assert document["findings"] == [] and document["summary"]["passed"] is True


def test_csv_output(history: History) -> None:
    text = format_csv(audit_history(history.repo.path, "main", lookup=history.lookup))
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 7
    by_sha = {row[0]: dict(zip(CSV_COLUMNS, row, strict=True)) for row in rows[1:]}
    row = by_sha[history.deployed_unlinked]
    assert row["problems"] == "no_linked_change; deployed_without_passing_gate"
    assert row["change_id"] == ""
    assert by_sha[history.self_approved]["change_id"] == "CHG-3"


def test_table_output(history: History) -> None:
    text = format_table(audit_history(history.repo.path, "main", lookup=history.lookup))
    lines = text.splitlines()
    assert lines[0].startswith("COMMIT") and lines[0].endswith("SUBJECT")
    assert any(
        line.startswith(history.direct_push[:12]) and "hotfix straight to main" in line
        for line in lines
    )
    assert "- CHG-3 is approved only by its author (carol)" in text
    assert "9 commits on main (head " in text and "6 with findings" in text
    assert "  no_independent_approval: 3" in lines
