"""Commands for the server: `serve`, API tokens, and web login passwords."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from changegate.cli.context import DbOpt, JsonOpt, Opts, PolicyOpt, emit, guarded, transaction

TOKEN_COLUMNS = ["id", "user", "label", "status", "created_at", "expires_at", "revoked_at"]


def read_password(name: str) -> str:
    """From stdin when it is not a terminal (scripts, CI); otherwise prompted twice."""
    from changegate.errors import InvalidInput

    if not sys.stdin.isatty():
        text = sys.stdin.readline().rstrip("\r\n")
        if not text:
            raise InvalidInput(
                "no password on stdin: pipe it in, e.g. `printf '%s\\n' \"$PW\" | "
                f"changegate user set-password {name}`",
                field="password",
            )
        return text
    import getpass

    first = getpass.getpass(f"new password for {name}: ")
    if getpass.getpass("again: ") != first:
        raise InvalidInput("the two passwords differ; nothing was changed", field="password")
    return first


def read_current_password(name: str) -> str:
    """The current password, before the new one: the first stdin line, or prompted once."""
    from changegate.errors import InvalidInput

    if not sys.stdin.isatty():
        text = sys.stdin.readline().rstrip("\r\n")
        if not text:
            raise InvalidInput(
                "--current: no current password on stdin: pipe the current password and the "
                "new one, one per line",
                field="current_password",
            )
        return text
    import getpass

    return getpass.getpass(f"current password for {name}: ")


def _user_group(app: typer.Typer) -> typer.Typer:
    for group in app.registered_groups:
        if group.name == "user" and group.typer_instance is not None:
            return group.typer_instance
    user_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
    app.add_typer(user_app, name="user")
    return user_app


def register(app: typer.Typer) -> None:
    token_app = typer.Typer(
        help="API tokens for CI pipelines and the remote CLI (stored as SHA-256 only).",
        no_args_is_help=True,
    )
    app.add_typer(token_app, name="token")
    user_app = _user_group(app)

    @token_app.command("create")
    def token_create(
        user: Annotated[str, typer.Option("--user", help="Whose token, e.g. ci-bot.")],
        expires: Annotated[
            str, typer.Option("--expires", help="Lifetime: 90d, 12h, 2w or never.")
        ] = "90d",
        label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
        by: Annotated[str, typer.Option("--by", help="Who issues it.")] = "system",
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Issue an API token and print it once (with --json, as the `token` field).

        Only its SHA-256 is stored. Use it as CHANGEGATE_TOKEN with CHANGEGATE_URL.

        Example: changegate token create --user ci-bot --expires 90d
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.auth.service import create_token, token_dict

            with transaction(o) as (s, _):
                token, raw = create_token(s, user=user, actor=by, expires=expires, label=label)
                out = token_dict(token) | {"token": raw}

            def human() -> None:
                print(raw)
                sys.stderr.write(
                    f"token {out['id']} for {out['user']}, expires {out['expires_at'] or 'never'}; "
                    "it is shown only now: store it as CHANGEGATE_TOKEN\n"
                )

            emit(o, out, human)

        guarded(o, body)

    @token_app.command("list")
    def token_list(
        user: Annotated[str | None, typer.Option("--user", help="Only this user's.")] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """List API tokens (never their secrets), with status active, expired or revoked.

        Example: changegate token list --user ci-bot
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.auth.service import list_tokens, token_dict
            from changegate.cli.render import show_rows

            with transaction(o, write=False) as (s, _):
                rows = [token_dict(t) for t in list_tokens(s, user=user)]
            emit(o, rows, lambda: show_rows("API tokens", rows, TOKEN_COLUMNS))

        guarded(o, body)

    @token_app.command("revoke")
    def token_revoke(
        token_id: Annotated[int, typer.Argument(metavar="ID", help="Token id from `token list`.")],
        by: Annotated[str, typer.Option("--by", help="Who revokes it.")] = "system",
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Revoke an API token; it is refused from then on.

        Example: changegate token revoke 3
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.auth.service import get_token, revoke_token, token_dict

            with transaction(o) as (s, _):
                out = token_dict(revoke_token(s, get_token(s, token_id), actor=by))
            emit(o, out, lambda: print(f"token {out['id']} of {out['user']} revoked"))

        guarded(o, body)

    @user_app.command("set-password")
    def user_set_password(
        name: str,
        by: Annotated[
            str,
            typer.Option(
                "--by",
                help="Who sets it (default: the database's operator). An administrator "
                "setting someone else's password makes it a one-time password.",
            ),
        ] = "system",
        current: Annotated[
            bool,
            typer.Option(
                "--current",
                help="Change your own password: read the current one first (needed remotely).",
            ),
        ] = False,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Set a user's web login password (argon2); read from stdin when it is not a terminal.

        The user's web sessions end. Set by an administrator for someone else (--by ADMIN, or
        remotely), it is a one-time password the user replaces at their first login.

        Example: changegate user set-password alice   (in scripts: echo "$PW" | changegate ...)
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.auth.service import change_own_password, set_password
            from changegate.db import iso
            from changegate.users.service import get_user

            old = read_current_password(name) if current else None
            password = read_password(name)
            with transaction(o) as (s, _):
                if current:
                    owner = get_user(s, name, field="name")
                    cred = change_own_password(s, user=owner, current=old, password=password)
                else:
                    cred = set_password(s, user=name, password=password, actor=by)
                out = None
                if cred is not None:  # None: a wrong current password, recorded as a failure
                    out = {
                        "user": cred.user_name,
                        "updated_at": iso(cred.updated_at),
                        "updated_by": cred.updated_by,
                        "must_change": cred.must_change,
                    }
            if out is None:
                from changegate.auth.service import WRONG_CURRENT_PASSWORD
                from changegate.errors import PolicyDenied

                raise PolicyDenied(WRONG_CURRENT_PASSWORD, field="current_password")
            emit(o, out, lambda: print(_password_text(out)))

        guarded(o, body)


def _password_text(out: dict[str, Any]) -> str:
    if out.get("must_change"):
        return (
            f"one-time password set for {out['user']}: they replace it at their first login; "
            "their sessions ended"
        )
    return f"password set for {out['user']}; their sessions ended"
