"""Commands for the audit record, the policy file and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from changegate.cli.context import DbOpt, JsonOpt, Opts, PolicyOpt, emit, guarded, transaction


def register(app: typer.Typer) -> None:
    audit_app = typer.Typer(
        help="The tamper-evident audit record: verify, log, export.", no_args_is_help=True
    )
    policy_app = typer.Typer(help="The policy file: check and show.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")
    app.add_typer(policy_app, name="policy")

    @audit_app.command("verify")
    def audit_verify(
        anchor: Annotated[
            list[str] | None,
            typer.Option(
                "--anchor",
                help="SEQ:HASH of a head printed earlier and kept outside the database; the "
                "chain must still pass through it (catches a rewrite of the whole log).",
            ),
        ] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Recompute the hash chain and check every record against its last audit event; exit 1 on a break.

        Example: changegate audit verify --anchor 1042:3f6c...   (the head printed last time)
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.audit.service import Anchor, verify
            from changegate.cli.render import show_verify

            anchors = [Anchor.parse(a) for a in anchor or []]
            with transaction(o, write=False) as (s, _):
                report = verify(s, anchors=anchors)
            out = report.to_dict()
            emit(o, out, lambda: show_verify(out))
            if not report.ok:
                raise typer.Exit(1)

        guarded(o, body)

    @audit_app.command("log")
    def audit_log(
        change: Annotated[str | None, typer.Argument(help="Only events about this change.")] = None,
        limit: Annotated[
            int | None, typer.Option("--limit", help="Only the last N events.")
        ] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Show the audit timeline, of everything or of one change.

        Example: changegate audit log CHG-1
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.audit.service import timeline
            from changegate.audit.timeline_rows import timeline_rows
            from changegate.changes.service import get_change
            from changegate.cli.render import show_timeline

            with transaction(o, write=False) as (s, _):
                key = get_change(s, change).key if change else None
                entries = timeline(s, change_key=key, limit=limit)
            rows = timeline_rows(entries)
            emit(o, rows, lambda: show_timeline(f"audit log{' of ' + key if key else ''}", rows))

        guarded(o, body)

    @audit_app.command("export")
    def audit_export(
        out: Annotated[
            Path, typer.Option("--out", help="File to write (JSON Lines), '-' for stdout.")
        ],
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Export every event as JSON Lines: the exact stored bytes plus leaf and chain hashes.

        Example: changegate audit export --out audit.jsonl
        """
        o = Opts(json, db, policy)

        def body() -> None:
            import sys

            from changegate.audit.export import export_jsonl

            with transaction(o, write=False) as (s, _):
                if str(out) == "-":
                    n = export_jsonl(s, sys.stdout)
                else:
                    with out.open("w", encoding="utf-8") as fh:
                        n = export_jsonl(s, fh)
            if str(out) != "-":
                emit(
                    o,
                    {"events": n, "file": str(out)},
                    lambda: print(f"exported {n} events to {out}"),
                )

        guarded(o, body)

    @policy_app.command("check")
    def policy_check(file: Path, json: JsonOpt = False, db: DbOpt = None) -> None:
        """Validate a policy file: every error with its path in the document; exit 1 if invalid.

        Example: changegate policy check my-policy.yaml
        """
        o = Opts(json)

        def body() -> None:
            from changegate.cli.context import read_file
            from changegate.policy.loader import check_policy_text

            try:
                text = read_file(file, "file").decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is None:
                problems = [{"path": "document", "message": "not UTF-8 text"}]
                pol = None
            else:
                pol, found = check_policy_text(text)
                problems = [{"path": p.path, "message": p.message} for p in found]
            out = {
                "file": str(file),
                "valid": pol is not None,
                "errors": problems,
                "policy": pol.label if pol else None,
            }

            def human() -> None:
                if pol is not None:
                    print(f"{file}: valid ({pol.label}, {len(pol.rules)} rules)")
                else:
                    import sys

                    for p in problems:
                        sys.stderr.write(f"{file}: {p['path']}: {p['message']}\n")
                    sys.stderr.write(f"{file}: {len(problems)} error(s)\n")

            emit(o, out, human)
            if pol is None:
                raise typer.Exit(1)

        guarded(o, body)

    @policy_app.command("show")
    def policy_show(json: JsonOpt = False, db: DbOpt = None, policy: PolicyOpt = None) -> None:
        """Render the policy in force readably.

        Example: changegate policy show --policy my-policy.yaml
        """
        o = Opts(json, None, policy)

        def body() -> None:
            from changegate.cli.context import loaded_policy
            from changegate.policy.render import render_policy

            loaded = loaded_policy(o)
            out = loaded.validated().model_dump(mode="json", by_alias=True) | {
                "digest": loaded.digest,
                "source": loaded.source,
            }
            emit(o, out, lambda: render_policy(loaded.validated()))

        guarded(o, body)

    @app.command()
    def demo(
        db: Annotated[
            str | None,
            typer.Option("--db", help="Database URL (default: a fresh temporary SQLite file)."),
        ] = None,
        json: JsonOpt = False,
        policy: PolicyOpt = None,
    ) -> None:
        """Run the whole flow on a fresh database: a normal change, an emergency change, and a system
        prompt change blocked until the CTO signs off; print each timeline.

        Example: changegate demo
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.demo import run_demo

            result = run_demo(db_url=db, policy_path=policy, verbose=not json)
            emit(o, result, lambda: None)
            if not result["ok"]:
                raise typer.Exit(1)

        guarded(o, body)
