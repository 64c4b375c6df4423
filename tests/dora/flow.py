"""Changes deployed through the real services, for the DORA tests."""

from __future__ import annotations

from sqlalchemy import Engine

from changegate.changes import service as changes
from changegate.deployments import service as deployments
from changegate.evidence import service as evidence
from changegate.reviews import service as reviews
from tests.cli_runner import cli
from tests.factories import DEFAULT, JUNIT_PASS, make_change, tx

P = DEFAULT.policy


def deploy_normal(engine: Engine, *, version: str = "v2", commits: list[str] | None = None) -> str:
    """A normal change, approved with evidence and deployed to production; its key."""
    key = make_change(engine, commits=commits or [])
    tx(engine, lambda s: changes.submit_change(s, P, changes.get_change(s, key), actor="alice"))
    tx(engine, lambda s: reviews.approve(s, P, changes.get_change(s, key), actor="bob"))
    tx(
        engine,
        lambda s: evidence.add_junit(
            s, P, changes.get_change(s, key), content=JUNIT_PASS, filename="j.xml", actor="ci-bot"
        ),
    )
    tx(
        engine,
        lambda s: evidence.add_validation(
            s, P, changes.get_change(s, key), name="staging", result="pass", actor="ci-bot"
        ),
    )
    tx(
        engine,
        lambda s: deployments.deploy(
            s,
            P,
            changes.get_change(s, key, lock=True),
            env="production",
            version=version,
            actor="carol",
        ),
    )
    return key


def emergency_fix(db: str) -> str:
    """An emergency change deployed under the bypass (§5); its key."""
    key = cli(
        db, "change", "new", "--title", "Hotfix", "--class", "emergency",
        "--risk", "availability=medium", "--risk", "security=low", "--risk", "data=low",
        "--rollback", "redeploy", "--description", "outage", "--justification", "outage",
        "--author", "dave", "--json",
    ).json()["id"]  # fmt: skip
    assert cli(db, "change", "submit", key, "--by", "dave").code == 0
    d = cli(db, "deploy", key, "--env", "production", "--version", "hotfix-1", "--by", "carol")
    assert d.code == 0, d.stderr
    return str(key)
