"""`changegate user` and `changegate token`: people, their roles, passwords and API tokens."""

from __future__ import annotations

import sys
from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, group, line

user = group("user", "Users and their roles (roles come from the policy).")
token = group("token", "API tokens for CI pipelines and the remote CLI (stored as SHA-256 only).")

GRANT_COLUMNS = ["id", "user", "roles", "requested_by", "state", "decided_by"]
TOKEN_COLUMNS = ["id", "user", "label", "status", "created_at", "expires_at", "revoked_at"]


class Backend(Protocol):
    def add(
        self,
        name: str,
        roles: list[str],
        github: str | None,
        by: str | None,
        gitlab: str | None = None,
    ) -> dict[str, Any]: ...
    def set_roles(self, name: str, roles: list[str], by: str | None) -> dict[str, Any]: ...
    def users(self) -> list[dict[str, Any]]: ...
    def grants(self, pending: bool) -> list[dict[str, Any]]: ...
    def confirm_grant(self, grant_id: int, by: str | None) -> dict[str, Any]: ...
    def set_password(
        self, name: str, password: str, current: str | None, by: str | None
    ) -> dict[str, Any]: ...
    def token_create(
        self, user: str, expires: str, label: str, by: str | None
    ) -> dict[str, Any]: ...
    def token_list(self, user: str | None) -> list[dict[str, Any]]: ...
    def token_revoke(self, token_id: int, by: str | None) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.users:LocalUsers", "changegate.cli.remote.users:RemoteUsers"
    )


def _roles_text(out: dict[str, Any]) -> str:
    text = ", ".join(out["roles"]) or "no roles yet"
    if out.get("pending_roles"):
        text += (
            f"; waiting for a second administrator: {', '.join(out['pending_roles'])} "
            "(`changegate user grants --pending`)"
        )
    return text


def _rows(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    from changegate.cli.render import show_rows

    show_rows(title, rows, columns)


@command(user, "add")
@click.argument("name")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    help="A role from the policy; repeat for several.",
)
@click.option("--github", help="GitHub login mapped to this user.")
@click.option("--gitlab", help="GitLab login mapped to this user (a GitLab CI job's user_login).")
@click.option(
    "--by",
    help="The administrator adding the user (default: the database's operator); an "
    "administrator's grant of a gate role waits for a second one.",
)
def user_add(
    run: Run,
    name: str,
    roles: tuple[str, ...],
    github: str | None,
    gitlab: str | None,
    by: str | None,
) -> None:
    """Add a user with roles.

    Example: changegate user add alice --role engineer --role deployer
    """
    out = backend(run).add(name, list(roles), github, by, gitlab)
    run.emit(out, lambda: line(f"added {out['name']} ({_roles_text(out)})"))


@command(user, "set-roles")
@click.argument("name")
@click.option(
    "--role", "roles", multiple=True, required=True, help="The user's complete list of roles."
)
@click.option("--by", help="Who makes the change (default: the database's operator).")
def user_set_roles(run: Run, name: str, roles: tuple[str, ...], by: str | None) -> None:
    """Replace a user's roles.

    Example: changegate user set-roles bob --role engineer --role security
    """
    out = backend(run).set_roles(name, list(roles), by)
    run.emit(out, lambda: line(f"{out['name']}: {_roles_text(out)}"))


@command(user, "list")
def user_list(run: Run) -> None:
    """List users and their roles.

    Example: changegate user list --json
    """
    rows = backend(run).users()
    run.emit(rows, lambda: _rows("users", rows, ["name", "roles", "github_login", "gitlab_login"]))


@command(user, "grants")
@click.option("--pending", is_flag=True, help="Only grants waiting for confirmation.")
def user_grants(run: Run, pending: bool) -> None:
    """List role grants made by administrators, and whether a second one confirmed them.

    Example: changegate user grants --pending
    """
    rows = backend(run).grants(pending)
    run.emit(rows, lambda: _rows("role grants", rows, GRANT_COLUMNS))


@command(user, "confirm-grant")
@click.argument("grant_id", metavar="ID", type=int)
@click.option("--by", required=True, help="The second administrator, who confirms.")
def user_confirm_grant(run: Run, grant_id: int, by: str | None) -> None:
    """Confirm another administrator's role grant; its roles take effect.

    Example: changegate user confirm-grant 3 --by bob
    """
    out = backend(run).confirm_grant(grant_id, by)
    run.emit(
        out,
        lambda: line(
            f"grant {out['id']} confirmed: {out['user']} now holds {', '.join(out['roles'])}"
        ),
    )


@command(user, "set-password")
@click.argument("name")
@click.option(
    "--by",
    help="Who sets it (default: the database's operator). An administrator setting someone "
    "else's password makes it a one-time password.",
)
@click.option(
    "--current",
    is_flag=True,
    help="Change your own password: read the current one first (needed remotely).",
)
def user_set_password(run: Run, name: str, by: str | None, current: bool) -> None:
    """Set a user's web login password (argon2); read from stdin when it is not a terminal.

    The user's web sessions end. Set by an administrator for someone else (--by ADMIN, or
    remotely), it is a one-time password the user replaces at their first login.

    Example: changegate user set-password alice   (in scripts: echo "$PW" | changegate ...)
    """
    from changegate.cli.passwords import read_current_password, read_password

    old = read_current_password(name) if current else None
    password = read_password(name)
    out = backend(run).set_password(name, password, old, by)
    run.emit(out, lambda: line(_password_text(out)))


def _password_text(out: dict[str, Any]) -> str:
    if out.get("must_change"):
        return (
            f"one-time password set for {out['user']}: they replace it at their first login; "
            "their sessions ended"
        )
    return f"password set for {out['user']}; their sessions ended"


@command(token, "create")
@click.option("--user", required=True, help="Whose token, e.g. ci-bot.")
@click.option(
    "--expires", default="90d", show_default=True, help="Lifetime: 90d, 12h, 2w or never."
)
@click.option("--label", default="", help="What the token is for.")
@click.option("--by", help="Who issues it (default: the database's operator).")
def token_create(run: Run, user: str, expires: str, label: str, by: str | None) -> None:
    """Issue an API token and print it once (with --json, as the `token` field).

    Only its SHA-256 is stored. Use it as CHANGEGATE_TOKEN with CHANGEGATE_URL.

    Example: changegate token create --user ci-bot --expires 90d
    """
    out = backend(run).token_create(user, expires, label, by)

    def human() -> None:
        line(out["token"])
        sys.stderr.write(
            f"token {out['id']} for {out['user']}, expires {out['expires_at'] or 'never'}; "
            "it is shown only now: store it as CHANGEGATE_TOKEN\n"
        )

    run.emit(out, human)


@command(token, "list")
@click.option("--user", help="Only this user's.")
def token_list(run: Run, user: str | None) -> None:
    """List API tokens (never their secrets), with status active, expired or revoked.

    Example: changegate token list --user ci-bot
    """
    rows = backend(run).token_list(user)
    run.emit(rows, lambda: _rows("API tokens", rows, TOKEN_COLUMNS))


@command(token, "revoke")
@click.argument("token_id", metavar="ID", type=int)
@click.option("--by", help="Who revokes it (default: the database's operator).")
def token_revoke(run: Run, token_id: int, by: str | None) -> None:
    """Revoke an API token; it is refused from then on.

    Example: changegate token revoke 3
    """
    out = backend(run).token_revoke(token_id, by)
    run.emit(out, lambda: line(f"token {out['id']} of {out['user']} revoked"))
