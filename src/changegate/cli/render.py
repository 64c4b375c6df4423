"""Rich renderings for humans; `--json` output comes from the same dictionaries."""

from __future__ import annotations

import re
import sys
from typing import Any


def console() -> Any:
    """A Rich console for a terminal. Into a pipe or a CI log nothing is wrapped at 80 columns
    (Rich's default width without a terminal) and no colour codes are written: each line is
    as long as its content, so it can be grepped."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False)
    return Console(highlight=False, soft_wrap=True, width=100_000, no_color=True)


def change_dict(change: Any, evaluation: Any | None = None) -> dict[str, Any]:
    state: dict[str, Any] = change.audit_state()
    if evaluation is not None:
        state["high_risk"] = evaluation.high_risk
        state["security_impacting"] = evaluation.security_impacting
        state["ai"] = evaluation.ai
    return state


def show_change(data: dict[str, Any]) -> None:
    from rich.table import Table

    c = console()
    c.print(
        f"[bold]{data['id']}[/bold]  {data['title']}  [{_state_style(data['state'])}]{data['state']}[/]"
    )
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="dim")
    t.add_column()
    for key in (
        "change_class",
        "category",
        "author",
        "components",
        "providers",
        "ai_component",
        "description",
        "rollback_plan",
        "justification",
        "links",
        "commits",
        "revision",
        "created_at",
        "submitted_at",
    ):
        value = data.get(key)
        if value in (None, "", []):
            continue
        t.add_row(
            key.replace("_", " "), ", ".join(value) if isinstance(value, list) else str(value)
        )
    for dim, entry in (data.get("risk") or {}).items():
        note = f" — {entry['note']}" if entry.get("note") else ""
        t.add_row(f"risk {dim}", f"{entry['level']}{note}")
    c.print(t)


def _state_style(state: str) -> str:
    return {
        "approved": "green",
        "deployed": "green",
        "closed": "dim",
        "rejected": "red",
        "rolled_back": "yellow",
        "submitted": "cyan",
    }.get(state, "white")


def show_requirements(
    title: str, results: list[dict[str, Any]], footer: str = "", notes: list[str] | None = None
) -> None:
    """A table on a terminal; one line per requirement when the output goes to a pipe or a CI
    log (no wrapping at 80 columns, greppable, and Rich is not imported for `gate` in a
    pipeline). ``notes`` are printed as plain text after the footer."""
    if not sys.stdout.isatty():
        _plain_requirements(title, results, footer)
        if notes:
            sys.stdout.write("\n".join(notes) + "\n")
        return
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    t.add_column("")
    t.add_column("requirement")
    t.add_column("status")
    t.add_column("rule", style="dim")
    for r in results:
        mark = (
            "[green]✓[/]"
            if r["met"]
            else ("[red]✗ overdue[/]" if r.get("overdue") else "[red]✗[/]")
        )
        stage = " (after deploy)" if r["stage"] == "post_deploy" else ""
        t.add_row(mark, r["description"] + stage, r["reason"], f"§{r['section']} {r['rule']}")
    c = console()
    c.print(t)
    if footer:
        c.print(footer)
    for note in notes or []:
        c.print(note, markup=False, highlight=False)


_MARKUP = re.compile(r"\[/?(?:green|red|yellow|cyan|dim|bold|white)?\]")


def _plain_requirements(title: str, results: list[dict[str, Any]], footer: str) -> None:
    lines = [_MARKUP.sub("", title)]
    for r in results:
        mark = "✓" if r["met"] else ("✗ overdue" if r.get("overdue") else "✗")
        stage = " (after deploy)" if r["stage"] == "post_deploy" else ""
        lines.append(
            f"  {mark} {r['description']}{stage}: {r['reason']}  [§{r['section']} {r['rule']}]"
        )
    if footer:
        lines.append(_MARKUP.sub("", footer))
    sys.stdout.write("\n".join(lines) + "\n")


def violation_notes(violations: list[dict[str, Any]]) -> list[str]:
    """One line per deployment GitHub reported that broke the policy (`status`)."""
    return [
        f"✗ policy violation: GitHub deployment {v['github_deployment']} of {v['sha'][:12]} to "
        f"{v['environment']} created by {v['creator'] or '(unknown)'}: {v['reason']}"
        for v in violations
    ]


def show_gate(out: dict[str, Any], env: str) -> None:
    """A gate verdict (`gate --json`'s dictionary) for humans, locally and remotely."""
    show_requirements(
        f"gate {out['change']} → {env} for {out['deployer']}: "
        + ("[green]OPEN[/]" if out["passed"] else "[red]CLOSED[/]")
        + (" (emergency bypass)" if out["bypass"] else ""),
        out["requirements"],
        f"{len(out['unmet'])} unmet — {out['policy']}",
    )


def show_verify(out: dict[str, Any]) -> None:
    """`audit verify` for humans, locally and remotely: the verdict, each anchor checked, and
    the head to keep outside the database as the next anchor."""
    lines: list[str] = []
    if out["ok"]:
        lines.append(
            f"audit record intact: {out['events']} events, {out['rows_checked']} records "
            f"checked, head #{out['head_seq']} {out['head_hash']}"
        )
    else:
        at = out["first_broken_event"]
        lines.append(f"AUDIT RECORD BROKEN{'' if at is None else f' at event #{at}'}:")
        lines.extend(f"  - {p}" for p in out["problems"])
    for a in out.get("anchors", []):
        lines.append(f"anchor #{a['seq']}: {'matches' if a['ok'] else 'DOES NOT MATCH'}")
    lines.extend(out.get("purged", []))
    checkpoint = out.get("checkpoint")
    if checkpoint is not None:
        lines.append(
            f"checkpoint of {checkpoint['tree_size']} events signed by {checkpoint['key']}: "
            "signature verified, today's log extends it"
            if checkpoint["ok"]
            else f"checkpoint: FAILED: {checkpoint['problem']}"
        )
    if out["ok"] and out["head_seq"]:
        lines.append(
            "keep outside the database, to detect a rewrite of the whole log later: "
            f"--anchor {out['head_seq']}:{out['head_hash']}"
        )
    sys.stdout.write("\n".join(lines) + "\n")


def show_timeline(title: str, entries: list[dict[str, Any]]) -> None:
    """Audit events: a table on a terminal, tab-separated lines into a pipe."""
    columns = ["#", "time", "actor", "action", "entity", "summary"]
    rows = [
        dict(
            zip(
                columns,
                (
                    str(e["seq"]),
                    e["ts"][:19].replace("T", " "),
                    e["actor"],
                    e["action"],
                    e["entity"],
                    e["summary"],
                ),
                strict=True,
            )
        )
        for e in entries
    ]
    show_rows(title, rows, columns)


def show_rows(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """A table on a terminal; into a pipe, the title, a header and one tab-separated line
    per row (never wrapped, greppable, and Rich is not imported)."""
    cells = [
        [
            ", ".join(v) if isinstance(v := row.get(col), list) else ("" if v is None else str(v))
            for col in columns
        ]
        for row in rows
    ]
    if not sys.stdout.isatty():
        lines = [title, "\t".join(columns)]
        lines += ["\t".join(" ".join(c.split()) for c in line) for line in cells]
        sys.stdout.write("\n".join(lines) + "\n")
        return
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for col in columns:
        t.add_column(col)
    for line in cells:
        t.add_row(*line)
    console().print(t)


def show_classification(out: dict[str, Any]) -> None:
    """`classify`: the range, its class and the requirements, then each file's rules."""
    from rich.table import Table

    c = console()
    c.print(
        f"[bold]{out['git_range']}[/bold]  {out['base'][:12]}..{out['head'][:12]}  "
        f"{len(out['files'])} file(s), {len(out['commits'])} commit(s)"
    )
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="dim")
    t.add_column()
    floor = out["minimum_class"]
    t.add_row(
        "class",
        out["class"] + (f" (the files require at least {floor})" if out["class"] != floor else ""),
    )
    t.add_row("categories", ", ".join(out["categories"]) or "-")
    if out["category"]:
        t.add_row("category", out["category"])
    t.add_row("components", ", ".join(out["components"]) or "-")
    t.add_row("flags", ", ".join(out["flags"]) or "-")
    c.print(t)
    c.print("[bold]requirements[/bold] (for this class; a high risk adds more):")
    for r in out["requirements"]:
        stage = " [dim](after deployment)[/]" if r["stage"] == "post_deploy" else ""
        c.print(f"  §{r['section']} {r['rule']}: {r['description']}{stage}")
    for r in out["other_requirements"]:
        c.print(f"  [yellow]§{r['section']} {r['rule']}[/]: {r['description']} (another category)")
    for note in out["notes"]:
        c.print(f"[yellow]note:[/] {note}")
    c.print("[bold]files[/bold]:")
    for f in out["files"]:
        rules = ", ".join(f["rules"]) or "[dim]no rule[/]"
        old = f"{f['old_path']} → " if f.get("old_path") else ""
        c.print(f"  {f['status']} {old}{f['path']}  {rules}")
