from __future__ import annotations

import itertools
import re
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from changegate.policy.pathrules import default_path_rules
from changegate.scm.classify import classify_paths
from changegate.scm.errors import BadRevision, GitError, NotARepository
from changegate.scm.gitformats import RevisionRange, parse_log_stream
from changegate.scm.gitrepo import GitRepo

if TYPE_CHECKING:
    from tests.gitrepo import Repo


# -- opening and resolving -------------------------------------------------------------


def test_not_a_repository(tmp_path: Path) -> None:
    with pytest.raises(NotARepository) as excinfo:
        GitRepo(tmp_path)
    message = str(excinfo.value)
    assert "is not a git repository" in message and "git init" in message
    assert excinfo.value.field == "repo"
    assert isinstance(excinfo.value, ValueError)


def test_missing_path_and_file_path(tmp_path: Path) -> None:
    with pytest.raises(NotARepository, match="does not exist"):
        GitRepo(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotARepository, match="is not a directory"):
        GitRepo(tmp_path / "file")


def test_git_binary_missing(repo: Repo) -> None:
    repo.commit("one")
    with pytest.raises(GitError, match="git executable 'no-such-git' not found; install git"):
        GitRepo(repo.path, git="no-such-git")


def test_resolve(repo: Repo) -> None:
    first = repo.commit("one")
    second = repo.commit("two")
    git = GitRepo(repo.path)
    assert git.resolve("main") == second
    assert git.resolve("HEAD~1") == first
    assert git.resolve(first[:10]) == first
    repo.git("-c", "user.name=T", "-c", "user.email=t@x", "tag", "-a", "v1", "-m", "v1", first)
    assert git.resolve("v1") == first  # annotated tags peel to their commit


@pytest.mark.parametrize("bad", ["nope", "main~5", "", "--all", "-n1", "a\nb"])
def test_resolve_refuses_what_names_no_commit(repo: Repo, bad: str) -> None:
    repo.commit("one")
    with pytest.raises(BadRevision) as excinfo:
        GitRepo(repo.path).resolve(bad, field="branch")
    assert str(excinfo.value).startswith("branch: ")
    assert excinfo.value.field == "branch"


def test_resolve_in_an_empty_repository(repo: Repo) -> None:
    with pytest.raises(BadRevision, match="'main' does not name a commit"):
        GitRepo(repo.path).resolve("main")


def test_resolve_refuses_a_tree(repo: Repo) -> None:
    repo.commit("one", {"a": "1"})
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    with pytest.raises(BadRevision):
        GitRepo(repo.path).resolve(tree)


def test_bare_repository(repo: Repo, tmp_path: Path) -> None:
    head = repo.commit("one")
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo.path), str(bare)], check=True)
    git = GitRepo(bare)
    assert git.resolve("main") == head
    assert [c.sha for c in git.iter_first_parent("main")] == [head]


# -- ranges and changed files ------------------------------------------------------------


def test_revision_range_parsing() -> None:
    assert RevisionRange.parse("a..b") == RevisionRange("a", "b", symmetric=False)
    assert RevisionRange.parse("a...b") == RevisionRange("a", "b", symmetric=True)
    assert RevisionRange.parse("main..") == RevisionRange("main", "HEAD")
    assert RevisionRange.parse("..feature") == RevisionRange("HEAD", "feature")
    assert str(RevisionRange.parse("a...b")) == "a...b"
    with pytest.raises(BadRevision, match=re.escape("has no '..'; write it as BASE..HEAD")):
        RevisionRange.parse("main")
    with pytest.raises(BadRevision, match=re.escape("more than one '..'")):
        RevisionRange.parse("a..b..c")


def test_changed_files_with_statuses(repo: Repo) -> None:
    base = repo.commit(
        "base",
        {
            "keep.txt": "same\n",
            "edit.txt": "before\n",
            "gone.txt": "bye\n",
            "prompts/old-name.txt": "a long enough prompt body to be detected as a rename\n" * 5,
        },
    )
    repo.write("edit.txt", "after\n")
    repo.remove("gone.txt")
    repo.move("prompts/old-name.txt", "prompts/persona/new-name.txt")
    repo.write("infra/tls/server.pem", "-----BEGIN CERTIFICATE-----\n")
    head = repo.commit("change")
    files = {f.path: f for f in GitRepo(repo.path).changed_files(f"{base}..{head}")}
    assert set(files) == {
        "edit.txt",
        "gone.txt",
        "prompts/persona/new-name.txt",
        "infra/tls/server.pem",
    }
    assert files["edit.txt"].status == "M"
    assert files["gone.txt"].status == "D" and files["gone.txt"].new_oid is None
    added = files["infra/tls/server.pem"]
    assert added.status == "A" and added.old_oid is None and added.new_oid is not None
    renamed = files["prompts/persona/new-name.txt"]
    assert renamed.status == "R" and renamed.similarity == 100
    assert renamed.old_path == "prompts/old-name.txt"
    assert renamed.paths == ("prompts/old-name.txt", "prompts/persona/new-name.txt")
    assert files["edit.txt"].old_content is None  # contents only on request


def test_changed_files_with_contents(repo: Repo) -> None:
    base = repo.commit("base", {"edit.txt": "before\n", "gone.txt": "bye\n", "bin": b"\0\1\2"})
    repo.write("edit.txt", "after\n")
    repo.remove("gone.txt")
    repo.write("bin", b"\0\1\2\3\n\n")
    repo.write("new.txt", "")
    head = repo.commit("change")
    files = {f.path: f for f in GitRepo(repo.path).changed_files(f"{base}..{head}", contents=True)}
    assert (files["edit.txt"].old_content, files["edit.txt"].new_content) == (
        b"before\n",
        b"after\n",
    )
    assert (files["gone.txt"].old_content, files["gone.txt"].new_content) == (b"bye\n", None)
    assert files["bin"].new_content == b"\0\1\2\3\n\n"
    assert files["new.txt"].new_content == b""


def test_changed_files_with_awkward_names(repo: Repo) -> None:
    base = repo.commit("base")
    names = ["with space.txt", "new\nline.txt", "ünïcödé/файл.md", 'quote"s.txt', "tab\t.txt"]
    head = repo.commit("add", dict.fromkeys(names, "x\n"))
    files = GitRepo(repo.path).changed_files(f"{base}..{head}")
    assert sorted(f.path for f in files) == sorted(names)


def test_three_dot_range_uses_the_merge_base(repo: Repo) -> None:
    repo.commit("base", {"a.txt": "a\n"})
    repo.branch("feature")
    repo.commit("feature work", {"prompts/system.txt": "be nice\n"})
    repo.checkout("main")
    repo.commit("main moves on", {"infra/main.tf": "x\n"})
    git = GitRepo(repo.path)
    two_dot = {f.path for f in git.changed_files("main..feature")}
    three_dot = {f.path for f in git.changed_files("main...feature")}
    # Two dots compare the trees: main's own new file shows up as deleted on 'feature'.
    assert two_dot == {"prompts/system.txt", "infra/main.tf"}
    # Three dots show what the pull request from 'feature' into 'main' changes.
    assert three_dot == {"prompts/system.txt"}


def test_unrelated_histories_with_three_dots(make_repo: object, repo: Repo) -> None:
    repo.commit("one")
    repo.git("checkout", "-q", "--orphan", "other")
    repo.commit("unrelated")
    with pytest.raises(BadRevision, match=re.escape("no common ancestor; use BASE..HEAD")):
        GitRepo(repo.path).changed_files("main...other")


def test_bad_range_names_the_field(repo: Repo) -> None:
    repo.commit("one")
    with pytest.raises(BadRevision) as excinfo:
        GitRepo(repo.path).changed_files("main..nope")
    assert excinfo.value.field == "git_range"
    assert "'nope' does not name a commit" in str(excinfo.value)


def test_classify_a_real_range(repo: Repo) -> None:
    base = repo.commit("base", {"README.md": "hi\n", "config/litellm.yaml": "a: 1\n"})
    repo.write("config/litellm.yaml", "a: 2\n")
    repo.write("iam/roles/deployer.json", "{}\n")
    repo.commit("switch provider")
    files = GitRepo(repo.path).changed_files(f"{base}..HEAD")
    paths = [p for f in files for p in f.paths]
    result = classify_paths(paths, default_path_rules())
    assert result.categories == ("model-provider-switch",)
    assert result.flags == ("security_impacting",)


def test_read_blobs(repo: Repo) -> None:
    repo.commit("one", {"a": "alpha\n", "b": "beta\n"})
    oid_a = repo.git("rev-parse", "HEAD:a").strip()
    oid_b = repo.git("rev-parse", "HEAD:b").strip()
    git = GitRepo(repo.path)
    missing = "0123456789abcdef0123456789abcdef01234567"
    blobs = git.read_blobs([oid_a, oid_b, oid_a, missing])
    assert blobs == {oid_a: b"alpha\n", oid_b: b"beta\n"}
    assert git.read_blobs([]) == {}
    with pytest.raises(BadRevision, match="not a full object id"):
        git.read_blobs(["HEAD:a"])


# -- the streamed first-parent log --------------------------------------------------------


def test_first_parent_log_follows_merges_not_side_branches(repo: Repo) -> None:
    root = repo.commit("root")
    repo.branch("feature")
    side1 = repo.commit("side one", {"f1": "1"}, author="Bob")
    side2 = repo.commit("side two", {"f2": "2"}, author="Bob")
    repo.checkout("main")
    direct = repo.commit("direct push", {"d": "1"})
    merge = repo.merge("feature", "Merge pull request #7 from bob/feature")
    commits = list(GitRepo(repo.path).iter_first_parent("main"))
    assert [c.sha for c in commits] == [merge, direct, root]
    assert side1 not in {c.sha for c in commits} and side2 not in {c.sha for c in commits}
    top = commits[0]
    assert top.parents == (direct, side2)
    assert top.is_merge and not commits[1].is_merge
    assert top.subject == "Merge pull request #7 from bob/feature"
    assert top.author_name == "Merger" and top.author_email == "merger@example.com"
    assert commits[-1].parents == ()


def test_log_fields_and_trailers(repo: Repo) -> None:
    message = (
        "Rotate TLS cert\n\nBody line one.\nBody: not a trailer, it is in the body.\n\n"
        "Change-Id: CHG-42\nReviewed-by: Carol <carol@example.com>\n"
        "Long-Trailer: first half\n  second half\n"
    )
    repo.commit(message, author="Zoë Ünicode", email="zoe@example.com")
    (commit,) = GitRepo(repo.path).iter_first_parent("HEAD")
    assert commit.author_name == "Zoë Ünicode"
    assert commit.subject == "Rotate TLS cert"
    assert commit.committed_at.endswith("+00:00")
    assert datetime.fromisoformat(commit.committed_at).tzinfo is not None
    assert commit.trailers == (
        ("Change-Id", "CHG-42"),
        ("Reviewed-by", "Carol <carol@example.com>"),
        ("Long-Trailer", "first half second half"),
    )
    assert commit.trailer("change-id") == "CHG-42"
    assert commit.trailer("Missing") is None


def test_log_since(repo: Repo) -> None:
    shas = [repo.commit(f"c{i}") for i in range(5)]
    git = GitRepo(repo.path)
    # Repo dates commit i at 1_700_000_000 + (i+1) hours.
    cutoff = datetime.fromtimestamp(1_700_000_000 + 3 * 3600, tz=UTC)
    assert [c.sha for c in git.iter_first_parent("main", since=cutoff)] == shas[:1:-1]
    naive = cutoff.replace(tzinfo=None)  # naive datetimes are taken as UTC
    assert len(list(git.iter_first_parent("main", since=naive))) == 3
    assert len(list(git.iter_first_parent("main", since=date(2030, 1, 1)))) == 0
    assert git.count_first_parent("main") == 5
    assert git.count_first_parent("main", since=cutoff) == 3


def test_log_of_a_bad_branch_fails_before_iterating(repo: Repo) -> None:
    repo.commit("one")
    with pytest.raises(BadRevision, match="branch: 'nope' does not name a commit"):
        GitRepo(repo.path).iter_first_parent("nope")


def test_stopping_early_ends_the_git_process(repo: Repo) -> None:
    for i in range(30):
        repo.commit(f"c{i}")
    stream = GitRepo(repo.path).iter_first_parent("main")
    first = next(stream)
    assert first.subject == "c29"
    stream.close()  # kills and reaps git; no ResourceWarning, no zombie


def test_streaming_parser_handles_any_chunking() -> None:
    records = [
        ("a" * 40, "", "Zoë", "z@x", "2024-01-01T00:00:00+00:00", "first", ""),
        ("b" * 40, "a" * 40, "Bob", "b@x", "2024-01-02T00:00:00+00:00", "ünï", "K: v\nX: y"),
    ]
    data = b"".join(("\0".join(r) + "\0").encode() for r in records)

    class Trickle:
        """Hands out the stream a few bytes at a time, splitting multi-byte characters."""

        def __init__(self, payload: bytes, size: int) -> None:
            self.payload, self.size = payload, size

        def read(self, _n: int) -> bytes:
            piece, self.payload = self.payload[: self.size], self.payload[self.size :]
            return piece

    for size in (1, 2, 3, 7, 64, len(data)):
        commits = list(parse_log_stream(Trickle(data, size)))  # type: ignore[arg-type]
        assert [c.sha for c in commits] == ["a" * 40, "b" * 40]
        assert commits[1].subject == "ünï" and commits[1].trailers == (("K", "v"), ("X", "y"))
        assert commits[0].author_name == "Zoë" and commits[0].parents == ()
    with pytest.raises(GitError, match="ended in the middle of a commit"):
        list(parse_log_stream(Trickle(data[:-10], 5)))  # type: ignore[arg-type]


def test_a_long_history_streams(repo: Repo) -> None:
    # A history larger than one read buffer, built with fast-import.
    count = 5000
    lines = []
    for i in range(count):
        message = f"commit {i} " + "x" * 200
        lines.append(
            f"commit refs/heads/main\nmark :{i + 1}\n"
            f"committer C <c@example.com> {1_700_000_000 + i} +0000\n"
            f"data {len(message)}\n{message}\n"
        )
        if i:
            lines.append(f"from :{i}\n")
        lines.append("\n")
    subprocess.run(
        ["git", "-C", str(repo.path), "fast-import", "--quiet"],
        input="".join(lines).encode(),
        check=True,
    )
    commits = list(GitRepo(repo.path).iter_first_parent("main"))
    assert len(commits) == count
    assert commits[0].subject.startswith(f"commit {count - 1} ")
    assert commits[-1].subject.startswith("commit 0 ")
    assert all(c.parents == (n.sha,) for c, n in itertools.pairwise(commits))


def test_a_corrupt_history_fails_with_gits_message(repo: Repo) -> None:
    shas = [repo.commit(f"c{i}", {"f": str(i)}) for i in range(5)]
    victim = shas[1]  # loose object: delete it, so the walk breaks part-way
    (repo.path / ".git" / "objects" / victim[:2] / victim[2:]).unlink()
    seen: list[str] = []
    with pytest.raises(GitError, match="git log failed in") as excinfo:
        seen.extend(c.sha for c in GitRepo(repo.path).iter_first_parent("main"))
    assert excinfo.value.field == "repo"
    assert victim not in seen
