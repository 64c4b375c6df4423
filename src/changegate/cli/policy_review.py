"""`changegate policy review|status|diff`: the policy's own review cycle (§9) and what changed
between two versions, rule by rule."""

from __future__ import annotations

from typing import Any, Protocol

import click

from changegate.cli.core import Run, command, line, read_file


class Backend(Protocol):
    def review(self, by: str | None, notes: str) -> dict[str, Any]: ...
    def status(self) -> dict[str, Any]: ...


def backend(run: Run) -> Backend:
    return run.backend(  # type: ignore[no-any-return]
        "changegate.cli.local.policy_review:LocalPolicyReview",
        "changegate.cli.remote.policy_review:RemotePolicyReview",
    )


@command(name="review")
@click.option("--notes", required=True, help="What the review covered and concluded.")
@click.option("--by", help="Who reviewed (a role in policy_review.reviewer_roles).")
def policy_review(run: Run, notes: str, by: str | None) -> None:
    """Record the review of the policy in force (§9: at least annually and after significant
    changes); the next one falls due metadata.review_interval_days later.

    Example: changegate policy review --notes "annual review: no changes needed" --by artur
    """
    out = backend(run).review(by, notes)
    run.emit(out, lambda: line(f"policy {out['version']} reviewed by {out['by']} ({out['at']})"))


@command(name="status")
def policy_status(run: Run) -> int:
    """When the policy in force was last reviewed and when the next review is due; exit 1 when
    it is overdue (the date has passed, or a significant change was deployed since).

    Example: changegate policy status || echo "the policy review is due"
    """
    out = backend(run).status()

    def human() -> None:
        last = out["last_review"]
        line(f"policy {out['version']} ({out['digest'][:12]})")
        if last:
            line(f"last reviewed {last['at']} by {last['by']} (version {last['version']})")
        else:
            line("no review recorded")
        if out["problem"]:
            line(out["problem"])
        line(
            f"next review due by {out['due_by'] or 'now'}"
            + (" (OVERDUE)" if out["overdue"] else "")
        )
        for s in out["significant_changes"]:
            line(
                f"due now: {s['change']} deployed to {s['environment']} {s['deployed_at']}: {s['reason']}"
            )
        more = out["significant_count"] - len(out["significant_changes"])
        if more > 0:
            line(f"... and {more} more significant deployments since the last review")

    run.emit(out, human)
    return 1 if out["overdue"] else 0


@command(name="diff", policy=False)
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
def policy_diff(run: Run, old: str, new: str) -> int:
    """Show what changed between two policy files, rule by rule; exit 1 when they differ.

    Rules are matched by id, path rules by glob, so moving a rule is not a change.

    Example: changegate policy diff policy-v1.2.yaml policy-v1.3.yaml
    """
    from changegate.policy.diff import diff_policies, validated_document

    docs = [
        validated_document(_text(path, field), path) for path, field in ((old, "old"), (new, "new"))
    ]
    found = [d.to_dict() for d in diff_policies(docs[0], docs[1])]

    def human() -> None:
        if not found:
            line(f"{old} and {new} state the same policy")
        for d in found:
            where = f"§{d['section']} " if d["section"] else ""
            if d["change"] == "changed":
                line(f"~ {where}{d['path']}: {_short(d['old'])} -> {_short(d['new'])}")
            else:
                mark = "+" if d["change"] == "added" else "-"
                value = d["new"] if d["change"] == "added" else d["old"]
                line(f"{mark} {where}{d['path']}: {_short(value)}")

    run.emit({"old": old, "new": new, "differences": found}, human)
    return 1 if found else 0


def _text(path: str, field: str) -> str:
    from changegate.errors import InvalidInput

    try:
        return read_file(path, field).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text", field=field) from None


def _short(value: Any, limit: int = 160) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."
