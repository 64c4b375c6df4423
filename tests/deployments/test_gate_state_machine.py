"""No deployment is ever recorded for a change whose requirements were unmet at that moment.

A hypothesis state machine (issue 10 §6): random users with random roles create, edit, submit,
approve, reject, attach test results and validations, link commits and deploy, through the
services (as the CLI calls them), the HTTP API and signed GitHub webhook deliveries. After
every deployment attempt, whatever the channel, the test reads the deployments table: if a
deployment was recorded, an oracle must agree that the change met its requirements at that
moment.

The oracle is written from the policy *text* (the seed's §3a, §4b, §4c, §7 and the default
policy's roles), not by calling the engine: it keeps its own model of each change (class,
risk, components, commits, who approved which content, what evidence was attached to which
binding by whom) and decides on it alone. Where the policy leaves room (e.g. whether a failing
report attached by someone outside the `ci` role blocks), the oracle takes the laxer reading,
so every failure it reports is a deployment that no reading of the policy allows.
"""

from __future__ import annotations

import base64
import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule
from sqlalchemy import Engine, func, select

from changegate.api.app import create_app
from changegate.api.settings import ServerSettings
from changegate.auth import service as auth
from changegate.changes import service as changes
from changegate.changes.schemas import ChangeCreate, ChangeUpdate
from changegate.db import make_engine, session_scope
from changegate.deployments import service as deployments
from changegate.deployments.models import Deployment
from changegate.errors import ChangegateError
from changegate.evidence import service as evidence
from changegate.github.settings import GitHubSettings
from changegate.github.signature import compute_signature
from changegate.policy.service import ensure_recorded
from changegate.reviews import service as reviews
from changegate.users import service as users
from tests.factories import DEFAULT, JUNIT_FAIL, JUNIT_PASS
from tests.github.flow.fake_github import TOKEN, fake_github

T = TypeVar("T")
P = DEFAULT.policy
#: 150 runs of up to 15 steps per database (CI: the same derandomized 150 every run, each
#: channel seen deploying and refused); CHANGEGATE_STATE_MACHINE_EXAMPLES=N for a longer hunt.
#: At 300 it was 300 s of a 27-minute suite (budget: 25).
EXAMPLES = int(os.environ.get("CHANGEGATE_STATE_MACHINE_EXAMPLES", "150"))
WEBHOOK_SECRET = "state-machine-webhook-secret-0123456789"
REPOSITORY = "octo-org/persona-service"

# -- the policy as the oracle reads it (default.yaml, by hand) ---------------------------------
LEVELS = ["low", "medium", "high"]
DIMENSIONS = ["availability", "security", "data"]
SECURITY_COMPONENTS = {"tls", "iam", "network", "access-control", "content-filtering"}
#: the dependency-update procedure of the catalogue (§3a)
STANDARD_COMPONENTS = {"application", "third-party"}
#: validations a component asks for (§4c, §6)
COMPONENT_VALIDATIONS = {"tls": "tls", "iam": "access-control"}
ROLE_SETS = [
    ("engineer",),
    ("engineer",),
    ("security", "engineer"),
    ("security",),
    ("deployer",),
    ("deployer", "engineer"),
    ("ci",),
    ("ci", "engineer"),
    ("cto",),
]


@dataclass
class Approval:
    by: str
    content: int  # the content version it approved


@dataclass
class Attached:
    kind: str  # junit | validation
    name: str
    passed: bool
    by: str
    binding: int  # the binding version it was attached to


@dataclass
class Model:
    """The oracle's own record of one change."""

    key: str
    author: str
    change_class: str
    risk: dict[str, str]
    components: list[str]
    category: str | None
    commits: list[str] = field(default_factory=list)
    state: str = "draft"
    content: int = 1
    binding: int = 1
    approvals: list[Approval] = field(default_factory=list)
    attached: list[Attached] = field(default_factory=list)
    deployed: bool = False


def security_impacting(m: Model) -> bool:
    return LEVELS.index(m.risk["security"]) >= 1 or bool(set(m.components) & SECURITY_COMPONENTS)


def high_risk(m: Model) -> bool:
    return "high" in m.risk.values()


def requirements_met(m: Model, roles: dict[str, set[str]], deployer: str) -> list[str]:
    """What the policy asks of ``m`` that is missing when ``deployer`` deploys it (empty: met)."""
    missing: list[str] = []
    if m.state not in ("submitted", "approved"):
        missing.append(f"state {m.state}")
    if "deployer" not in roles[deployer]:
        missing.append(f"{deployer} holds no deployer role")
    if m.change_class == "standard":
        if m.category != "dependency-update":
            missing.append("no catalogue procedure")
        if any(level != "low" for level in m.risk.values()):
            missing.append("risk above the procedure's limit")
        if not set(m.components) <= STANDARD_COMPONENTS or security_impacting(m):
            missing.append("outside the procedure's components / security-impacting")
        return missing
    # §4b and §7: one engineer peer (not the author) and, if security-impacting, a distinct
    # security reviewer; for a high-risk change neither may be the deployer
    current = {a.by for a in m.approvals if a.content == m.content and a.by != m.author}
    if high_risk(m):
        current.discard(deployer)
    engineers = {u for u in current if "engineer" in roles[u]}
    if not engineers:
        missing.append("peer review")
    if security_impacting(m):
        pairs = [(e, s) for e in engineers for s in current if "security" in roles[s] and s != e]
        if not pairs:
            missing.append("security review by a second person")
    # §4c: evidence attached to the change as it is now; tests and staging only from CI
    now = [a for a in m.attached if a.binding == m.binding]
    ci_junit = [a for a in now if a.kind == "junit" and "ci" in roles[a.by]]
    if not any(a.passed for a in ci_junit) or any(not a.passed for a in ci_junit):
        missing.append("passing tests from CI, none failing")
    staging = [a for a in now if a.kind == "validation" and a.name == "staging"]
    ci_staging = [a for a in staging if "ci" in roles[a.by]]
    if not ci_staging or not ci_staging[-1].passed:
        missing.append("staging validation from CI")
    for component, name in COMPONENT_VALIDATIONS.items():
        if component in m.components and not any(
            a.kind == "validation" and a.name == name and a.passed for a in now
        ):
            missing.append(f"{name} validation")
    return missing


# -- the system under test ------------------------------------------------------------------


@dataclass
class System:
    engine: Engine
    client: TestClient
    counter: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    #: deployment attempts by outcome and channel, so the run shows it reached deployments
    outcomes: dict[str, int] = field(default_factory=dict)

    def tx(self, fn: Callable[[Any], T]) -> T:
        with session_scope(self.engine) as s:
            ensure_recorded(s, DEFAULT)
            return fn(s)

    def deployments(self, key: str) -> int:
        change_id = changes.parse_key(key)
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(Deployment)
                    .where(Deployment.change_id == change_id, Deployment.kind == "deploy")
                ).scalar_one()
            )

    def webhook(self, event: str, payload: dict[str, Any]) -> int:
        import json

        body = json.dumps(payload).encode()
        response = self.client.post(
            "/webhooks/github",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": f"sm-{next(self.counter)}-{secrets.token_hex(4)}",
                "X-Hub-Signature-256": compute_signature(WEBHOOK_SECRET, body),
            },
        )
        assert response.status_code < 500, response.text
        return response.status_code


@pytest.fixture
def system(db_url: str, tmp_path: Path) -> Iterator[System]:
    engine = make_engine(db_url)
    with fake_github() as github:
        app = create_app(
            ServerSettings(db=db_url, secret_key="state-machine-secret-" + "s" * 40), engine=engine
        )
        app.state.cg.extra["github_settings"] = GitHubSettings(
            webhook_secret=WEBHOOK_SECRET,
            token=TOKEN,
            api_url=github.base_url,
            repositories={},
            fetch=False,
            public_url="https://changegate.example.com",
        )
        with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
            yield System(engine, client)
    engine.dispose()


def push_payload(sha: str, message: str, pusher: str) -> dict[str, Any]:
    commit = {
        "id": sha,
        "tree_id": sha,
        "distinct": True,
        "message": message,
        "timestamp": "2026-11-29T10:00:00Z",
        "url": f"https://github.com/{REPOSITORY}/commit/{sha}",
        "author": {"name": pusher, "email": f"{pusher}@example.com", "username": pusher},
        "committer": {"name": pusher, "email": f"{pusher}@example.com", "username": pusher},
        "added": [],
        "removed": [],
        "modified": ["src/app.py"],
    }
    return {
        "ref": "refs/heads/main",
        "before": "0" * 40,
        "after": sha,
        "created": False,
        "deleted": False,
        "forced": False,
        "compare": f"https://github.com/{REPOSITORY}/compare/x",
        "commits": [commit],
        "head_commit": commit,
        "repository": {
            "id": 1,
            "name": REPOSITORY.split("/")[1],
            "full_name": REPOSITORY,
            "private": True,
            "owner": {"login": REPOSITORY.split("/")[0], "id": 1},
            "html_url": f"https://github.com/{REPOSITORY}",
            "default_branch": "main",
        },
        "pusher": {"name": pusher, "email": f"{pusher}@example.com"},
        "sender": {"login": pusher, "id": 7},
    }


risks = st.fixed_dictionaries(
    {d: st.sampled_from(["low", "low", "low", "medium", "high"]) for d in DIMENSIONS}
)
component_sets = st.lists(
    st.sampled_from(["application", "iam", "tls", "third-party"]), min_size=1, max_size=2
).map(lambda xs: list(dict.fromkeys(xs)))
picks = st.integers(min_value=0, max_value=1000)
channels = st.sampled_from(["service", "api"])


class GateMachine(RuleBasedStateMachine):
    system: System

    def __init__(self) -> None:
        super().__init__()
        self.changes: list[Model] = []
        self.roles: dict[str, set[str]] = {}
        self.tokens: dict[str, str] = {}
        self.run = next(self.system.counter)

    @initialize(role_sets=st.lists(st.sampled_from(ROLE_SETS), min_size=1, max_size=3))
    def people(self, role_sets: list[tuple[str, ...]]) -> None:
        # a team that can get a change through (a peer, a pipeline, a deployer), then others
        team: list[tuple[str, ...]] = [
            ("engineer",),
            ("security",),
            ("ci",),
            ("deployer",),
            *role_sets,
        ]
        for i, roles in enumerate(team):
            name = f"r{self.run}u{i}"
            self.system.tx(lambda s, n=name, r=roles: users.add_user(s, P, name=n, roles=list(r)))
            self.roles[name] = set(roles)

    # -- helpers -------------------------------------------------------------------------
    def person(self, pick: int) -> str:
        names = self.roster()
        return names[pick % len(names)]

    def change(self, pick: int) -> Model:
        return self.changes[pick % len(self.changes)]

    def bearer(self, name: str) -> dict[str, str]:
        if name not in self.tokens:
            self.tokens[name] = self.system.tx(
                lambda s: auth.create_token(s, user=name, actor="system", expires="1d")
            )[1]
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def attempt(self, fn: Callable[[Any], Any]) -> bool:
        try:
            self.system.tx(fn)
        except ChangegateError:
            return False
        return True

    def api(self, method: str, path: str, actor: str, body: dict[str, Any]) -> bool:
        response = self.system.client.request(method, path, json=body, headers=self.bearer(actor))
        assert response.status_code < 500, (path, response.text)
        return response.status_code < 300

    # -- rules ---------------------------------------------------------------------------
    @rule(
        author=picks,
        change_class=st.sampled_from(["normal", "normal", "standard"]),
        risk=risks,
        components=component_sets,
        category=st.sampled_from([None, "dependency-update"]),
        channel=channels,
    )
    def create(
        self,
        author: int,
        change_class: str,
        risk: dict[str, str],
        components: list[str],
        category: str | None,
        channel: str,
    ) -> None:
        who = self.person(author)
        fields: dict[str, Any] = {
            "title": "A change",
            "change_class": change_class,
            "description": "why and what",
            "components": components,
            "risk": {d: {"level": v, "note": "n"} for d, v in risk.items()},
            "rollback_plan": "redeploy the previous version",
            "category": category,
        }
        if channel == "api":
            response = self.system.client.post(
                "/api/changes", json=fields, headers=self.bearer(who)
            )
            assert response.status_code < 500, response.text
            if response.status_code >= 300:
                return
            key = response.json()["id"]
        else:
            try:
                key = self.system.tx(
                    lambda s: changes.create_change(s, P, ChangeCreate(author=who, **fields)).key
                )
            except ChangegateError:
                return
        self.changes.append(Model(key, who, change_class, risk, components, category))

    @precondition(lambda self: self.changes)
    @rule(pick=picks, actor=picks, risk=st.none() | risks, components=st.none() | component_sets)
    def edit(
        self,
        pick: int,
        actor: int,
        risk: dict[str, str] | None,
        components: list[str] | None,
    ) -> None:
        m, who = self.change(pick), self.person(actor)
        update: dict[str, Any] = {"description": f"edited {secrets.token_hex(3)}"}
        if risk is not None:
            update["risk"] = {d: {"level": v, "note": "n"} for d, v in risk.items()}
        if components is not None:
            update["components"] = components
        if not self.attempt(
            lambda s: changes.edit_change(
                s, P, changes.get_change(s, m.key, lock=True), ChangeUpdate(**update), actor=who
            )
        ):
            return
        m.content += 1
        if risk is not None:
            m.risk = risk
        if components is not None and components != m.components:
            m.components = components
            m.binding += 1
        m.state = {"rejected": "draft", "approved": "submitted"}.get(m.state, m.state)

    @precondition(lambda self: self.changes)
    @rule(pick=picks)
    def link_commit(self, pick: int) -> None:
        m = self.change(pick)
        sha = secrets.token_hex(20)
        commits = [*m.commits, sha]
        # as a pull request's synchronize does after classifying the new head (placed): a
        # standard change takes commits only from its range or pull request (§3a); the oracle
        # does not model files, so every commit counts as within the procedure's paths
        if not self.attempt(
            lambda s: changes.edit_change(
                s,
                P,
                changes.get_change(s, m.key, lock=True),
                ChangeUpdate(commits=commits),
                actor=m.author,
                placed=True,
            )
        ):
            return
        m.commits = commits
        m.content += 1
        m.binding += 1
        m.state = {"rejected": "draft", "approved": "submitted"}.get(m.state, m.state)

    @precondition(lambda self: self.changes)
    @rule(pick=picks, actor=picks)
    def submit(self, pick: int, actor: int) -> None:
        m, who = self.change(pick), self.person(actor)
        if self.attempt(
            lambda s: changes.submit_change(
                s, P, changes.get_change(s, m.key, lock=True), actor=who
            )
        ):
            m.state = "submitted"

    @precondition(lambda self: self.changes)
    @rule(pick=picks, actor=picks, channel=channels)
    def approve(self, pick: int, actor: int, channel: str) -> None:
        m, who = self.change(pick), self.person(actor)
        if channel == "api":
            done = self.api("POST", f"/api/changes/{m.key}/approve", who, {})
        else:
            done = self.attempt(
                lambda s: reviews.approve(s, P, changes.get_change(s, m.key, lock=True), actor=who)
            )
        if done:
            m.approvals.append(Approval(who, m.content))

    @precondition(lambda self: self.changes)
    @rule(
        pick=picks,
        reviewer=picks,
        pipeline=picks,
        deployer=picks,
        channel=channels,
        how=st.sampled_from(["service", "api", "commit"]),
    )
    def diligent_team(
        self, pick: int, reviewer: int, pipeline: int, deployer: int, channel: str, how: str
    ) -> None:
        """What a team does to ship a change: submit, a review by a peer, CI's evidence, a
        deployment by a deployer; each person drawn from those whose roles fit. Interleaved
        with every other rule, the policy may still refuse any step."""
        m = self.change(pick)
        if how == "commit" and not m.commits:
            self.link_commit(pick)
        self.submit(pick, self.index(m.author))
        peer = self.fitting(reviewer, "engineer", but=m.author)
        self.approve(pick, peer, channel)
        if security_impacting(m):
            self.approve(pick, self.fitting(reviewer, "security", but=self.roster()[peer]), channel)
        pipe = self.fitting(pipeline, "ci")
        self.attach_tests(pick, pipe, True, channel)
        for name in ("staging", *(COMPONENT_VALIDATIONS.get(c) for c in m.components)):
            if name is not None:
                self.attach_validation(pick, pipe, name, True, channel)
        self.deploy(pick, self.fitting(deployer, "deployer"), how)

    def index(self, name: str) -> int:
        return self.roster().index(name)

    def fitting(self, pick: int, role: str, but: str = "") -> int:
        """The index of a person holding ``role`` (other than ``but``), chosen by ``pick``."""
        fit = [n for n in self.roster() if role in self.roles[n] and n != but] or self.roster()
        return self.index(fit[pick % len(fit)])

    def roster(self) -> list[str]:
        return sorted(self.roles)

    @precondition(lambda self: self.changes)
    @rule(pick=picks, actor=picks)
    def reject(self, pick: int, actor: int) -> None:
        m, who = self.change(pick), self.person(actor)
        if self.attempt(
            lambda s: reviews.reject(
                s, P, changes.get_change(s, m.key, lock=True), actor=who, comment="not yet"
            )
        ):
            m.state = "rejected"

    @precondition(lambda self: self.changes)
    @rule(pick=picks, actor=picks, passed=st.booleans(), channel=channels)
    def attach_tests(self, pick: int, actor: int, passed: bool, channel: str) -> None:
        m, who = self.change(pick), self.person(actor)
        content = JUNIT_PASS if passed else JUNIT_FAIL
        if channel == "api":
            body = {"filename": "junit.xml", "content_base64": base64.b64encode(content).decode()}
            done = self.api("POST", f"/api/changes/{m.key}/evidence/junit", who, body)
        else:
            done = self.attempt(
                lambda s: evidence.add_junit(
                    s,
                    P,
                    changes.get_change(s, m.key, lock=True),
                    content=content,
                    filename="junit.xml",
                    actor=who,
                )
            )
        if done:
            m.attached.append(Attached("junit", "junit", passed, who, m.binding))

    @precondition(lambda self: self.changes)
    @rule(
        pick=picks,
        actor=picks,
        name=st.sampled_from(["staging", "staging", "tls", "access-control"]),
        passed=st.booleans(),
        channel=channels,
    )
    def attach_validation(
        self, pick: int, actor: int, name: str, passed: bool, channel: str
    ) -> None:
        m, who = self.change(pick), self.person(actor)
        result = "pass" if passed else "fail"
        if channel == "api":
            body = {"name": name, "result": result}
            done = self.api("POST", f"/api/changes/{m.key}/evidence/validation", who, body)
        else:
            done = self.attempt(
                lambda s: evidence.add_validation(
                    s,
                    P,
                    changes.get_change(s, m.key, lock=True),
                    name=name,
                    result=result,
                    actor=who,
                )
            )
        if done:
            m.attached.append(Attached("validation", name, passed, who, m.binding))

    @precondition(lambda self: self.changes)
    @rule(pick=picks, pusher=picks)
    def push_naming_the_change(self, pick: int, pusher: int) -> None:
        """A signed push whose message names the change: a reference, never coverage."""
        m = self.change(pick)
        sha = secrets.token_hex(20)
        self.system.webhook("push", push_payload(sha, f"hotfix, refs {m.key}", self.person(pusher)))
        self.deploy_and_check(m, self.person(pusher), "commit", sha)

    @precondition(lambda self: self.changes)
    @rule(pick=picks, actor=picks, channel=st.sampled_from(["service", "api", "commit"]))
    def deploy(self, pick: int, actor: int, channel: str) -> None:
        m = self.change(pick)
        if channel == "commit" and not m.commits:
            channel = "api"
        sha = m.commits[pick % len(m.commits)] if channel == "commit" else None
        self.deploy_and_check(m, self.person(actor), channel, sha)

    def deploy_and_check(self, m: Model, who: str, channel: str, sha: str | None) -> None:
        before = self.system.deployments(m.key)
        # the oracle decides on the state before the attempt
        missing = requirements_met(m, self.roles, who)
        own_commit = sha is None or sha in m.commits
        body = {"env": "production", "version": f"v{next(self.system.counter)}"}
        if channel == "commit" and sha is not None:
            self.api("POST", f"/api/changes/by-commit/{sha}/deploy", who, body)
        elif channel == "api":
            self.api("POST", f"/api/changes/{m.key}/deploy", who, body)
        else:
            self.attempt(
                lambda s: deployments.deploy(
                    s,
                    P,
                    changes.get_change(s, m.key, lock=True),
                    env="production",
                    version=body["version"],
                    actor=who,
                )
            )
        recorded = self.system.deployments(m.key) - before
        outcome = f"{'deployed' if recorded else 'refused'} via {channel}"
        self.system.outcomes[outcome] = self.system.outcomes.get(outcome, 0) + 1
        if recorded:
            assert not m.deployed, f"{m.key} deployed twice to production without a rollback"
            assert own_commit, f"{m.key} deployed by {sha}, a commit that only names it"
            assert not missing, f"{m.key} deployed by {who} via {channel} while unmet: {missing}"
            m.deployed = True
            m.state = "deployed"


def test_no_deployment_without_the_policys_requirements(system: System) -> None:
    GateMachine.system = system
    GateMachine.TestCase.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=bool(os.environ.get("CI")),
        database=None,
    )
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(GateMachine, settings=GateMachine.TestCase.settings)
    print("deployment attempts:", system.outcomes)
    # not vacuous: deployments happened through every channel, and refusals too
    for channel in ("service", "api", "commit"):
        assert system.outcomes.get(f"deployed via {channel}", 0) > 0, system.outcomes
        assert system.outcomes.get(f"refused via {channel}", 0) > 0, system.outcomes
