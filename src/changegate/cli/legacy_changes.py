"""Commands for setup and users (the Typer declarations not yet moved to cli/)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from changegate.cli.context import (
    DbOpt,
    JsonOpt,
    Opts,
    PolicyOpt,
    emit,
    engine_for,
    guarded,
    loaded_policy,
    transaction,
)

GRANT_COLUMNS = ["id", "user", "roles", "requested_by", "state", "decided_by"]


def _roles_text(out: dict[str, Any]) -> str:
    text = ", ".join(out["roles"]) or "no roles yet"
    if out.get("pending_roles"):
        text += (
            f"; waiting for a second administrator: {', '.join(out['pending_roles'])} "
            "(`changegate user grants --pending`)"
        )
    return text


def register(app: typer.Typer) -> None:
    user_app = typer.Typer(
        help="Users and their roles (roles come from the policy).", no_args_is_help=True
    )
    app.add_typer(user_app, name="user")

    @app.command()
    def init(json: JsonOpt = False, db: DbOpt = None, policy: PolicyOpt = None) -> None:
        """Create or upgrade the database and load the policy.

        Example: changegate init --db sqlite:///changes.db
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.db import SCHEMA_REVISION, current_revision
            from changegate.migrate import upgrade
            from changegate.policy.service import ensure_recorded

            engine = engine_for(o)
            before = current_revision(engine)
            loaded = loaded_policy(o)
            upgrade(engine)
            from changegate.db import session_scope

            with session_scope(engine) as s:
                row = ensure_recorded(s, loaded, rewrite=True)
                out = {
                    "db": engine.url.render_as_string(hide_password=True),
                    "schema": SCHEMA_REVISION,
                    "previous_schema": before,
                    "policy": loaded.policy.label,
                    "policy_digest": row.digest,
                }
            emit(
                o,
                out,
                lambda: print(
                    f"database ready at {out['db']} (schema {SCHEMA_REVISION}); policy {out['policy']} loaded"
                ),
            )

        guarded(o, body)

    @user_app.command("add")
    def user_add(
        name: str,
        role: Annotated[
            list[str], typer.Option("--role", help="A role from the policy; repeat for several.")
        ],
        github: Annotated[
            str | None, typer.Option("--github", help="GitHub login mapped to this user.")
        ] = None,
        by: Annotated[
            str,
            typer.Option(
                "--by",
                help="The administrator adding the user (default: the database's operator); "
                "an administrator's grant of a gate role waits for a second one.",
            ),
        ] = "system",
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Add a user with roles.

        Example: changegate user add alice --role engineer --role deployer
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.users.service import add_user, user_view

            with transaction(o) as (s, pol):
                u = add_user(s, pol, name=name, roles=role, github_login=github, actor=by)
                out = user_view(s, u)
            emit(o, out, lambda: print(f"added {out['name']} ({_roles_text(out)})"))

        guarded(o, body)

    @user_app.command("grants")
    def user_grants(
        pending: Annotated[
            bool, typer.Option("--pending", help="Only grants waiting for confirmation.")
        ] = False,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """List role grants made by administrators, and whether a second one confirmed them.

        Example: changegate user grants --pending
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.cli.render import show_rows
            from changegate.users.service import list_grants

            with transaction(o, write=False) as (s, _):
                rows = [g.audit_state() for g in list_grants(s, pending_only=pending)]
            emit(o, rows, lambda: show_rows("role grants", rows, GRANT_COLUMNS))

        guarded(o, body)

    @user_app.command("confirm-grant")
    def user_confirm_grant(
        grant_id: Annotated[int, typer.Argument(metavar="ID", help="Grant id from `user grants`.")],
        by: Annotated[str, typer.Option("--by", help="The second administrator, who confirms.")],
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Confirm another administrator's role grant; its roles take effect.

        Example: changegate user confirm-grant 3 --by bob
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.users.service import confirm_grant

            with transaction(o) as (s, pol):
                out = confirm_grant(s, pol, grant_id, actor=by).audit_state()
            emit(
                o,
                out,
                lambda: print(
                    f"grant {out['id']} confirmed: {out['user']} now holds {', '.join(out['roles'])}"
                ),
            )

        guarded(o, body)

    @user_app.command("set-roles")
    def user_set_roles(
        name: str,
        role: Annotated[
            list[str], typer.Option("--role", help="The user's complete list of roles.")
        ],
        by: Annotated[str, typer.Option("--by", help="Who makes the change.")] = "system",
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Replace a user's roles.

        Example: changegate user set-roles bob --role engineer --role security
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.users.service import get_user, set_roles, user_view

            with transaction(o) as (s, pol):
                u = set_roles(s, pol, get_user(s, name, field="name"), roles=role, actor=by)
                out = user_view(s, u)
            emit(o, out, lambda: print(f"{out['name']}: {_roles_text(out)}"))

        guarded(o, body)

    @user_app.command("list")
    def user_list(json: JsonOpt = False, db: DbOpt = None, policy: PolicyOpt = None) -> None:
        """List users and their roles.

        Example: changegate user list --json
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.cli.render import show_rows
            from changegate.users.service import list_users, user_view

            with transaction(o, write=False) as (s, _):
                rows = [user_view(s, u) for u in list_users(s)]
            emit(o, rows, lambda: show_rows("users", rows, ["name", "roles", "github_login"]))

        guarded(o, body)
