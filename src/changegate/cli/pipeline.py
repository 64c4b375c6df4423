"""`changegate gate`, `deploy`, `rollback`, `history`: the road to production.

`gate` is the pipeline's hot path: this module imports only Click and the CLI core; the
backend (services over the database, or the server's API) is loaded when the command runs.
"""

from __future__ import annotations

import sys
from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, line


class Backend(Protocol):
    def gate(
        self,
        change: str | None,
        sha: str | None,
        env: str,
        deployer: str | None,
        version: str | None = None,
    ) -> dict[str, Any]: ...
    def deploy(
        self, change: str | None, sha: str | None, env: str, version: str, by: str | None
    ) -> dict[str, Any]: ...
    def rollback(self, change: str, env: str, to: str, reason: str, by: str) -> dict[str, Any]: ...
    def history(self, env: str | None) -> list[dict[str, Any]]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.pipeline:LocalPipeline",
        "changegate.cli.remote.pipeline:RemotePipeline",
    )


def target(change: str | None, git_sha: str | None) -> tuple[str | None, str | None]:
    """The change named by id, or the full commit SHA whose change is meant (not both)."""
    from changegate.errors import InvalidInput

    if change and git_sha:
        raise InvalidInput("give the change id or --git-sha, not both", field="git-sha")
    if git_sha:
        from changegate.scm.sha import check_sha

        return None, check_sha(git_sha)
    if not change:
        raise InvalidInput("give the change id (CHG-12) or --git-sha SHA", field="change")
    return change, None


ENV_HELP = "Target environment from the policy, e.g. production."
SHA_HELP = "Find the change by commit: one of its commits, or its merge commit."
DEPLOYER_HELP = (
    "Who deploys: a user, or their GitHub login. Locally the default is $GITHUB_ACTOR; "
    "against a server the token says who acts (a CI identity token: the person who "
    "triggered the job), and a name given must be theirs."
)


@command(None, "gate")
@click.argument("change", required=False)
@click.option("--env", required=True, help=ENV_HELP)
@click.option("--deployer", help=DEPLOYER_HELP)
@click.option("--git-sha", "git_sha", help=SHA_HELP)
@click.option(
    "--version",
    help="The version about to be deployed: the gate says whether it is already deployed.",
)
def gate(
    run: Run,
    change: str | None,
    env: str,
    deployer: str | None,
    git_sha: str | None,
    version: str | None,
) -> int:
    """Exit 0 when every requirement for deploying is met, 1 otherwise (listing what is unmet).

    CHANGE is the change id, e.g. CHG-12; or give --git-sha instead.

    Example: changegate gate CHG-1 --env production --deployer carol

    Example: changegate gate --git-sha "$GITHUB_SHA" --env production --deployer carol
    """
    key, sha = target(change, git_sha)
    out = backend(run).gate(key, sha, env, deployer, version)

    def human() -> None:
        from changegate.cli.render import show_gate

        show_gate(out, env)

    run.emit(out, human)
    return 0 if out["passed"] else 1


@command(None, "deploy")
@click.argument("change", required=False)
@click.option("--env", required=True, help=ENV_HELP)
@click.option("--version", required=True, help="Version being deployed, e.g. v1.4.2.")
@click.option("--by", help=DEPLOYER_HELP)
@click.option("--git-sha", "git_sha", help=SHA_HELP)
def deploy(
    run: Run,
    change: str | None,
    env: str,
    version: str,
    by: str | None,
    git_sha: str | None,
) -> int:
    """Record a deployment; refused (exit 1, and recorded) unless the gate passes.

    CHANGE is the change id, e.g. CHG-12; or give --git-sha instead.

    Example: changegate deploy CHG-1 --env production --version v1.4.2 --by carol

    Example: changegate deploy --git-sha "$GITHUB_SHA" --env production --version v1.4.2
    """
    key, sha = target(change, git_sha)
    out = backend(run).deploy(key, sha, env, version, by)
    verdict = out["gate"]
    if not out["deployed"]:
        unmet = "; ".join(f"{r['rule']}: {r['reason']}" for r in verdict["unmet"])
        sys.stderr.write(
            f"error: deployment of {verdict['change']} to {env} refused by the gate: {unmet}\n"
        )
        run.emit(out, lambda: None)
        return 1
    if out.get("already_recorded"):
        run.emit(
            out,
            lambda: line(
                f"{verdict['change']} is already deployed to {env} at {version}: recorded once "
                "(a re-run)"
            ),
        )
        return 0
    bypass = " (emergency bypass: retrospective review now due)" if verdict["bypass"] else ""
    run.emit(
        out,
        lambda: line(
            f"{verdict['change']} deployed to {env} at {version} by {verdict['deployer']}{bypass}"
        ),
    )
    return 0


@command(None, "rollback")
@click.argument("change")
@click.option("--env", required=True, help=ENV_HELP)
@click.option("--to", required=True, help="Version to return to.")
@click.option("--reason", required=True, help="Why.")
@click.option("--by", required=True)
def rollback(run: Run, change: str, env: str, to: str, reason: str, by: str) -> None:
    """Record a rollback of an environment to an earlier version.

    Example: changegate rollback CHG-1 --env production --to v1.4.1 --reason "error rate" --by carol
    """
    out = backend(run).rollback(change, env, to, reason, by)
    run.emit(out, lambda: line(f"{change}: {env} rolled back to {to}"))


@command(None, "history")
@click.option("--env", help="Only this environment.")
def history(run: Run, env: str | None) -> None:
    """Version history of each environment: deployments and rollbacks in order.

    Example: changegate history --env production
    """
    rows = backend(run).history(env)

    def human() -> None:
        from changegate.cli.render import show_rows

        columns = ["created_at", "environment", "kind", "version", "change", "actor", "reason"]
        show_rows("deployments", rows, columns)

    run.emit(rows, human)
