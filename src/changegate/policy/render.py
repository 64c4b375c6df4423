"""Human rendering of a policy (CLI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from changegate.policy.schema import Policy


def render_policy(policy: Policy) -> None:
    from rich.console import Console
    from rich.table import Table

    c = Console(highlight=False)
    m = policy.metadata
    c.print(f"[bold]{m.name}[/bold] — {m.organization}  version {m.version}")
    c.print(f"effective {m.effective_date}; last updated {m.last_updated}; owner {m.owner}")
    c.print(
        f"review: {m.review_frequency} (every {m.review_interval_days} days); {m.classification}\n"
    )
    t = Table(title="change history", title_justify="left")
    for col in ("version", "date", "author", "changes"):
        t.add_column(col)
    for h in m.change_history:
        t.add_row(h.version, h.date, h.author, h.changes)
    c.print(t)
    t = Table(title="classes (§3)", title_justify="left")
    for col in ("class", "description", "pre-approved", "bypass approval", "required fields"):
        t.add_column(col)
    for name, spec in policy.classes.items():
        t.add_row(
            name,
            spec.description,
            "yes" if spec.pre_approved else "",
            "yes" if spec.bypass_approval else "",
            ", ".join(spec.required_fields),
        )
    c.print(t)
    t = Table(title="categories", title_justify="left")
    for col in ("slug", "name", "class", "AI", "component"):
        t.add_column(col)
    for slug, cat in policy.categories.items():
        t.add_row(slug, cat.name, cat.change_class, "yes" if cat.ai else "", cat.component or "")
    c.print(t)
    t = Table(title="rules", title_justify="left")
    for col in ("§", "rule", "applies when", "requires", "stage"):
        t.add_column(col)
    for r in policy.rules:
        when = ", ".join(
            f"{k}={v}" for k, v in r.when.model_dump(by_alias=True, exclude_none=True).items()
        )
        req = r.require.kind + "".join(
            f" {k}={v}"
            for k, v in r.require.model_dump(exclude_none=True, exclude={"kind"}).items()
            if not (k == "count" and v == 1)
            and not (k == "min_tests" and r.require.kind != "junit")
            and not (k == "report" and not v)
        )
        t.add_row(r.section, f"{r.id}: {r.description}", when or "always", req, r.stage)
    c.print(t)
    sod = policy.segregation_of_duties
    c.print(
        f"segregation of duties (§{sod.section}): author may approve: {sod.author_may_approve}; "
        f"distinct approvers per requirement: {sod.distinct_approvers_per_requirement}; "
        f"high-risk deployer may be approver: {sod.high_risk_deployer_may_be_approver}"
    )
    c.print(
        f"roles: {', '.join(policy.roles)}; deployers: {', '.join(policy.deploy.deployer_roles)}; "
        f"environments: {', '.join(policy.deploy.environments)}"
    )
    bound = ", ".join(policy.evidence.stale_when_changed) or "nothing"
    c.print(f"evidence (§{policy.evidence.section}): stale when {bound} changes")
    c.print(f"retention: {policy.retention.audit_years} years — {policy.retention.statement}")
