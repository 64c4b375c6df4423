"""`changegate audit package | sample | verify-package`: the auditor evidence package of a
period, a reproducible sample of it, and its offline verification."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, line


class Backend(Protocol):
    def package(
        self,
        date_from: str,
        date_to: str,
        out: str,
        key_file: str | None,
        sample: tuple[int, str] | None,
        by: str | None,
    ) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.audit_package:LocalAuditPackage",
        "changegate.cli.remote.audit_package:RemoteAuditPackage",
    )


def _period_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--from", "date_from", required=True, help="First day (YYYY-MM-DD, UTC)."),
        click.option("--to", "date_to", required=True, help="Last day, included (YYYY-MM-DD)."),
        click.option("--out", required=True, help="The zip file to write."),
        click.option(
            "--key",
            "key_file",
            help="The signing key (`audit keygen`): the package's checkpoint is signed with it "
            "and recorded. Against a server its own key signs (CHANGEGATE_AUDIT_KEY_FILE).",
        ),
        click.option("--by", help="Who generates it (recorded in the manifest; default: system)."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _show(out: dict[str, Any], file: str) -> None:
    counts = out["counts"]
    line(
        f"wrote {file}: {counts['population']} changes, {counts['deployments']} deployments, "
        f"{counts['exceptions']} exceptions, {counts['events']} events proven in a tree of "
        f"{out['tree_size']}"
    )
    if out["selection"]["kind"] == "sample":
        line(f"sample (seed {out['selection']['seed']}): {' '.join(out['selection']['changes'])}")


@command(None, "package")
@_period_options
def audit_package(
    run: Run, date_from: str, date_to: str, out: str, key_file: str | None, by: str | None
) -> None:
    """Write the auditor evidence package of a period: population, deployments, exceptions,
    control matrix, each change's packet, events and inclusion proofs, signed by a checkpoint.

    The auditor checks it offline with the verify.py inside it, or `audit verify-package`.

    Example: changegate audit package --from 2026-01-01 --to 2026-12-31 --out fy2026.zip --key audit.key
    """
    result = backend(run).package(date_from, date_to, out, key_file, None, by)
    run.emit(result, lambda: _show(result, out))


@command(None, "sample")
@_period_options
@click.option("--size", type=int, required=True, help="How many changes to draw.")
@click.option(
    "--seed", required=True, help="The auditor's seed (any text); same seed, same sample."
)
def audit_sample(
    run: Run,
    date_from: str,
    date_to: str,
    out: str,
    key_file: str | None,
    by: str | None,
    size: int,
    seed: str,
) -> None:
    """Draw a reproducible random sample of a period's changes and package it like `audit
    package` (the whole population is listed; the sampled changes get their packets).

    Example: changegate audit sample --from 2026-01-01 --to 2026-12-31 --size 25 --seed 8841 --out sample.zip --key audit.key
    """
    result = backend(run).package(date_from, date_to, out, key_file, (size, seed), by)
    run.emit(result, lambda: _show(result, out))


@command(None, "verify-package", policy=False)
@click.argument("package")
@click.option("--vkey", required=True, help="The log's verifier key (the string, or a file).")
def audit_verify_package(run: Run, package: str, vkey: str) -> int:
    """Verify an auditor evidence package offline (no database, no server): file hashes, the
    checkpoint's signature, every event's inclusion proof, and the rows recomputed from the
    events. Exit 1 when anything differs, naming the file and row.

    Example: changegate audit verify-package fy2026.zip --vkey audit.vkey
    """
    from pathlib import Path

    from changegate.audit.package import verify
    from changegate.errors import InvalidInput

    try:
        out = verify.check(Path(package), vkey)
    except verify.BadInput as exc:
        raise InvalidInput(str(exc), field="package") from None

    def human() -> None:
        for problem in out["problems"]:
            line(f"FAIL {problem}")
        verdict = "OK" if out["ok"] else "FAILED"
        line(f"{verdict}: {out['events']} events proven in a tree of {out['tree_size']}")

    run.emit(out, human)
    return 0 if out["ok"] else 1
