"""`changegate findings`: scanner findings with SLA clocks, risk acceptance, overdue (§6)."""

from __future__ import annotations

from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, group, line, read_file

FORMATS = ("sarif", "trivy", "grype", "osv", "dependabot", "cyclonedx-vex")
COLUMNS = ["id", "severity", "status", "rule_id", "component", "scope", "due", "days_left"]

findings = group("findings", "Vulnerability findings with SLAs (§6): import, list, show, accept.")


class Backend(Protocol):
    def import_scan(
        self, data: bytes, fmt: str, scope: str | None, kev: bytes | None, by: str
    ) -> dict[str, Any]: ...
    def list(
        self, status: str | None, severity: str | None, scope: str | None
    ) -> dict[str, Any]: ...
    def show(self, ident: str) -> dict[str, Any]: ...
    def overdue(self) -> dict[str, Any]: ...
    def accept(self, ident: str, justification: str, expires: str, by: str) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.findings:LocalFindings",
        "changegate.cli.remote.findings:RemoteFindings",
    )


def _table(title: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        line(f"no {title}")
        return
    from changegate.cli.render import show_rows

    show_rows(title, rows, COLUMNS)


@command(findings, "import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--format", "fmt", required=True, type=click.Choice(FORMATS), help="The file's format."
)
@click.option(
    "--scope", help="What was scanned (a component; default: the policy's default scope)."
)
@click.option("--kev", type=click.Path(dir_okay=False), help="CISA's KEV catalogue (JSON) file.")
@click.option("--by", required=True, help="Who imports (becomes the owner of new findings).")
def findings_import(
    run: Run, file: str, fmt: str, scope: str | None, kev: str | None, by: str
) -> None:
    """Import a scanner's findings into a scope; findings absent from a re-import are fixed.

    Example: changegate findings import trivy.json --format trivy --scope application --by sam
    """
    data = read_file(file, "file")
    kev_data = None if kev is None else read_file(kev, "kev")
    out = backend(run).import_scan(data, fmt, scope, kev_data, by)
    run.emit(
        out,
        lambda: line(
            f"import {out['id']} into {out['scope']}: {out['total']} findings, {out['new']} new, "
            f"{out['reopened']} re-opened, {out['fixed']} fixed"
        ),
    )


@command(findings, "list")
@click.option(
    "--status", help="open | fixed | risk_accepted | false_positive | not_affected | duplicate"
)
@click.option("--severity", help="critical | high | medium | low")
@click.option("--scope", help="Only this scope.")
def findings_list(run: Run, status: str | None, severity: str | None, scope: str | None) -> None:
    """List findings, earliest due first, with days left on their SLA.

    Example: changegate findings list --status open --severity critical
    """
    out = backend(run).list(status, severity, scope)
    run.emit(out, lambda: _table("findings", out["findings"]))


@command(findings, "show")
@click.argument("ident", metavar="ID")
def findings_show(run: Run, ident: str) -> None:
    """Show a finding: its SLA, risk acceptances, the changes that fix it, its history.

    Example: changegate findings show 12
    """
    out = backend(run).show(ident)

    def human() -> None:
        line(f"finding {out['id']} [{out['severity']}] {out['rule_id']} {out['component']}")
        line(f"  status {out['status']}, scope {out['scope']}, due {out['due']}")
        for link in out["links"]:
            line(f"  {link['kind']}: {link['change']} {link['title']} ({link['state']})")
        for ev in out["history"]:
            line(f"  {ev['ts']} {ev['actor']} {ev['action']}")

    run.emit(out, human)


@command(findings, "overdue")
def findings_overdue(run: Run) -> int:
    """List open findings past their SLA; exit 1 if any (for cron and CI).

    Example: changegate findings overdue --json
    """
    out = backend(run).overdue()
    run.emit(out, lambda: _table("overdue findings", out["overdue"]))
    return 1 if out["overdue"] else 0


@command(findings, "accept")
@click.argument("ident", metavar="ID")
@click.option("--justification", required=True, help="Why the risk is acceptable.")
@click.option("--expires", required=True, help="YYYY-MM-DD: the finding re-opens after it.")
@click.option("--by", required=True, help="Who accepts (not the finding's owner).")
def findings_accept(run: Run, ident: str, justification: str, expires: str, by: str) -> None:
    """Accept a finding's risk until a date (a role the policy names; never its owner).

    Example: changegate findings accept 12 --justification "WAF blocks it" --expires 2026-03-31 --by sam
    """
    out = backend(run).accept(ident, justification, expires, by)
    run.emit(out, lambda: line(f"finding {out['finding']} risk accepted until {out['expires']}"))
