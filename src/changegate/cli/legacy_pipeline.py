"""Commands for the deploy gate, deployments, rollbacks and emergency reviews."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from changegate.cli.context import DbOpt, JsonOpt, Opts, PolicyOpt, emit, guarded, transaction
from changegate.cli.gate_run import person as _person
from changegate.cli.gate_run import run_gate
from changegate.cli.gate_run import target_change as _target

Env = Annotated[
    str, typer.Option("--env", help="Target environment from the policy, e.g. production.")
]
ChangeArg = Annotated[
    str | None, typer.Argument(help="Change id, e.g. CHG-12; or give --git-sha instead.")
]
GitSha = Annotated[
    str | None,
    typer.Option(
        "--git-sha",
        help="Find the change by commit: one of its commits, or its merge commit.",
    ),
]


def register(app: typer.Typer) -> None:
    @app.command()
    def gate(
        env: Env,
        change: ChangeArg = None,
        deployer: Annotated[
            str | None,
            typer.Option(
                "--deployer",
                help="Who will deploy: a user, or their GitHub login (default: $GITHUB_ACTOR).",
            ),
        ] = None,
        git_sha: GitSha = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Exit 0 when every requirement for deploying is met, 1 otherwise (listing what is unmet).

        Example: changegate gate CHG-1 --env production --deployer carol

        Example: changegate gate --git-sha "$GITHUB_SHA" --env production --deployer carol
        """
        run_gate(Opts(json, db, policy), change=change, env=env, deployer=deployer, git_sha=git_sha)

    @app.command()
    def deploy(
        env: Env,
        version: Annotated[
            str, typer.Option("--version", help="Version being deployed, e.g. v1.4.2.")
        ],
        change: ChangeArg = None,
        by: Annotated[
            str | None,
            typer.Option(
                "--by", help="The deployer: a user, or their GitHub login (default: $GITHUB_ACTOR)."
            ),
        ] = None,
        git_sha: GitSha = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Record a deployment; refused (exit 1, and recorded) unless the gate passes.

        Example: changegate deploy CHG-1 --env production --version v1.4.2 --by carol

        Example: changegate deploy --git-sha "$GITHUB_SHA" --env production --version v1.4.2
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.deployments.service import deploy as deploy_service

            with transaction(o) as (s, pol):
                c, commit = _target(s, change, git_sha)
                who = _person(s, by, "--by")
                result = deploy_service(s, pol, c, env=env, version=version, actor=who)
                out: dict[str, Any] = {
                    "deployed": result.deployment is not None,
                    "deployment": None
                    if result.deployment is None
                    else result.deployment.audit_state(),
                    "gate": result.gate.to_dict(),
                    "state": c.state,
                }
                if commit:
                    out["commit"] = commit
                key = c.key
            if out["deployment"] is None:
                import sys

                unmet = "; ".join(f"{r['rule']}: {r['reason']}" for r in out["gate"]["unmet"])
                sys.stderr.write(
                    f"error: deployment of {key} to {env} refused by the gate: {unmet}\n"
                )
                emit(o, out, lambda: None)
                raise typer.Exit(1)
            emit(
                o,
                out,
                lambda: print(
                    f"{key} deployed to {env} at {version} by {out['gate']['deployer']}"
                    + (
                        " (emergency bypass: retrospective review now due)"
                        if out["gate"]["bypass"]
                        else ""
                    )
                ),
            )

        guarded(o, body)

    @app.command()
    def rollback(
        change: str,
        env: Env,
        to: Annotated[str, typer.Option("--to", help="Version to return to.")],
        reason: Annotated[str, typer.Option("--reason", help="Why.")],
        by: Annotated[str, typer.Option("--by")],
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Record a rollback of an environment to an earlier version.

        Example: changegate rollback CHG-1 --env production --to v1.4.1 --reason "error rate" --by carol
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.changes.service import get_change
            from changegate.deployments.service import rollback as rollback_service

            with transaction(o) as (s, pol):
                c = get_change(s, change, lock=True)
                d = rollback_service(s, pol, c, env=env, to_version=to, reason=reason, actor=by)
                out = d.audit_state() | {"state": c.state}
            emit(o, out, lambda: print(f"{change}: {env} rolled back to {to}"))

        guarded(o, body)

    @app.command()
    def history(
        env: Annotated[str | None, typer.Option("--env", help="Only this environment.")] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Version history of each environment: deployments and rollbacks in order.

        Example: changegate history --env production
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.cli.render import show_rows
            from changegate.deployments.service import history as history_service

            with transaction(o, write=False) as (s, _):
                rows = [d.audit_state() for d in history_service(s, env)]
            emit(
                o,
                rows,
                lambda: show_rows(
                    "deployments",
                    rows,
                    ["created_at", "environment", "kind", "version", "change", "actor", "reason"],
                ),
            )

        guarded(o, body)

    @app.command("review-emergency")
    def review_emergency(
        change: str,
        by: Annotated[str, typer.Option("--by")],
        root_cause: Annotated[str, typer.Option("--root-cause")],
        actions: Annotated[str, typer.Option("--actions", help="Actions taken.")],
        preventive: Annotated[str, typer.Option("--preventive", help="Preventive controls.")],
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Record the retrospective and post-incident review of an emergency change (§5).

        Example: changegate review-emergency CHG-2 --by bob --root-cause "..." --actions "..." --preventive "..."
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.changes.service import get_change
            from changegate.incidents.service import review_emergency as review

            with transaction(o) as (s, pol):
                r = review(
                    s,
                    pol,
                    get_change(s, change, lock=True),
                    actor=by,
                    root_cause=root_cause,
                    actions_taken=actions,
                    preventive_controls=preventive,
                )
                out = r.audit_state()
            emit(o, out, lambda: print(f"{change}: retrospective review recorded by {by}"))

        guarded(o, body)

    @app.command()
    def overdue(json: JsonOpt = False, db: DbOpt = None, policy: PolicyOpt = None) -> None:
        """List emergency changes past their retrospective review deadline; exit 1 if any (for cron and CI).

        Example: changegate overdue --json
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.cli.render import show_rows
            from changegate.incidents.service import overdue as overdue_service

            with transaction(o, write=False) as (s, pol):
                rows = [x.to_dict() for x in overdue_service(s, pol)]
            emit(
                o,
                {"overdue": rows, "count": len(rows)},
                lambda: (
                    show_rows(
                        "overdue retrospective reviews", rows, ["change", "title", "author", "due"]
                    )
                    if rows
                    else print("no overdue emergency reviews")
                ),
            )
            if rows:
                raise typer.Exit(1)

        guarded(o, body)
