"""`changegate audit`: verify the tamper-evident record, read its timeline, export it."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol, TextIO

import click

from changegate.cli.core import Run, command, group, line, read_file

audit = group(
    "audit",
    "The tamper-evident audit record: verify, log, export, checkpoints and proofs.",
    lazy={
        "git": "changegate.cli.git:audit_git",
        "retention": "changegate.cli.retention:audit_retention",
        "purge": "changegate.cli.retention:audit_purge",
        "package": "changegate.cli.audit_package:audit_package",
        "sample": "changegate.cli.audit_package:audit_sample",
        "verify-package": "changegate.cli.audit_package:audit_verify_package",
    },
)

#: opens where the export goes, once there is something to write
Opener = Callable[[], AbstractContextManager[TextIO]]


class Backend(Protocol):
    def verify(self, anchors: list[str], deep: bool) -> dict[str, Any]: ...
    def log(
        self, change: str | None, limit: int | None
    ) -> tuple[str | None, list[dict[str, Any]]]: ...
    def export(self, open_out: Opener) -> int: ...
    def checkpoint(self, key_file: str) -> str: ...
    def check_checkpoint(self, note: str, vkey: str) -> dict[str, Any]: ...
    def proof(self, seq: int, size: int | None) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.audit:LocalAudit", "changegate.cli.remote.audit:RemoteAudit"
    )


@command(audit, "verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    help="SEQ:HASH of a head printed earlier and kept outside the database; the chain must "
    "still pass through it (catches a rewrite of the whole log).",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Also have the database recompute every index entry of the log (slower; catches an "
    "index rebuilt under a forged definition by someone who could edit the database file).",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    help="A signed checkpoint kept earlier (`audit checkpoint`): today's log must extend it.",
)
@click.option("--vkey", help="The verifier key of --checkpoint (the string, or a file).")
def audit_verify(
    run: Run,
    anchors: tuple[str, ...],
    deep: bool,
    checkpoint_file: str | None,
    vkey: str | None,
) -> int:
    """Recompute the hash chain and check every record against its last audit event; exit 1 on a break.

    With --checkpoint and --vkey, also check the checkpoint's signature and that today's log
    extends it (an RFC 9162 consistency proof): nothing it covers was rewritten since.

    Example: changegate audit verify --anchor 1042:3f6c...   (the head printed last time)
    Example: changegate audit verify --checkpoint 2026-q4.txt --vkey audit.vkey
    """
    if (checkpoint_file is None) != (vkey is None):
        from changegate.errors import InvalidInput

        raise InvalidInput(
            "--checkpoint and --vkey go together: give the checkpoint file and its verifier key",
            field="vkey" if vkey is None else "checkpoint",
        )
    out = backend(run).verify(list(anchors), deep)
    if checkpoint_file is not None and vkey is not None:
        from changegate.audit.checkpoint import merge

        note = read_file(checkpoint_file, "checkpoint").decode("utf-8", "replace")
        out = merge(out, backend(run).check_checkpoint(note, vkey))

    def human() -> None:
        from changegate.cli.render import show_verify

        show_verify(out)

    run.emit(out, human)
    return 0 if out["ok"] else 1


@command(audit, "log")
@click.argument("change", required=False)
@click.option("--limit", type=int, help="Only the last N events.")
def audit_log(run: Run, change: str | None, limit: int | None) -> None:
    """Show the audit timeline, of everything or of one change (CHANGE, e.g. CHG-1).

    Example: changegate audit log CHG-1
    """
    key, rows = backend(run).log(change, limit)

    def human() -> None:
        from changegate.cli.render import show_timeline

        show_timeline(f"audit log{' of ' + key if key else ''}", rows)

    run.emit(rows, human)


@command(audit, "export")
@click.option("--out", required=True, help="File to write (JSON Lines), '-' for stdout.")
def audit_export(run: Run, out: str) -> None:
    """Export every event as JSON Lines: the exact stored bytes plus leaf and chain hashes.

    Example: changegate audit export --out audit.jsonl
    """
    n = backend(run).export(lambda: _opened(out))
    if out != "-":
        run.emit({"events": n, "file": out}, lambda: line(f"exported {n} events to {out}"))


@command(audit, "keygen", policy=False)
@click.option("--out", required=True, help="File to write the signing key to (created 0600).")
@click.option(
    "--origin",
    default="changegate/audit",
    show_default=True,
    help="The log's name in its checkpoints and key (e.g. changegate.example.com/audit).",
)
def audit_keygen(run: Run, out: str, origin: str) -> None:
    """Create a key to sign checkpoints of the audit log; print its verifier key.

    Writes the signing key (readable by you only) and prints the verifier key that auditors
    keep to check checkpoints. Writes a local file only: no database, no server.

    Example: changegate audit keygen --out /etc/changegate/audit.key --origin cg.example.com/audit
    """
    from pathlib import Path

    from changegate.audit.checkpoint import SignerKey, write_signer

    signer = SignerKey.generate(origin)
    write_signer(Path(out), signer)
    vkey = str(signer.verifier())
    run.emit({"key_file": out, "origin": origin, "vkey": vkey}, lambda: line(vkey))


@command(audit, "checkpoint")
@click.option("--key", "key_file", required=True, help="The signing key (`audit keygen`).")
def audit_checkpoint(run: Run, key_file: str) -> None:
    """Sign the log's current head (tree size and Merkle root) and print the signed checkpoint.

    The checkpoint is recorded as an audit event; signing is refused when the log no longer
    extends the last checkpoint signed. Run it from cron and keep the notes. Against a server
    (CHANGEGATE_URL) the head it reports is signed here, so the key never leaves this machine,
    and the server records the checkpoint only when it is its own tree.

    Example: changegate audit checkpoint --key /etc/changegate/audit.key > checkpoint.txt
    """
    note = backend(run).checkpoint(key_file)

    def human() -> None:
        sys.stdout.write(note)

    run.emit({"checkpoint": note}, human)


@command(audit, "proof")
@click.argument("seq", type=int)
@click.option("--size", type=int, help="The tree size to prove against (default: the whole log).")
def audit_proof(run: Run, seq: int, size: int | None) -> None:
    """Print the RFC 9162 inclusion proof of event SEQ in the log's Merkle tree.

    Example: changegate audit proof 42 --size 1000 --json
    """
    out = backend(run).proof(seq, size)

    def human() -> None:
        line(f"event #{out['seq']} in a tree of {out['tree_size']} (root {out['root']})")
        line(f"leaf hash {out['leaf_hash']}")
        for h in out["proof"]:
            line(f"  {h}")

    run.emit(out, human)


@contextmanager
def _opened(target: str) -> Iterator[TextIO]:
    """The file named by --out, or stdout for '-' (left open)."""
    if target == "-":
        yield sys.stdout
        return
    from changegate.errors import InvalidInput

    try:
        fh = open(target, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InvalidInput(
            f"--out {target}: cannot write the file ({exc.strerror})", field="out"
        ) from None
    with fh:
        yield fh
