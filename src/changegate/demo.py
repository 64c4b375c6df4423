"""`changegate demo`: the whole flow on a fresh database, through the same services the CLI uses."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from changegate.changes.schemas import ChangeCreate
from changegate.db import make_engine, session_scope
from changegate.errors import PolicyDenied
from changegate.policy.loader import load_policy
from changegate.policy.schema import Policy

T = TypeVar("T")

JUNIT_OK = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="checkout-service">
  <testsuite name="tests.test_checkout" tests="3" failures="0" errors="0" skipped="0">
    <testcase classname="tests.test_checkout" name="test_total" time="0.01"/>
    <testcase classname="tests.test_checkout" name="test_tax" time="0.02"/>
    <testcase classname="tests.test_checkout" name="test_refund" time="0.01"/>
  </testsuite>
</testsuites>
"""


def run_demo(
    *, db_url: str | None = None, policy_path: Path | None = None, verbose: bool = True
) -> dict[str, Any]:
    from rich.console import Console

    from changegate.audit.service import timeline
    from changegate.audit.verify import verify
    from changegate.changes import service as changes
    from changegate.deployments import service as deployments
    from changegate.evidence import service as evidence
    from changegate.incidents import service as incidents
    from changegate.migrate import upgrade
    from changegate.policy.service import ensure_recorded
    from changegate.reviews import service as reviews
    from changegate.users.service import add_user

    console = Console(highlight=False, quiet=not verbose)
    tmp = None
    if db_url is None:
        tmp = tempfile.mkdtemp(prefix="changegate-demo-")
        db_url = f"sqlite:///{tmp}/demo.db"
    engine = make_engine(db_url)
    upgrade(engine)
    loaded = load_policy(policy_path)
    policy = loaded.policy

    def step(label: str, fn: Callable[[Session, Policy], T]) -> T:
        with session_scope(engine) as s:
            ensure_recorded(s, loaded)
            result = fn(s, policy)
        console.print(f"  [green]✓[/] {label}")
        return result

    def gate_step(label: str, key: str, env: str, who: str) -> bool:
        with session_scope(engine) as s:
            res = deployments.gate(
                s, policy, changes.get_change(s, key, lock=True), env=env, deployer=who
            )
        mark = "[green]OPEN[/]" if res.passed else "[red]CLOSED[/]"
        console.print(
            f"  gate {key} → {env} for {who}: {mark}"
            + (" (emergency bypass)" if res.bypass else "")
        )
        for r in res.unmet:
            console.print(f"      [red]✗[/] {r.reason}  [dim]({r.policy})[/]")
        return res.passed

    console.print(f"[bold]changegate demo[/] — database {db_url}\n policy {policy.label}\n")
    for name, roles in (
        ("alice", ["engineer"]),
        ("bob", ["engineer"]),
        ("sam", ["security", "engineer"]),
        ("carol", ["deployer"]),
        ("artur", ["cto"]),
        ("dana", ["engineer", "deployer"]),
        ("ci-bot", ["ci"]),  # the pipeline's service account: only its test results count
    ):
        with session_scope(engine) as s:
            ensure_recorded(s, loaded)
            add_user(s, policy, name=name, roles=roles)
        console.print(f"  [green]✓[/] user {name} ({', '.join(roles)})")

    risk_low = {
        "availability": {"level": "low", "note": "behind a feature flag"},
        "security": {"level": "low", "note": ""},
        "data": {"level": "low", "note": ""},
    }
    console.print("\n[bold]1. A normal change[/]: review, tests, staging, gate, deploy, rollback")
    normal = step(
        "alice creates the change",
        lambda s, p: changes.create_change(
            s,
            p,
            ChangeCreate(
                title="Checkout: round tax per line item",
                change_class="normal",
                author="alice",
                description="Round VAT per line instead of per order, as finance asked.",
                components=["application"],
                risk=risk_low,
                rollback_plan="Redeploy the previous version; no data migration.",
                links=["https://github.com/example/shop/pull/42"],
                commits=["3f2a9c1d5e7b4a6c8d0e2f4a6b8c0d2e4f6a8b0c"],
            ),
        ),
    ).key
    step(
        f"{normal} submitted",
        lambda s, p: changes.submit_change(s, p, changes.get_change(s, normal), actor="alice"),
    )
    gate_step("before review", normal, "production", "carol")
    step(
        "bob approves",
        lambda s, p: reviews.approve(
            s, p, changes.get_change(s, normal), actor="bob", comment="LGTM"
        ),
    )
    step(
        "CI attaches JUnit results (3 passed)",
        lambda s, p: evidence.add_junit(
            s,
            p,
            changes.get_change(s, normal),
            content=JUNIT_OK,
            filename="junit.xml",
            actor="ci-bot",
        ),
    )
    step(
        "staging validation passes",
        lambda s, p: evidence.add_validation(
            s,
            p,
            changes.get_change(s, normal),
            name="staging",
            result="pass",
            details="smoke tests green",
            actor="ci-bot",
        ),
    )
    gate_step("after evidence", normal, "production", "carol")
    step(
        "carol deploys v1.4.2 to production",
        lambda s, p: deployments.deploy(
            s,
            p,
            changes.get_change(s, normal, lock=True),
            env="production",
            version="v1.4.2",
            actor="carol",
        ),
    )
    step(
        "carol rolls back to v1.4.1",
        lambda s, p: deployments.rollback(
            s,
            p,
            changes.get_change(s, normal, lock=True),
            env="production",
            to_version="v1.4.1",
            reason="error rate above 2% after deploy",
            actor="carol",
        ),
    )

    console.print(
        "\n[bold]2. An emergency change[/]: bypass, retrospective and post-incident review"
    )
    emergency = step(
        "dana opens an emergency change",
        lambda s, p: changes.create_change(
            s,
            p,
            ChangeCreate(
                title="Disable vulnerable XML endpoint",
                change_class="emergency",
                author="dana",
                description="CVE in the XML parser is being exploited; turn the endpoint off.",
                components=["application"],
                risk={
                    "availability": {"level": "medium", "note": "endpoint unavailable"},
                    "security": {"level": "high", "note": "active exploitation"},
                    "data": {"level": "low", "note": ""},
                },
                rollback_plan="Re-enable the endpoint flag.",
                justification="Active exploitation of CVE-2026-0001 seen in WAF logs",
            ),
        ),
    ).key
    step(
        f"{emergency} submitted",
        lambda s, p: changes.submit_change(s, p, changes.get_change(s, emergency), actor="dana"),
    )
    gate_step("emergency", emergency, "production", "carol")
    step(
        "carol deploys hotfix-1 (approval bypassed, recorded)",
        lambda s, p: deployments.deploy(
            s,
            p,
            changes.get_change(s, emergency, lock=True),
            env="production",
            version="hotfix-1",
            actor="carol",
        ),
    )
    with session_scope(engine, write=False) as s:
        pending = incidents.pending_reviews(s, policy)
    for o in pending:
        console.print(f"  retrospective review of {o.change.key} due {o.due:%Y-%m-%d %H:%M} UTC")
    step(
        "sam records the retrospective and post-incident review",
        lambda s, p: incidents.review_emergency(
            s,
            p,
            changes.get_change(s, emergency),
            actor="sam",
            root_cause="Unpatched XML parser dependency",
            actions_taken="Endpoint disabled, parser upgraded",
            preventive_controls="Dependency scanning gate in CI",
        ),
    )

    console.print("\n[bold]3. An AI system prompt change[/]: blocked until the CTO signs off")
    prompt = step(
        "alice changes the Persona Engine system prompt",
        lambda s, p: changes.create_change(
            s,
            p,
            ChangeCreate(
                title="Persona Engine: tighten refusal instructions",
                change_class="normal",
                category="system-prompt-change",
                author="alice",
                description="Clarify refusal wording in the persona system prompt.",
                ai_component="persona-engine",
                risk={
                    "availability": {"level": "low", "note": ""},
                    "security": {"level": "medium", "note": "prompt injection surface"},
                    "data": {"level": "low", "note": ""},
                },
                rollback_plan="Restore the previous prompt template version.",
            ),
        ),
    ).key
    step(
        f"{prompt} submitted",
        lambda s, p: changes.submit_change(s, p, changes.get_change(s, prompt), actor="alice"),
    )
    step(
        "bob approves (peer review)",
        lambda s, p: reviews.approve(s, p, changes.get_change(s, prompt), actor="bob"),
    )
    step(
        "sam approves (security scrutiny)",
        lambda s, p: reviews.approve(s, p, changes.get_change(s, prompt), actor="sam"),
    )
    for name in ("behavioral-regression", "tenant-isolation", "security-impact", "staging"):
        step(
            f"validation {name} passes, with its report",
            partial(_validation, key=prompt, name=name),
        )
    for kind in ("behavioral-results-pre", "behavioral-results-post"):
        step(
            f"document {kind} attached",
            partial(_document, key=prompt, kind=kind),
        )
    step(
        "JUnit results attached",
        lambda s, p: evidence.add_junit(
            s,
            p,
            changes.get_change(s, prompt),
            content=JUNIT_OK,
            filename="junit.xml",
            actor="ci-bot",
        ),
    )
    blocked = not gate_step("without CTO sign-off", prompt, "production", "carol")
    step(
        "artur (CTO) signs off",
        lambda s, p: reviews.approve(
            s, p, changes.get_change(s, prompt), actor="artur", comment="CTO sign-off (§10.1)"
        ),
    )
    opened = gate_step("with CTO sign-off", prompt, "production", "carol")

    console.print(
        "\n[bold]4. A standard change[/]: a pre-approved procedure from the policy's catalogue"
    )
    deps = step(
        "dana files a dependency update (catalogue entry dependency-update)",
        lambda s, p: changes.create_change(
            s,
            p,
            ChangeCreate(
                title="Bump httpx to 0.28.1",
                change_class="standard",
                category="dependency-update",
                author="dana",
                description="Patch release; lock file only.",
                components=["application"],
                risk=risk_low,
                rollback_plan="Revert the lock file.",
            ),
        ),
    ).key
    step(
        f"{deps} submitted: pre-approved by its procedure",
        lambda s, p: changes.submit_change(s, p, changes.get_change(s, deps), actor="dana"),
    )
    gate_step("standard change", deps, "production", "carol")
    refused = ""
    try:
        step(
            "dana files an IAM change as 'standard'",
            lambda s, p: changes.create_change(
                s,
                p,
                ChangeCreate(
                    title="Widen the deploy role",
                    change_class="standard",
                    category="configuration-tuning",
                    author="dana",
                    description="Let the deploy role read every bucket.",
                    components=["iam"],
                    risk={**risk_low, "security": {"level": "high", "note": "wider access"}},
                    rollback_plan="Restore the previous role policy.",
                ),
            ),
        )
    except PolicyDenied as exc:
        refused = exc.message
        console.print(f"  [red]✗[/] refused, nothing written: {exc.message}")

    with session_scope(engine, write=False) as s:
        for key in (normal, emergency, prompt, deps):
            rows = timeline(s, change_key=key)
            from rich.table import Table

            t = Table(title=f"timeline of {key}", title_justify="left")
            for col in ("#", "time", "actor", "action", "summary"):
                t.add_column(col)
            for e in rows:
                t.add_row(str(e.seq), e.ts[11:19], e.actor, e.action, e.summary)
            console.print(t)
        report = verify(s)
    console.print(
        f"\naudit verify: {'[green]intact[/]' if report.ok else '[red]BROKEN[/]'} — "
        f"{report.events} events, {report.rows_checked} records checked"
    )
    engine.dispose()
    return {
        "ok": report.ok and blocked and opened and bool(refused),
        "db": db_url,
        "changes": [normal, emergency, prompt, deps],
        "standard_outside_catalogue_refused": refused,
        "prompt_change_blocked_without_cto": blocked,
        "prompt_change_open_after_cto": opened,
        "audit": report.to_dict(),
    }


def _validation(s: Session, p: Policy, *, key: str, name: str) -> Any:
    from changegate.changes.service import get_change
    from changegate.evidence.service import add_validation

    report = f'{{"validation": "{name}", "result": "pass", "reviewer": "sam"}}'.encode()
    return add_validation(
        s,
        p,
        get_change(s, key),
        name=name,
        result="pass",
        actor="ci-bot" if name == "staging" else "sam",  # staging counts from CI (policy)
        report=report,  # the AI review steps count only with their report (§10.2)
        report_filename=f"{name}.json",
    )


def _document(s: Session, p: Policy, *, key: str, kind: str) -> Any:
    from changegate.changes.service import get_change
    from changegate.evidence.service import add_document

    content = f'{{"suite": "persona", "phase": "{kind}"}}'.encode()
    return add_document(
        s, p, get_change(s, key), content=content, filename=f"{kind}.json", kind=kind, actor="sam"
    )
