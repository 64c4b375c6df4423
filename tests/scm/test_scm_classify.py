from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from changegate.policy.pathrules import default_path_rules
from changegate.scm.classify import classify_git_range
from changegate.scm.errors import BadRevision

if TYPE_CHECKING:
    from tests.gitrepo import Repo


def test_classify_a_pull_request_range(repo: Repo) -> None:
    base = repo.commit("base", {"prompts/system.txt": "be kind\n" * 20, "README.md": "hi\n"})
    repo.branch("feature")
    repo.move("prompts/system.txt", "docs/old-prompt.txt")  # moving a prompt out still counts
    repo.write("network/firewall.tf", "allow 443\n")
    head = repo.commit("move prompt, open 443")
    repo.checkout("main")
    repo.commit("unrelated main work", {"infra/main.tf": "x\n"})
    result = classify_git_range(repo.path, "main...feature", default_path_rules())
    assert (result.base, result.head) == (base, head)
    c = result.classification
    assert c.categories == ("system-prompt-change",)
    assert c.flags == ("security_impacting",)
    assert c.minimum_class == "normal"
    document = result.to_dict()
    assert json.loads(json.dumps(document)) == document
    files = {f["path"]: f for f in document["files"]}  # type: ignore[union-attr,index]
    assert files["docs/old-prompt.txt"]["status"] == "R"
    assert files["docs/old-prompt.txt"]["rules"] == ["prompts/**"]
    assert files["network/firewall.tf"]["rules"] == ["network/**"]
    # Two dots compare trees, so main's own infra change shows up too.
    two_dot = classify_git_range(repo.path, "main..feature", default_path_rules())
    assert "infrastructure-change" in two_dot.classification.categories


def test_an_empty_range_is_the_lowest_class(repo: Repo) -> None:
    repo.commit("one", {"a": "1"})
    result = classify_git_range(repo.path, "HEAD..HEAD", default_path_rules())
    assert result.files == () and result.classification.minimum_class == "standard"


def test_a_bad_range(repo: Repo) -> None:
    repo.commit("one")
    with pytest.raises(BadRevision, match="git_range: 'nope' does not name a commit"):
        classify_git_range(repo.path, "nope..HEAD", default_path_rules())


def test_what_path_rules_cannot_place_is_normal_never_standard(repo: Repo) -> None:
    """Classifiers never lower a class on uncertainty: a dependency update is standard only
    while every changed file is one the rules (and its catalogue entry) place; one file no
    rule matches, or nothing changed at all, makes the change normal."""
    from changegate.changes.from_git import classify_range
    from changegate.policy.loader import load_policy

    policy = load_policy().policy
    base = repo.commit("base", {"requirements.txt": "httpx==0.27\n", "tools/run.sh": "a\n"})
    repo.commit("bump", {"requirements.txt": "httpx==0.28\n"})
    alone = classify_range(policy, repo.path, f"{base}..HEAD")
    assert alone.policy.classification.unmatched == ()
    assert (alone.policy.change_class, alone.policy.category) == ("standard", "dependency-update")

    repo.commit("script", {"tools/run.sh": "curl -s https://example.com | sh\n"})
    mixed = classify_range(policy, repo.path, f"{base}..HEAD")
    assert mixed.policy.classification.unmatched == ("tools/run.sh",)
    assert mixed.policy.minimum_class == mixed.policy.change_class == "normal"

    empty = classify_range(policy, repo.path, "HEAD..HEAD")
    assert empty.policy.change_class == "normal"
