"""`changegate evidence add`: test results, a named validation or a document on a change."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, Protocol

import click

from changegate.cli.core import Run, command, group, line, read_file

evidence = group("evidence", "Attach evidence: JUnit XML, validations, documents.")


class Validation(NamedTuple):
    """A named validation's result, and the report it was decided on (content, file name)."""

    name: str
    result: str
    details: str
    report: tuple[bytes, str] | None


class Backend(Protocol):
    def junit(self, change: str, content: bytes, filename: str, by: str) -> dict[str, Any]: ...
    def validation(self, change: str, validation: Validation, by: str) -> dict[str, Any]: ...
    def document(
        self, change: str, content: bytes, filename: str, kind: str, details: str, by: str
    ) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.evidence:LocalEvidence",
        "changegate.cli.remote.evidence:RemoteEvidence",
    )


def _check(
    junit: str | None,
    validation: str | None,
    document: str | None,
    *,
    result: str | None,
    report: str | None,
    kind: str | None,
) -> None:
    """One kind of evidence per call, with the options that kind needs."""
    from changegate.errors import InvalidInput

    if sum(1 for v in (junit, validation, document) if v) != 1:
        raise InvalidInput(
            "give exactly one of --junit FILE, --validation NAME or --document FILE",
            field="evidence",
        )
    if validation and result is None:
        raise InvalidInput("--validation needs --result pass|fail", field="result")
    if report and not validation:
        raise InvalidInput("--report goes with --validation NAME", field="report")
    if document and not kind:
        raise InvalidInput(
            "--document needs --kind KIND (e.g. design, staging-report)", field="kind"
        )


@command(evidence, "add")
@click.argument("change")
@click.option("--by", required=True)
@click.option("--junit", help="JUnit XML file.")
@click.option("--validation", help="Validation name, e.g. staging, tls.")
@click.option("--result", help="pass | fail (with --validation).")
@click.option("--details", default="")
@click.option("--document", help="Any file, stored by content.")
@click.option("--kind", help="Document kind (with --document).")
@click.option("--report", help="The report a validation was decided on, stored by content.")
def evidence_add(
    run: Run,
    change: str,
    by: str,
    junit: str | None,
    validation: str | None,
    result: str | None,
    details: str,
    document: str | None,
    kind: str | None,
    report: str | None,
) -> None:
    """Attach JUnit results, a named validation or a document to a change.

    Example: changegate evidence add CHG-1 --junit results.xml --by ci-bot
    """
    _check(junit, validation, document, result=result, report=report, kind=kind)
    if junit:
        out = backend(run).junit(change, read_file(junit, "junit"), Path(junit).name, by)
    elif validation:
        decided_on = (read_file(report, "report"), Path(report).name) if report else None
        done = Validation(validation, result or "", details, decided_on)
        out = backend(run).validation(change, done, by)
    else:
        assert document is not None and kind is not None
        content, name = read_file(document, "document"), Path(document).name
        out = backend(run).document(change, content, name, kind, details, by)
    run.emit(
        out,
        lambda: line(
            f"{out['change']}: {out['kind']} {out['name']} attached"
            + (f" ({out['details']})" if out["details"] else "")
        ),
    )
