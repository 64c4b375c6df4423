"""What the `ai` commands print for humans: Rich on a terminal, plain lines into a pipe or a CI
log (never wrapped at 80 columns). `--json` prints the same dictionaries."""

from __future__ import annotations

import sys
from typing import Any


def say(text: str, *, markup: bool = True) -> None:
    """One line; Rich markup (``[green]PASS[/]``) is styled on a terminal, dropped in a pipe."""
    from changegate.cli.render import _MARKUP

    if sys.stdout.isatty():
        from changegate.cli.render import console

        console().print(text, markup=markup, highlight=False, soft_wrap=True)
    else:
        sys.stdout.write((_MARKUP.sub("", text) if markup else text) + "\n")


def evidence_lines(items: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  stored {e['kind']} {e['name']}"
        + ("" if e.get("passed") is None else (" pass" if e["passed"] else " FAIL"))
        + (f" (sha256 {e['blob_sha256'][:12]})" if e.get("blob_sha256") else "")
        for e in items
    )


def verdict(out: dict[str, Any]) -> str:
    return "[green]PASS[/]" if out["passed"] else f"[red]{out['status'].upper()}[/]"


def show_classification(out: dict[str, Any]) -> None:
    """`ai classify`: the category, component, providers, findings and what the policy asks."""
    from changegate.cli.render import show_rows

    if not out["is_ai_change"]:
        say(
            "no AI configuration changed (no file matches the policy's ai.config_paths or is "
            "a LiteLLM configuration)"
        )
        return
    if not out["category"]:
        say(f"AI configuration changed, but in ways no §10.1 category covers: {out['class']}")
    else:
        also = f"; also {', '.join(out['categories'][1:])}" if len(out["categories"]) > 1 else ""
        say(f"[bold]category[/]  {out['category']} ({out['category_name']}, {out['class']}){also}")
    say(f"[bold]component[/] {out['component'] or '-'}")
    say(f"[bold]providers[/] {', '.join(out['providers']) or '-'}")
    say(f"[bold]security impact[/] {'yes' if out['security_impacting'] else 'no'}")
    for f in out["findings"]:
        tag = (
            f" [{f['category']}]" if f["category"] else ("" if f["advisory"] else " [no category]")
        )
        sec = " (security impacting)" if f["security_impacting"] else ""
        say(f"  - {f['path'] + ': ' if f['path'] else ''}{f['message']}{tag}{sec}", markup=False)
    if out["requirements"]:
        show_rows(
            f"what the policy requires of a {out['category'] or out['class']} change",
            [
                r
                | {
                    "rule": f"§{r['section']} {r['rule']}",
                    "requires": r["requires"]
                    + (" (after deploy)" if r["stage"] == "post_deploy" else "")
                    + (" (bypassed: emergency)" if r["bypassed"] else ""),
                }
                for r in out["requirements"]
            ],
            ["requires", "description", "rule"],
        )
    if out.get("change_new"):
        say(f"open it with: {out['change_new']}", markup=False)


def show_regression(change: str, out: dict[str, Any]) -> None:
    """A behavioural regression verdict: the rates, the reasons, every regressed case."""
    rep = out["report"]
    mark = "[green]PASS[/]" if out["passed"] else "[red]FAIL[/]"
    after, before = rep["after"], rep["before"]
    say(
        f"{change}: behavioural regression {mark} — suite {rep['suite']}: after "
        f"{after['passed']}/{after['total']}"
        + (f", before {before['passed']}/{before['total']}" if before else "")
        + f", tolerance {rep['tolerance']:.0%}"
    )
    lines = [f"  - {r}" for r in rep["reasons"]]
    for case in rep["cases"]:
        if not case["regressed"]:
            continue
        crit = " (critical)" if case["critical"] else ""
        lines.append(f"  regressed: {case['id']}{crit}")
        for side in ("before", "after"):
            res = case.get(side)
            if res:
                text = (res.get("output") or res.get("error") or "").replace("\n", " ")
                lines.append(f"    {side}: {text[:160]}")
    lines.append(evidence_lines(out["evidence"]))
    sys.stdout.write("\n".join(lines) + "\n")


def show_import(change: str, fmt: str, out: dict[str, Any]) -> None:
    if fmt == "garak" or out.get("phase") == "pre":
        print(
            f"{change}: {fmt} results imported"
            + (f" — {out['status']}" if "status" in out else " as pre-change results")
        )
        print(evidence_lines(out["evidence"]))
    else:
        show_regression(change, out)


def show_isolation(change: str, out: dict[str, Any]) -> None:
    say(f"{change}: tenant isolation {verdict(out)} against {out['report']['target']}")
    for r in out["report"]["reasons"]:
        print(f"  - {r}")
    print(evidence_lines(out["evidence"]))


def show_injection(change: str, out: dict[str, Any]) -> None:
    say(f"{change}: prompt-injection probes {verdict(out)} against {out['report']['target']}")
    for p in out["report"]["probes"]:
        why = f" — {'; '.join(p['evidence'])}" if p["evidence"] else ""
        print(f"  {p['status']:8} {p['id']}{why}")
    print(evidence_lines(out["evidence"]))
    v = out["validation"]
    print(f"  security-impact: {'pass' if v['passed'] else 'FAIL'} — {v['details']}")


def show_providers(out: dict[str, Any]) -> None:
    from changegate.cli.render import show_rows

    flags = {"valid": "", "expiring": "EXPIRING", "expired": "EXPIRED"}
    show_rows(
        "LLM providers",
        [r | {"flag": flags.get(r["state"], r["state"].upper())} for r in out["providers"]],
        ["provider", "display_name", "flag", "dpa_status", "expires_on", "reason"],
    )
    if out["flagged"]:
        print(
            f"{len(out['flagged'])} provider(s) need attention "
            f"(DPAs expiring within {out['warning_days']} days are flagged)"
        )
