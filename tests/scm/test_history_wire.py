"""The history audit's lookup answers on the wire (`audit git` against a server)."""

from __future__ import annotations

import json

import pytest

from changegate.errors import InvalidInput
from changegate.scm.history import Approver, DeploymentRecord, LinkedChange
from changegate.scm.history_wire import links_from_json, links_to_json


def test_a_lookup_answer_survives_the_wire() -> None:
    bob = (Approver("bob"), Approver("policy (pre-approved standard change)"))
    links = {
        "a" * 40: LinkedChange("CHG-1", "alice", bob),
        "b" * 40: LinkedChange("CHG-2", "carol", bob, (DeploymentRecord("prod", True, None),)),
        "c" * 40: LinkedChange("CHG-3", "dave", (Approver("erin", ("e@example.com",)),)),
        "d" * 40: LinkedChange(None, deployments=(DeploymentRecord("prod", False, "github 7"),)),
    }
    sent = json.loads(json.dumps(links_to_json(links)))
    assert len(sent["groups"]) == 3  # bob's pair once, erin, nobody
    assert links_from_json(sent) == links


@pytest.mark.parametrize(
    "answer",
    [None, {}, {"links": {}}, {"groups": [], "links": {"a": ["CHG-1", "x", 0]}}, {"groups": 1}],
)
def test_a_malformed_answer_is_refused_with_the_fix(answer: object) -> None:
    with pytest.raises(InvalidInput, match="CHANGEGATE_URL"):
        links_from_json(answer)
