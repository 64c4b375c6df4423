"""`changegate ai provider`: the LLM provider register and its Data Processing Agreements
(policy §10.2), locally or on the server with CHANGEGATE_URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from changegate.cli.ai import BY_HELP, backend
from changegate.cli.core import Run, command, group, line, read_file

provider = group("provider", "LLM providers and their Data Processing Agreements (§10.2).")


@command(provider, "add")
@click.argument("name")
@click.option("--display-name", default="", help="e.g. 'OpenAI, L.L.C.'.")
@click.option("--notes", default="")
@click.option(
    "--by",
    help="Who adds it (needs ai.provider.manage); default: system (against a server: the token's user).",
)
def provider_add(run: Run, name: str, display_name: str, notes: str, by: str | None) -> None:
    """Add an LLM provider to the register; its DPA starts as none, so the gate refuses it until one is recorded.

    Example: changegate ai provider add anthropic --display-name "Anthropic PBC"
    """
    out = backend(run).provider_add(
        by, {"name": name, "display_name": display_name, "notes": notes}
    )
    run.emit(out, lambda: line(f"provider {out['name']} added; DPA: none"))


@command(provider, "dpa")
@click.argument("name")
@click.option("--status", required=True, help="signed | pending | terminated | none.")
@click.option("--by", required=True, help=BY_HELP)
@click.option("--signed", help="Date signed, YYYY-MM-DD.")
@click.option("--expires", help="Expiry date, YYYY-MM-DD.")
@click.option(
    "--document",
    type=click.Path(path_type=Path),
    help="The signed DPA, stored by SHA-256.",
)
@click.option("--notes")
def provider_dpa(
    run: Run,
    name: str,
    status: str,
    by: str,
    signed: str | None,
    expires: str | None,
    document: Path | None,
    notes: str | None,
) -> None:
    """Record a provider's Data Processing Agreement: status, dates and the signed document.

    Example: changegate ai provider dpa anthropic --status signed --signed 2026-01-10 --expires 2027-01-10 --document dpa.pdf --by artur
    """
    body: dict[str, Any] = {"status": status, "signed": signed, "expires": expires, "notes": notes}
    if document is not None:
        body |= {"content": read_file(document, "document"), "filename": document.name}
    out = backend(run).provider_dpa(name, by, body)
    run.emit(out, lambda: line(out["dpa"]["reason"]))


@command(provider, "list")
def provider_list(run: Run) -> None:
    """List providers with their DPA state; expired and soon-expiring DPAs are flagged.

    Example: changegate ai provider list --json
    """
    from changegate.cli.ai_render import show_providers

    out = backend(run).providers()
    run.emit(out, lambda: show_providers(out))
