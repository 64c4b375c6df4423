"""`changegate policy`: check a policy file, show the policy in force."""

from __future__ import annotations

import sys
from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, group, line

policy = group(
    "policy",
    "The policy as code: validate a file, render the policy in force, its own review (§9).",
    lazy={
        "review": "changegate.cli.policy_review:policy_review",
        "status": "changegate.cli.policy_review:policy_status",
        "diff": "changegate.cli.policy_review:policy_diff",
    },
)


class Backend(Protocol):
    def check(self, path: str, text: str) -> dict[str, Any]: ...
    def show(self) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.policy:LocalPolicy", "changegate.cli.remote.policy:RemotePolicy"
    )


@command(policy, "check", policy=False)
@click.argument("file", type=click.Path(dir_okay=False))
def policy_check(run: Run, file: str) -> int:
    """Validate a policy file: every error with its path in the document; exit 1 if invalid.

    Example: changegate policy check my-policy.yaml
    """
    from changegate.cli.core import read_file

    raw = read_file(file, "file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        out: dict[str, Any] = {
            "file": file,
            "valid": False,
            "errors": [{"path": "document", "message": "not UTF-8 text"}],
            "policy": None,
        }
    else:
        out = backend(run).check(file, text)

    def human() -> None:
        if out["valid"]:
            line(f"{file}: valid ({out['policy']}, {out['rules']} rules)")
        else:
            for p in out["errors"]:
                sys.stderr.write(f"{file}: {p['path']}: {p['message']}\n")
            sys.stderr.write(f"{file}: {len(out['errors'])} error(s)\n")

    run.emit({k: v for k, v in out.items() if k != "rules"}, human)
    return 0 if out["valid"] else 1


@command(policy, "show")
def policy_show(run: Run) -> None:
    """Render the policy in force readably.

    Example: changegate policy show --policy my-policy.yaml
    """
    out = backend(run).show()

    def human() -> None:
        from changegate.policy.render import render_policy
        from changegate.policy.schema import Policy

        data = {k: v for k, v in out.items() if k not in ("digest", "source")}
        render_policy(Policy.model_validate(data))

    run.emit(out, human)
