"""How a command is declared once and run over either backend.

A command is a top-level function in the module of its group (``cli/<group>.py``), declared
with :func:`command`: Click parses its arguments and options, the decorator adds the options
every command shares (``--json``, ``--db``, ``--policy``), picks the backend, runs the function
and turns any error into one line on stderr, a JSON error document with ``--json``, and an
exit code. The function calls one backend method and renders the answer; it never touches a
database or an HTTP connection itself.

A backend is a class per group with one method per operation, in two implementations that
return the same JSON-shaped answers: ``cli/local/<group>.py`` (services over one database
transaction) and ``cli/remote/<group>.py`` (the server's API with the token, standard library
only). ``CHANGEGATE_URL`` selects the remote one; an explicit ``--db`` or ``--policy`` on the
command line selects the local one. Neither is imported until a command runs, so ``--help``
and a remote command import no SQLAlchemy, FastAPI, Pydantic or Rich.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from changegate.cli.remote.client import Client

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
JSON_DUMP: dict[str, Any] = {"indent": 2, "default": str, "ensure_ascii": False}


class Opts:
    """The options every command shares. (A plain class: `dataclasses` would load `inspect`
    and its parsers into every command's start-up, `--help` included.)"""

    __slots__ = ("db", "json", "policy")

    def __init__(
        self, json: bool = False, db: str | None = None, policy: Path | None = None
    ) -> None:
        self.json, self.db, self.policy = json, db, policy

    @property
    def db_url(self) -> str:
        if self.db:
            return self.db
        from changegate.paths import default_db_url

        return default_db_url()


class Run:
    """One invocation: the shared options, the backend, and the output."""

    def __init__(self, opts: Opts, *, local: bool) -> None:
        self.opts = opts
        self.json = opts.json
        self._local = local

    @property
    def remote_url(self) -> str | None:
        """The server to talk to, or None for the local database."""
        return None if self._local else (os.environ.get("CHANGEGATE_URL") or None)

    def backend(self, local: str, remote: str | None = None) -> Any:
        """The group's backend: ``remote`` (``module:Class``) with CHANGEGATE_URL, else
        ``local``. A command without a server side (``remote`` None) refuses to run while
        CHANGEGATE_URL is set rather than use a local database the user did not ask for."""
        url = self.remote_url
        if url is None:
            return _load(local)(self.opts)
        if remote is None:
            from changegate.errors import InvalidInput

            raise InvalidInput(
                "this command works on local files and a local database only: unset "
                "CHANGEGATE_URL, or give --db to use a local database",
                field="CHANGEGATE_URL",
            )
        from changegate.cli.remote.client import connect

        client: Client = connect(url)
        return _load(remote)(client)

    def emit(self, data: Any, human: Callable[[], None] | None = None) -> None:
        """``data`` as one JSON document with --json, else as ``human`` renders it."""
        if human is None or self.json:
            import json

            sys.stdout.write(json.dumps(data, **JSON_DUMP) + "\n")
        else:
            human()

    def fail(self, message: str, *, code: int, field: str | None, kind: str) -> int:
        sys.stderr.write(f"error: {message}\n")
        if self.json:
            import json

            sys.stdout.write(json.dumps({"error": kind, "message": message, "field": field}) + "\n")
        return code


def _load(target: str) -> Any:
    import importlib

    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def guard(run: Run, body: Callable[[], int | None]) -> int:
    """Run a command body; the one place errors become output and exit codes."""
    from changegate.errors import ChangegateError

    try:
        return body() or 0
    except ChangegateError as exc:
        return run.fail(
            exc.message, code=exc.exit_code, field=exc.field, kind=exc.to_dict()["error"] or ""
        )
    except ModuleNotFoundError as exc:
        from changegate.extras import missing_extra

        message = missing_extra(exc)
        if message is None:
            raise
        return run.fail(message, code=2, field="install", kind="MissingExtra")
    except Exception as exc:
        sqlalchemy_exc = sys.modules.get("sqlalchemy.exc")
        if sqlalchemy_exc is not None and isinstance(
            exc, (sqlalchemy_exc.OperationalError, sqlalchemy_exc.ArgumentError)
        ):
            first = str(exc).splitlines()[0]
            return run.fail(
                f"database error: {first}; check --db / CHANGEGATE_DB",
                code=2,
                field="db",
                kind="Error",
            )
        raise


def _is_explicit(ctx: click.Context, name: str) -> bool:
    from click.core import ParameterSource

    return ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE


def shared_options(*, policy: bool = True, db_default: str | None = None) -> list[click.Parameter]:
    db = (
        click.Option(["--db"], help=f"SQLAlchemy URL of the database (default: {db_default}).")
        if db_default
        else click.Option(
            ["--db"],
            envvar="CHANGEGATE_DB",
            show_envvar=True,
            help="SQLAlchemy URL of the database.",
        )
    )
    params: list[click.Parameter] = [
        click.Option(
            ["--json", "as_json"], is_flag=True, help="Print one JSON document on stdout."
        ),
        db,
    ]
    if policy:
        params.append(
            click.Option(
                ["--policy"],
                envvar="CHANGEGATE_POLICY",
                show_envvar=True,
                type=click.Path(path_type=Path),
                help="Policy file (default: the built-in v1.2).",
            )
        )
    return params


def command(
    group: click.Group | None = None,
    name: str | None = None,
    *,
    policy: bool = True,
    db_default: str | None = None,
    **attrs: Any,
) -> Callable[[Callable[..., int | None]], click.Command]:
    """Declare a command once. The function takes the :class:`Run` first, then its own
    arguments and options (declared with ``click.argument`` / ``click.option`` below this
    decorator), and returns an exit code (None is 0). Its docstring is the help, with an
    example. ``db_default`` names what a command uses without ``--db`` when it must not read
    CHANGEGATE_DB (``demo`` builds a fresh database)."""

    def decorate(fn: Callable[..., int | None]) -> click.Command:
        params = list(reversed(getattr(fn, "__click_params__", [])))

        @click.pass_context
        def callback(ctx: click.Context, /, **kw: Any) -> None:
            opts = Opts(kw.pop("as_json"), kw.pop("db"), kw.pop("policy", None))
            local = _is_explicit(ctx, "db") or (policy and _is_explicit(ctx, "policy"))
            run = Run(opts, local=local)
            code = guard(run, lambda: fn(run, **kw))
            if code:
                ctx.exit(code)

        cmd = click.Command(
            name or fn.__name__.replace("_", "-"),
            callback=callback,
            params=params + shared_options(policy=policy, db_default=db_default),
            help=fn.__doc__,
            context_settings=CONTEXT,
            **attrs,
        )
        if group is not None:
            group.add_command(cmd)
        return cmd

    return decorate


class LazyGroup(click.Group):
    """A group whose commands are imported only when invoked (``name -> "module:attr"``), as
    Click's documentation shows for fast start-up of large command lines."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            cmd = _load(self.lazy[cmd_name])
            if not isinstance(cmd, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a Click command")
            return cmd
        return super().get_command(ctx, cmd_name)


def group(name: str, help: str, lazy: dict[str, str] | None = None) -> click.Group:
    """A command group (``changegate change ...``); ``lazy`` names commands kept in other
    modules."""
    return LazyGroup(name, help=help, lazy=lazy, no_args_is_help=True, context_settings=CONTEXT)


def read_file(path: str | Path, field: str) -> bytes:
    """A file named on the command line, or the error naming the option."""
    from changegate.errors import InvalidInput

    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise InvalidInput(
            f"--{field} {path}: cannot read the file ({exc.strerror})", field=field
        ) from None


def line(text: str) -> None:
    """One line of plain output."""
    sys.stdout.write(text + "\n")
