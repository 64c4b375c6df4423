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
from changegate.policy.loader import LoadedPolicy, load_policy
from changegate.policy.schema import Policy

T = TypeVar("T")
Step = Callable[[Session, Policy], T]

JUNIT_OK = b"""<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="checkout-service">
  <testsuite name="tests.test_checkout" tests="3" failures="0" errors="0" skipped="0">
    <testcase classname="tests.test_checkout" name="test_total" time="0.01"/>
    <testcase classname="tests.test_checkout" name="test_tax" time="0.02"/>
    <testcase classname="tests.test_checkout" name="test_refund" time="0.01"/>
  </testsuite>
</testsuites>
"""

USERS = (
    ("alice", ["engineer"]),
    ("bob", ["engineer"]),
    ("sam", ["security", "engineer"]),
    ("carol", ["deployer"]),
    ("artur", ["cto"]),
    ("dana", ["engineer", "deployer"]),
    ("ci-bot", ["ci"]),  # the pipeline's service account: only its test results count
)


def _risk(availability: str, security: str, data: str = "low") -> dict[str, Any]:
    """A risk assessment from (level, note) pairs written as "level: note"."""
    dims = {"availability": availability, "security": security, "data": data}
    out: dict[str, Any] = {}
    for dim, text in dims.items():
        level, _, note = text.partition(": ")
        out[dim] = {"level": level, "note": note}
    return out


def _on(fn: Callable[..., T], key: str, *, lock: bool = False, **kwargs: Any) -> Step[T]:
    """A step that calls a service on change `key`, fetched as the CLI fetches it."""

    def call(s: Session, p: Policy) -> T:
        from changegate.changes.service import get_change

        return fn(s, p, get_change(s, key, lock=lock), **kwargs)

    return call


def _create(spec: ChangeCreate) -> Step[Any]:
    from changegate.changes.service import create_change

    return lambda s, p: create_change(s, p, spec)


class _Demo:
    """The demo's database, policy and console; each step runs in its own transaction."""

    def __init__(self, engine: Any, loaded: LoadedPolicy, console: Any) -> None:
        self.engine, self.loaded, self.console = engine, loaded, console
        self.policy = loaded.policy

    def step(self, label: str, fn: Step[T]) -> T:
        from changegate.policy.service import ensure_recorded

        with session_scope(self.engine) as s:
            ensure_recorded(s, self.loaded)
            result = fn(s, self.policy)
        self.console.print(f"  [green]✓[/] {label}")
        return result

    def gate(self, label: str, key: str, env: str, who: str) -> bool:
        from changegate.changes.service import get_change
        from changegate.deployments.service import gate

        with session_scope(self.engine) as s:
            res = gate(s, self.policy, get_change(s, key, lock=True), env=env, deployer=who)
        mark = "[green]OPEN[/]" if res.passed else "[red]CLOSED[/]"
        self.console.print(
            f"  gate {key} → {env} for {who}: {mark}"
            + (" (emergency bypass)" if res.bypass else "")
        )
        for r in res.unmet:
            self.console.print(f"      [red]✗[/] {r.reason}  [dim]({r.policy})[/]")
        return res.passed

    def file(self, label: str, spec: ChangeCreate, *, submitted: str = "submitted") -> str:
        """Create a change and submit it as its author; return its key."""
        from changegate.changes.service import submit_change

        key: str = self.step(label, _create(spec)).key
        self.step(f"{key} {submitted}", _on(submit_change, key, actor=spec.author))
        return key

    def junit(self, label: str, key: str) -> None:
        from changegate.evidence.service import add_junit

        self.step(
            label,
            _on(add_junit, key, content=JUNIT_OK, filename="junit.xml", actor="ci-bot"),
        )

    def deploy(self, label: str, key: str, version: str) -> None:
        from changegate.deployments.service import deploy

        self.step(
            label, _on(deploy, key, lock=True, env="production", version=version, actor="carol")
        )

    def timelines(self, keys: list[str]) -> Any:
        """Print each change's timeline; return the audit verification report."""
        from rich.table import Table

        from changegate.audit.service import timeline
        from changegate.audit.verify import verify

        with session_scope(self.engine, write=False) as s:
            for key in keys:
                t = Table(title=f"timeline of {key}", title_justify="left")
                for col in ("#", "time", "actor", "action", "summary"):
                    t.add_column(col)
                for e in timeline(s, change_key=key):
                    t.add_row(str(e.seq), e.ts[11:19], e.actor, e.action, e.summary)
                self.console.print(t)
            return verify(s)


def run_demo(
    *, db_url: str | None = None, policy_path: Path | None = None, verbose: bool = True
) -> dict[str, Any]:
    from rich.console import Console

    from changegate.deployments import service as deployments
    from changegate.evidence import service as evidence
    from changegate.incidents import service as incidents
    from changegate.migrate import upgrade
    from changegate.reviews import service as reviews
    from changegate.users.service import add_user

    console = Console(highlight=False, quiet=not verbose)
    if db_url is None:
        db_url = f"sqlite:///{tempfile.mkdtemp(prefix='changegate-demo-')}/demo.db"
    engine = make_engine(db_url)
    upgrade(engine)
    demo = _Demo(engine, load_policy(policy_path), console)
    policy, step, gate_step = demo.policy, demo.step, demo.gate

    console.print(f"[bold]changegate demo[/] — database {db_url}\n policy {policy.label}\n")
    for name, roles in USERS:
        step(f"user {name} ({', '.join(roles)})", partial(add_user, name=name, roles=roles))

    risk_low = _risk("low: behind a feature flag", "low")
    console.print("\n[bold]1. A normal change[/]: review, tests, staging, gate, deploy, rollback")
    normal = demo.file(
        "alice creates the change",
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
    )
    gate_step("before review", normal, "production", "carol")
    step("bob approves", _on(reviews.approve, normal, actor="bob", comment="LGTM"))
    demo.junit("CI attaches JUnit results (3 passed)", normal)
    step(
        "staging validation passes",
        _on(
            evidence.add_validation,
            normal,
            name="staging",
            result="pass",
            details="smoke tests green",
            actor="ci-bot",
        ),
    )
    gate_step("after evidence", normal, "production", "carol")
    demo.deploy("carol deploys v1.4.2 to production", normal, "v1.4.2")
    step(
        "carol rolls back to v1.4.1",
        _on(
            deployments.rollback,
            normal,
            lock=True,
            env="production",
            to_version="v1.4.1",
            reason="error rate above 2% after deploy",
            actor="carol",
        ),
    )

    console.print(
        "\n[bold]2. An emergency change[/]: bypass, retrospective and post-incident review"
    )
    emergency = demo.file(
        "dana opens an emergency change",
        ChangeCreate(
            title="Disable vulnerable XML endpoint",
            change_class="emergency",
            author="dana",
            description="CVE in the XML parser is being exploited; turn the endpoint off.",
            components=["application"],
            risk=_risk("medium: endpoint unavailable", "high: active exploitation"),
            rollback_plan="Re-enable the endpoint flag.",
            justification="Active exploitation of CVE-2026-0001 seen in WAF logs",
        ),
    )
    gate_step("emergency", emergency, "production", "carol")
    demo.deploy("carol deploys hotfix-1 (approval bypassed, recorded)", emergency, "hotfix-1")
    with session_scope(engine, write=False) as s:
        pending = incidents.pending_reviews(s, policy)
    for o in pending:
        console.print(f"  retrospective review of {o.change.key} due {o.due:%Y-%m-%d %H:%M} UTC")
    step(
        "sam records the retrospective and post-incident review",
        _on(
            incidents.review_emergency,
            emergency,
            actor="sam",
            root_cause="Unpatched XML parser dependency",
            actions_taken="Endpoint disabled, parser upgraded",
            preventive_controls="Dependency scanning gate in CI",
        ),
    )

    console.print("\n[bold]3. An AI system prompt change[/]: blocked until the CTO signs off")
    prompt = demo.file(
        "alice changes the Persona Engine system prompt",
        ChangeCreate(
            title="Persona Engine: tighten refusal instructions",
            change_class="normal",
            category="system-prompt-change",
            author="alice",
            description="Clarify refusal wording in the persona system prompt.",
            ai_component="persona-engine",
            risk=_risk("low", "medium: prompt injection surface"),
            rollback_plan="Restore the previous prompt template version.",
        ),
    )
    step("bob approves (peer review)", _on(reviews.approve, prompt, actor="bob"))
    step("sam approves (security scrutiny)", _on(reviews.approve, prompt, actor="sam"))
    for name in ("behavioral-regression", "tenant-isolation", "security-impact", "staging"):
        step(
            f"validation {name} passes, with its report",
            partial(_validation, key=prompt, name=name),
        )
    for kind in ("behavioral-results-pre", "behavioral-results-post"):
        step(f"document {kind} attached", partial(_document, key=prompt, kind=kind))
    demo.junit("JUnit results attached", prompt)
    blocked = not gate_step("without CTO sign-off", prompt, "production", "carol")
    step(
        "artur (CTO) signs off",
        _on(reviews.approve, prompt, actor="artur", comment="CTO sign-off (§10.1)"),
    )
    opened = gate_step("with CTO sign-off", prompt, "production", "carol")

    console.print(
        "\n[bold]4. A standard change[/]: a pre-approved procedure from the policy's catalogue"
    )
    deps = demo.file(
        "dana files a dependency update (catalogue entry dependency-update)",
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
        submitted="submitted: pre-approved by its procedure",
    )
    gate_step("standard change", deps, "production", "carol")
    refused = ""
    try:
        step(
            "dana files an IAM change as 'standard'",
            _create(
                ChangeCreate(
                    title="Widen the deploy role",
                    change_class="standard",
                    category="configuration-tuning",
                    author="dana",
                    description="Let the deploy role read every bucket.",
                    components=["iam"],
                    risk={**risk_low, "security": {"level": "high", "note": "wider access"}},
                    rollback_plan="Restore the previous role policy.",
                )
            ),
        )
    except PolicyDenied as exc:
        refused = exc.message
        console.print(f"  [red]✗[/] refused, nothing written: {exc.message}")

    report = demo.timelines([normal, emergency, prompt, deps])
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
