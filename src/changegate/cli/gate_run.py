"""The `gate` command's body, free of Typer: the Typer command and the pipeline fast path
(`changegate.cli.main.run`) both call :func:`run_gate`."""

from __future__ import annotations

from typing import Any

from changegate.cli.runtime import Opts, emit, guarded, transaction


def target_change(
    session: Any, change: str | None, git_sha: str | None
) -> tuple[Any, dict[str, str]]:
    """The change named by id, or the one a commit belongs to (and how)."""
    from changegate.changes.service import get_change
    from changegate.errors import InvalidInput

    if change and git_sha:
        raise InvalidInput("give the change id or --git-sha, not both", field="git-sha")
    if git_sha:
        from changegate.scm.service import find_change_by_commit

        match = find_change_by_commit(session, git_sha, lock=True)
        return match.change, {"sha": match.sha, "linked_as": match.via}
    if not change:
        raise InvalidInput("give the change id (CHG-12) or --git-sha SHA", field="change")
    return get_change(session, change, lock=True), {}


def person(session: Any, name: str | None, option: str) -> str:
    """A user name as given, or the user mapped to it as a GitHub login; without one, the
    user mapped to $GITHUB_ACTOR (set in GitHub Actions)."""
    import os

    from changegate.errors import InvalidInput
    from changegate.users.service import resolve_person

    value = name or os.environ.get("GITHUB_ACTOR")
    if not value:
        raise InvalidInput(f"{option}: say who deploys (a user name or GitHub login)", field=option)
    return resolve_person(session, value)


def run_gate(
    o: Opts, *, change: str | None, env: str, deployer: str | None, git_sha: str | None
) -> None:
    def body() -> None:
        from changegate.cli.render import show_gate
        from changegate.deployments.service import gate as gate_service

        with transaction(o) as (s, pol):
            target, commit = target_change(s, change, git_sha)
            who = person(s, deployer, "--deployer")
            result = gate_service(s, pol, target, env=env, deployer=who)
            out = result.to_dict()
            if commit:
                out["commit"] = commit
        emit(o, out, lambda: show_gate(out, env))
        if not out["passed"]:
            raise SystemExit(1)

    guarded(o, body)


def fast_main(argv: list[str]) -> int | None:
    """`changegate gate ...` parsed without Typer (pipelines call it on every deploy).

    Uses the remote client's Click-compatible parser and usage messages, so errors read the
    same; returns None for anything it does not handle, and the Typer app takes over.
    """
    import os
    from pathlib import Path

    from changegate.cli import legacy_remote as remote

    found = remote._find(argv)
    if found is None or found[0] != ("gate",):
        return None
    path, rest = found
    remote_spec = remote.COMMANDS[path]
    spec = remote.Spec(
        remote_spec.run,
        {**remote_spec.options, "db": "str", "policy": "str"},
        remote_spec.positionals,
        optional_positionals=remote_spec.optional_positionals,
    )
    try:
        opts, args, as_json = remote._parse(spec, rest)
        if not opts.get("env"):
            raise remote.Usage("Missing option '--env'.")
    except remote.Usage as exc:
        remote.usage_error(path, spec, exc)
        return 2
    db = opts.get("db") or os.environ.get("CHANGEGATE_DB")
    policy = opts.get("policy") or os.environ.get("CHANGEGATE_POLICY")
    o = Opts(as_json, db, Path(policy) if policy else None)
    try:
        run_gate(
            o,
            change=args[0] if args else None,
            env=opts["env"],
            deployer=opts.get("deployer"),
            git_sha=opts.get("git-sha"),
        )
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0
