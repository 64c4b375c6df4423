"""`changegate ai ...`: AI/GenAI governance (policy §10).

Checks that talk to a model or a service run outside any database transaction (they take
seconds to minutes); the command first checks, read-only, that the evidence may be attached,
then stores the outcome in one write transaction. A failed check exits 1 after its evidence
is stored, so a pipeline fails and the record still shows why.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from changegate.cli.context import (
    DbOpt,
    JsonOpt,
    Opts,
    PolicyOpt,
    emit,
    guarded,
    loaded_policy,
    read_file,
    transaction,
)

if TYPE_CHECKING:
    from changegate.ai.classification import AiChangeClassification
    from changegate.policy.schema import Policy

ChangeOpt = Annotated[
    str, typer.Option("--change", help="The change the evidence belongs to, e.g. CHG-1.")
]
ByOpt = Annotated[str, typer.Option("--by", help="Who records the evidence.")]
ModelOpt = Annotated[
    str | None,
    typer.Option("--model", help="Model name sent to a chat completions URL, e.g. gpt-4o-mini."),
]
InterfaceOpt = Annotated[
    str,
    typer.Option(
        "--interface",
        help="chat (chat completions URL or module:function) or rag (a RAG service: "
        "POST /ingest, /query).",
    ),
]
ApiKeyEnvOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key-env", help="Environment variable holding the API key (never the key itself)."
    ),
]


def _with_change(o: Opts, change: str, fn: Any) -> Any:
    """One write transaction on the locked change: ``fn(session, policy, change)``."""
    from changegate.changes.service import get_change

    with transaction(o) as (s, pol):
        return fn(s, pol, get_change(s, change, lock=True))


def _preflight(o: Opts, change: str, by: str) -> Policy:
    """Refuse before a long check what storing its evidence would refuse."""
    from changegate.ai.service import check_can_attach
    from changegate.changes.service import get_change

    with transaction(o, write=False) as (s, pol):
        check_can_attach(s, pol, get_change(s, change), actor=by)
    return pol


def _evidence_lines(items: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  stored {e['kind']} {e['name']}"
        + ("" if e.get("passed") is None else (" pass" if e["passed"] else " FAIL"))
        + (f" (sha256 {e['blob_sha256'][:12]})" if e.get("blob_sha256") else "")
        for e in items
    )


def _read_text(path: Path, field: str) -> str:
    from changegate.errors import InvalidInput

    try:
        return read_file(path, field).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"--{field} {path}: not UTF-8 text", field=field) from exc


def _tree(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def _repo_path(path: Path, policy: Policy, given: str | None) -> str:
    """The repository path the policy's globs see: ``--path``, else the first tail of the
    file's own path that an AI glob matches (``/tmp/new/config/litellm.yaml`` →
    ``config/litellm.yaml``), else the file's name (its content may still make it AI
    configuration: a LiteLLM config is recognised whatever its name)."""
    from changegate.ai.paths import AiPathConfig
    from changegate.policy.snapshot import as_data

    if given:
        return given
    config = AiPathConfig.from_mapping(as_data(policy.ai.config_paths))
    parts = path.resolve().parts
    for i in range(len(parts)):
        candidate = "/".join(parts[i:])
        if config.kind_of(candidate) is not None:
            return candidate
    return path.name


def _file_changes(
    before: Path | None, after: Path | None, path: str | None, policy: Policy
) -> list[tuple[str, str | None, str | None]]:
    from changegate.ai.classify import require_ai_file
    from changegate.ai.paths import AiPathConfig
    from changegate.errors import InvalidInput
    from changegate.policy.snapshot import as_data

    if before is None or after is None:
        raise InvalidInput(
            "give --before OLD --after NEW (two files or two directories), or --git-range "
            "BASE..HEAD",
            field="before",
        )
    for p, opt in ((before, "before"), (after, "after")):
        if not p.exists():
            raise InvalidInput(f"--{opt} {p}: no such file or directory", field=opt)
    if before.is_dir() != after.is_dir():
        raise InvalidInput("--before and --after must both be files or both directories")
    if not before.is_dir():
        repo = _repo_path(after, policy, path)
        old, new = _read_text(before, "before"), _read_text(after, "after")
        # a single file is given as AI configuration: one that is none is refused, not passed
        require_ai_file(repo, old, new, AiPathConfig.from_mapping(as_data(policy.ai.config_paths)))
        return [(repo, old, new)]
    old_tree, new_tree = _tree(before), _tree(after)
    out: list[tuple[str, str | None, str | None]] = []
    for rel in sorted(set(old_tree) | set(new_tree)):
        a = old_tree[rel].read_bytes() if rel in old_tree else None
        b = new_tree[rel].read_bytes() if rel in new_tree else None
        if a == b:
            continue
        try:
            out.append((rel, None if a is None else a.decode(), None if b is None else b.decode()))
        except UnicodeDecodeError:
            continue  # binary files are never AI configuration
    return out


def _git_changes(git_range: str, repo: Path) -> list[tuple[str, str | None, str | None]]:
    from changegate.scm.gitrepo import GitRepo

    out: list[tuple[str, str | None, str | None]] = []
    for f in GitRepo(repo).changed_files(git_range, contents=True):
        try:
            old = None if f.old_content is None else f.old_content.decode()
            new = None if f.new_content is None else f.new_content.decode()
        except UnicodeDecodeError:
            continue
        if f.old_path and f.old_path != f.path:
            out.append((f.old_path, old, None))  # moving a prompt out of prompts/ counts too
            out.append((f.path, None, new))
        else:
            out.append((f.path, old, new))
    return out


def _show_classification(out: dict[str, Any]) -> None:
    from changegate.cli.render import console, show_rows

    c = console()
    if not out["is_ai_change"]:
        c.print(
            "no AI configuration changed (no file matches the policy's ai.config_paths or is "
            "a LiteLLM configuration)"
        )
        return
    if not out["category"]:
        c.print(f"AI configuration changed, but in ways no §10.1 category covers: {out['class']}")
    else:
        c.print(
            f"[bold]category[/]  {out['category']} ({out['category_name']}, {out['class']})"
            + (f"; also {', '.join(out['categories'][1:])}" if len(out["categories"]) > 1 else "")
        )
    c.print(f"[bold]component[/] {out['component'] or '-'}")
    c.print(f"[bold]providers[/] {', '.join(out['providers']) or '-'}")
    c.print(f"[bold]security impact[/] {'yes' if out['security_impacting'] else 'no'}")
    for f in out["findings"]:
        tag = (
            f" [{f['category']}]" if f["category"] else ("" if f["advisory"] else " [no category]")
        )
        sec = " (security impacting)" if f["security_impacting"] else ""
        c.print(
            f"  - {f['path'] + ': ' if f['path'] else ''}{f['message']}{tag}{sec}", markup=False
        )
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
        c.print(f"open it with: {out['change_new']}", markup=False, soft_wrap=True)


def _classify(
    policy: Policy, files: list[tuple[str, str | None, str | None]], incident: bool
) -> tuple[AiChangeClassification, dict[str, Any]]:
    from changegate.ai.classify import classify_files
    from changegate.ai.litellm_config import LiteLLMRules
    from changegate.ai.paths import AiPathConfig
    from changegate.ai.requirements import classification_report
    from changegate.policy.snapshot import as_data

    config = AiPathConfig.from_mapping(as_data(policy.ai.config_paths))
    rules = LiteLLMRules.from_policy(policy.ai.litellm)
    result = classify_files(files, config, incident=incident, rules=rules)
    return result, classification_report(policy, result, incident=incident)


def register(app: typer.Typer) -> None:
    ai_app = typer.Typer(
        help="AI/GenAI governance (policy §10): classify AI changes, the provider register, "
        "behavioural regression, tenant isolation, prompt injection and security evidence.",
        no_args_is_help=True,
    )
    provider_app = typer.Typer(
        help="LLM providers and their Data Processing Agreements (§10.2).", no_args_is_help=True
    )
    app.add_typer(ai_app, name="ai")
    ai_app.add_typer(provider_app, name="provider")

    # --- classification -----------------------------------------------------------------

    @ai_app.command("classify")
    def ai_classify(
        before: Annotated[
            Path | None, typer.Option("--before", help="The old file or directory.")
        ] = None,
        after: Annotated[
            Path | None, typer.Option("--after", help="The new file or directory.")
        ] = None,
        path: Annotated[
            str | None,
            typer.Option(
                "--path", help="Repository path of a single file, for the policy's globs."
            ),
        ] = None,
        git_range: Annotated[
            str | None,
            typer.Option("--git-range", help="BASE..HEAD (or BASE...HEAD) of --repo instead."),
        ] = None,
        repo: Annotated[Path, typer.Option("--repo", help="Git repository (--git-range).")] = Path(
            "."
        ),
        incident: Annotated[
            bool,
            typer.Option("--incident", help="The change responds to an outage or security event."),
        ] = False,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Name the §10.1 category, component, providers and security impact of an AI config change, and what the policy requires of it.

        Reads two versions of LiteLLM router configs, prompt templates, RAG and content-filter
        configs (the policy's ai.config_paths; a LiteLLM config is also recognised by its
        content, whatever its name). What no category covers is class normal. Needs no database.

        Example: changegate ai classify --before old/config/litellm.yaml --after config/litellm.yaml
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.errors import InvalidInput

            pol = loaded_policy(o).policy
            if git_range:
                if before or after:
                    raise InvalidInput(
                        "give either --git-range or --before/--after, not both", field="git_range"
                    )
                files = _git_changes(git_range, repo)
            else:
                files = _file_changes(before, after, path, pol)
            _, out = _classify(pol, files, incident)
            emit(o, out, lambda: _show_classification(out))

        guarded(o, body)

    # --- provider register --------------------------------------------------------------

    @provider_app.command("add")
    def provider_add(
        name: Annotated[str, typer.Argument(help="Provider id as in LiteLLM, e.g. openai.")],
        display_name: Annotated[
            str, typer.Option("--display-name", help="e.g. 'OpenAI, L.L.C.'.")
        ] = "",
        notes: Annotated[str, typer.Option("--notes")] = "",
        by: Annotated[
            str | None,
            typer.Option("--by", help="Who adds it (needs ai.provider.manage); default: system."),
        ] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Add an LLM provider to the register; its DPA starts as none, so the gate refuses it until one is recorded.

        Example: changegate ai provider add anthropic --display-name "Anthropic PBC"
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.ai.providers import add_provider

            with transaction(o) as (s, pol):
                p = add_provider(
                    s, pol, name=name, actor=by, display_name=display_name, notes=notes
                )
                out = p.audit_state()
            emit(o, out, lambda: print(f"provider {out['name']} added; DPA: none"))

        guarded(o, body)

    @provider_app.command("dpa")
    def provider_dpa(
        name: str,
        status: Annotated[
            str, typer.Option("--status", help="signed | pending | terminated | none.")
        ],
        by: ByOpt,
        signed: Annotated[
            str | None, typer.Option("--signed", help="Date signed, YYYY-MM-DD.")
        ] = None,
        expires: Annotated[
            str | None, typer.Option("--expires", help="Expiry date, YYYY-MM-DD.")
        ] = None,
        document: Annotated[
            Path | None, typer.Option("--document", help="The signed DPA, stored by SHA-256.")
        ] = None,
        notes: Annotated[str | None, typer.Option("--notes")] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Record a provider's Data Processing Agreement: status, dates and the signed document.

        Example: changegate ai provider dpa anthropic --status signed --signed 2026-01-10 --expires 2027-01-10 --document dpa.pdf --by artur
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.ai.providers import (
                dpa_state,
                get_provider,
                parse_day,
                record_dpa,
            )
            from changegate.db import utcnow

            content = read_file(document, "document") if document else None
            signed_on, expires_on = parse_day(signed, "signed"), parse_day(expires, "expires")
            with transaction(o) as (s, pol):
                p = record_dpa(
                    s,
                    pol,
                    get_provider(s, name, lock=True),
                    status=status,
                    actor=by,
                    signed_on=signed_on,
                    expires_on=expires_on,
                    content=content,
                    filename=document.name if document else None,
                    notes=notes,
                )
                state = dpa_state(
                    p, p.name, today=utcnow().date(), warning_days=pol.ai.dpa_warning_days
                )
                out = p.audit_state() | {"dpa": state.to_dict()}
            emit(o, out, lambda: print(state.reason))

        guarded(o, body)

    @provider_app.command("list")
    def provider_list(json: JsonOpt = False, db: DbOpt = None, policy: PolicyOpt = None) -> None:
        """List providers with their DPA state; expired and soon-expiring DPAs are flagged.

        Example: changegate ai provider list --json
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.ai.providers import list_providers, provider_states
            from changegate.cli.render import show_rows

            with transaction(o, write=False) as (s, pol):
                names = {p.name: p.display_name for p in list_providers(s)}
                states = [st.to_dict() for st in provider_states(s, pol)]
                warn = pol.ai.dpa_warning_days
            rows = [st | {"display_name": names.get(st["provider"], "")} for st in states]
            flagged = [r for r in rows if r["state"] != "valid"]
            out = {"providers": rows, "flagged": flagged, "warning_days": warn}

            def human() -> None:
                show_rows(
                    "LLM providers",
                    [
                        r
                        | {
                            "flag": {
                                "valid": "",
                                "expiring": "EXPIRING",
                                "expired": "EXPIRED",
                            }.get(r["state"], r["state"].upper())
                        }
                        for r in rows
                    ],
                    ["provider", "display_name", "flag", "dpa_status", "expires_on", "reason"],
                )
                if flagged:
                    print(
                        f"{len(flagged)} provider(s) need attention "
                        f"(DPAs expiring within {warn} days are flagged)"
                    )

            emit(o, out, human)

        guarded(o, body)

    # --- behavioural regression ---------------------------------------------------------

    @ai_app.command("regress")
    def ai_regress(
        suite: Annotated[Path, typer.Argument(help="Regression suite (YAML).")],
        target: Annotated[
            str, typer.Option("--target", help="After the change: URL or module:function.")
        ],
        change: ChangeOpt,
        by: ByOpt,
        model: ModelOpt = None,
        system_prompt: Annotated[
            Path | None,
            typer.Option("--system-prompt", help="System prompt file sent to a chat URL."),
        ] = None,
        before_target: Annotated[
            str | None,
            typer.Option("--before-target", help="Before the change (default: --target)."),
        ] = None,
        before_model: Annotated[
            str | None, typer.Option("--before-model", help="Model before the change.")
        ] = None,
        before_system_prompt: Annotated[
            Path | None,
            typer.Option("--before-system-prompt", help="System prompt file before the change."),
        ] = None,
        phase: Annotated[
            str,
            typer.Option(
                "--phase",
                help="post: compare with the configuration before (--before-*) or the stored "
                "pre-change results; pre: only record --target as the baseline.",
            ),
        ] = "post",
        interface: InterfaceOpt = "chat",
        api_key_env: ApiKeyEnvOpt = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Run a behavioural regression suite before and after a change and store both result sets and the verdict as evidence; exit 1 on a regression.

        The tolerance and similarity threshold come from the policy (ai.regression).

        Example: changegate ai regress suite.yaml --target http://llm/v1 --model gpt-4o-2024-08-06 --before-model gpt-4o-2024-05-13 --change CHG-3 --by ci-bot
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.ai.regress import (
                baseline_run,
                check_phase,
                regression_report,
                require_baseline,
            )
            from changegate.ai.service import store_regression, store_results, stored_run
            from changegate.ai.suite import load_suite
            from changegate.ai.target_spec import chat_target
            from changegate.changes.service import get_change

            wants_before = bool(before_target or before_model or before_system_prompt)
            check_phase(phase, wants_before=wants_before)
            loaded = load_suite(suite)
            after = chat_target(
                target,
                model=model,
                interface=interface,
                api_key_env=api_key_env,
                system_prompt=system_prompt,
            )
            before = (
                chat_target(
                    before_target or target,
                    model=before_model or model,
                    interface=interface,
                    api_key_env=api_key_env,
                    system_prompt=before_system_prompt or system_prompt,
                )
                if wants_before
                else None
            )
            pol = _preflight(o, change, by)
            stored_pre = None
            if phase == "post" and before is None:
                with transaction(o, write=False) as (s, p):
                    stored_pre = stored_run(s, p, get_change(s, change), "pre")
                require_baseline(stored_pre, change=change, suite=suite, by=by)
            reg = pol.ai.regression
            if phase == "pre":
                run = baseline_run(loaded, after, reg)
                e = _with_change(
                    o,
                    change,
                    lambda s, p, c: store_results(
                        s, p, c, phase="pre", run=run, actor=by, suite=loaded.name
                    ).audit_state(),
                )
                out: dict[str, Any] = {
                    "phase": "pre",
                    "suite": loaded.name,
                    "passed": run.passed,
                    "total": run.total,
                    "evidence": [e],
                }
                emit(
                    o,
                    out,
                    lambda: print(
                        f"{change}: pre-change results of {loaded.name} stored "
                        f"({run.passed}/{run.total} passed against {run.label})"
                    ),
                )
                return
            report = regression_report(
                loaded, after, before=before, stored_pre=stored_pre, settings=reg
            )
            out = _with_change(
                o,
                change,
                lambda s, p, c: store_regression(
                    s, p, c, report=report, actor=by, store_pre=before is not None
                ).to_dict(),
            )
            emit(o, out, lambda: _show_regression(change, out))
            if not out["passed"]:
                raise typer.Exit(1)

        guarded(o, body)

    @ai_app.command("import")
    def ai_import(
        file: Annotated[
            Path, typer.Argument(help="Results file from promptfoo, DeepEval or garak.")
        ],
        change: ChangeOpt,
        by: ByOpt,
        format: Annotated[
            str | None,
            typer.Option("--format", help="promptfoo | deepeval | garak (default: detected)."),
        ] = None,
        phase: Annotated[
            str | None,
            typer.Option("--phase", help="pre | post (default post; not for garak)."),
        ] = None,
        before: Annotated[
            Path | None,
            typer.Option("--before", help="Pre-change results file to compare with (post)."),
        ] = None,
        critical: Annotated[
            list[str] | None,
            typer.Option("--critical", help="Case id whose regression fails the change."),
        ] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Import evaluation results from promptfoo, DeepEval or garak as evidence on a change; exit 1 when they fail.

        promptfoo/DeepEval: pre- or post-change behavioural results (post is compared with the
        stored pre-change results). garak report.jsonl: prompt-injection evidence for the
        security impact assessment.

        Example: changegate ai import results.json --format promptfoo --phase post --change CHG-3 --by ci-bot
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.ai import service
            from changegate.ai.importers import FORMATS, detect_format, load_results
            from changegate.ai.report import compare_runs
            from changegate.errors import InvalidInput

            content = read_file(file, "file")
            if format is not None and format not in FORMATS:
                raise InvalidInput(
                    f"--format {format!r}: use one of {', '.join(FORMATS)}", field="format"
                )
            try:
                fmt = format or detect_format(content.decode("utf-8"))
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"{file}: not UTF-8 text", field="file") from exc
            if phase not in (None, "pre", "post"):
                raise InvalidInput(f"--phase {phase!r}: use pre or post", field="phase")
            if fmt == "garak" and (phase or before or critical):
                raise InvalidInput(
                    "garak results are prompt-injection evidence (security impact), not "
                    "behavioural results: drop --phase, --before and --critical",
                    field="phase",
                )
            if phase == "pre" and before is not None:
                raise InvalidInput("--before goes with --phase post", field="before")
            run = load_results(file, fmt)
            before_run = load_results(before, fmt) if before else None
            tol = _preflight(o, change, by).ai.regression.tolerance

            def store(s: Any, p: Policy, c: Any) -> dict[str, Any]:
                original = service.store_original(
                    s, content=content, filename=file.name, format=fmt, actor=by
                )
                if fmt == "garak":
                    return service.store_garak(
                        s, p, c, run=run, actor=by, original=original
                    ).to_dict()
                if phase == "pre":
                    e = service.store_results(
                        s, p, c, phase="pre", run=run, actor=by, original=original
                    )
                    return {"phase": "pre", "passed": True, "evidence": [e.audit_state()]}
                prior = before_run or service.stored_run(s, p, c, "pre")
                report = compare_runs(
                    prior,
                    run,
                    tolerance=tol,
                    critical=critical or (),
                    suite=run.metadata.get("suite") or file.name,
                )
                return service.store_regression(
                    s,
                    p,
                    c,
                    report=report,
                    actor=by,
                    store_pre=before_run is not None,
                    original=original,
                ).to_dict()

            out = _with_change(o, change, store) | {"format": fmt, "file": str(file)}

            def human() -> None:
                if fmt == "garak" or out.get("phase") == "pre":
                    print(
                        f"{change}: {fmt} results imported"
                        + (f" — {out['status']}" if "status" in out else " as pre-change results")
                    )
                    print(_evidence_lines(out["evidence"]))
                else:
                    _show_regression(change, out)

            emit(o, out, human)
            if not out["passed"]:
                raise typer.Exit(1)

        guarded(o, body)

    # --- tenant isolation ---------------------------------------------------------------

    @ai_app.command("isolation")
    def ai_isolation(
        target: Annotated[str, typer.Option("--target", help="RAG service URL or module:object.")],
        tenants: Annotated[
            str, typer.Option("--tenants", help="Comma-separated tenant ids, at least two.")
        ],
        change: ChangeOpt,
        by: ByOpt,
        probes_per_pair: Annotated[
            int, typer.Option("--probes-per-pair", help="Probes per tenant pair (1-3).")
        ] = 2,
        seed: Annotated[
            int | None, typer.Option("--seed", help="Fix the canaries (for reproducing).")
        ] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Plant a canary per tenant, probe from every other tenant, store the full report and the tenant-isolation validation; exit 1 unless it passes.

        Example: changegate ai isolation --target http://127.0.0.1:8765 --tenants acme,globex,initech --change CHG-4 --by ci-bot
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.ai.isolation import verify_tenant_isolation
            from changegate.ai.service import store_isolation

            names = [t.strip() for t in tenants.split(",") if t.strip()]
            _preflight(o, change, by)
            report = verify_tenant_isolation(
                target, names, probes_per_pair=probes_per_pair, seed=seed
            )
            out = _with_change(
                o,
                change,
                lambda s, p, c: store_isolation(s, p, c, report=report, actor=by).to_dict(),
            )

            def human() -> None:
                mark = "[green]PASS[/]" if out["passed"] else f"[red]{out['status'].upper()}[/]"
                from changegate.cli.render import console

                console().print(f"{change}: tenant isolation {mark} against {report.target}")
                for r in report.reasons:
                    print(f"  - {r}")
                print(_evidence_lines(out["evidence"]))

            emit(o, out, human)
            if not out["passed"]:
                raise typer.Exit(1)

        guarded(o, body)

    # --- security impact ----------------------------------------------------------------

    @ai_app.command("injection")
    def ai_injection(
        target: Annotated[
            str,
            typer.Option(
                "--target", help="RAG service URL/module:object, or a chat URL with --model."
            ),
        ],
        change: ChangeOpt,
        by: ByOpt,
        model: ModelOpt = None,
        interface: Annotated[
            str,
            typer.Option("--interface", help="auto (chat if --model, else rag), chat or rag."),
        ] = "auto",
        api_key_env: ApiKeyEnvOpt = None,
        seed: Annotated[int | None, typer.Option("--seed")] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Run the built-in prompt-injection probes (system prompt disclosure, instruction override, cross-tenant exfiltration) and store the outcome; exit 1 unless they pass.

        Example: changegate ai injection --target http://127.0.0.1:8765 --change CHG-4 --by ci-bot
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.ai.injection import run_injection_probes
            from changegate.ai.service import store_injection
            from changegate.ai.target_spec import probe_target

            tgt = probe_target(target, model=model, interface=interface, api_key_env=api_key_env)
            _preflight(o, change, by)
            report = run_injection_probes(tgt, seed=seed)
            out = _with_change(
                o,
                change,
                lambda s, p, c: store_injection(s, p, c, report=report, actor=by).to_dict(),
            )

            def human() -> None:
                from changegate.cli.render import console

                mark = "[green]PASS[/]" if out["passed"] else f"[red]{out['status'].upper()}[/]"
                console().print(f"{change}: prompt-injection probes {mark} against {report.target}")
                for p in report.probes:
                    why = f" — {'; '.join(p.evidence)}" if p.evidence else ""
                    print(f"  {p.status:8} {p.probe_id}{why}")
                print(_evidence_lines(out["evidence"]))
                v = out["validation"]
                print(f"  security-impact: {'pass' if v['passed'] else 'FAIL'} — {v['details']}")

            emit(o, out, human)
            if not out["passed"]:
                raise typer.Exit(1)

        guarded(o, body)

    @ai_app.command("assess")
    def ai_assess(
        change: str,
        prompt_injection: Annotated[
            str, typer.Option("--prompt-injection", help="Prompt injection risk: low|medium|high.")
        ],
        data_leakage: Annotated[
            str, typer.Option("--data-leakage", help="Data leakage risk: low|medium|high.")
        ],
        content_filter: Annotated[
            str,
            typer.Option(
                "--content-filter",
                help="Risk to content filtering effectiveness: low|medium|high.",
            ),
        ],
        by: Annotated[str, typer.Option("--by", help="The assessor (policy: security role).")],
        notes: Annotated[str, typer.Option("--notes", help="The assessment's reasoning.")] = "",
        note: Annotated[
            list[str] | None,
            typer.Option("--note", help="DIMENSION=TEXT, e.g. prompt_injection='new tool call'."),
        ] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Record the §10.2 security impact assessment of an AI change (by a security reviewer) and re-derive the security-impact validation.

        Example: changegate ai assess CHG-4 --prompt-injection medium --data-leakage low --content-filter low --notes "new retrieval scope reviewed" --by sam
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.ai.service import record_assessment
            from changegate.errors import InvalidInput

            dim_notes: dict[str, str] = {}
            for item in note or []:
                key, sep, text = item.partition("=")
                if not sep:
                    raise InvalidInput(
                        f"--note {item!r}: use DIMENSION=TEXT, e.g. data_leakage='...'",
                        field="note",
                    )
                dim_notes[key.strip().replace("-", "_")] = text.strip()
            out = _with_change(
                o,
                change,
                lambda s, p, c: record_assessment(
                    s,
                    p,
                    c,
                    ratings={
                        "prompt_injection": prompt_injection,
                        "data_leakage": data_leakage,
                        "content_filter": content_filter,
                    },
                    notes=notes,
                    dimension_notes=dim_notes,
                    actor=by,
                ).to_dict(),
            )

            def human() -> None:
                v = out["validation"]
                print(f"{change}: security impact assessment recorded by {by}")
                print(_evidence_lines(out["evidence"][:1]))
                print(f"  security-impact: {'pass' if v['passed'] else 'FAIL'} — {v['details']}")

            emit(o, out, human)

        guarded(o, body)


def _show_regression(change: str, out: dict[str, Any]) -> None:
    from changegate.cli.render import console

    rep = out["report"]
    mark = "[green]PASS[/]" if out["passed"] else "[red]FAIL[/]"
    c = console()
    after = rep["after"]
    before = rep["before"]
    c.print(
        f"{change}: behavioural regression {mark} — suite {rep['suite']}: after "
        f"{after['passed']}/{after['total']}"
        + (f", before {before['passed']}/{before['total']}" if before else "")
        + f", tolerance {rep['tolerance']:.0%}"
    )
    for r in rep["reasons"]:
        print(f"  - {r}")
    for case in rep["cases"]:
        if not case["regressed"]:
            continue
        crit = " (critical)" if case["critical"] else ""
        print(f"  regressed: {case['id']}{crit}")
        for side in ("before", "after"):
            res = case.get(side)
            if res:
                text = (res.get("output") or res.get("error") or "").replace("\n", " ")
                print(f"    {side}: {text[:160]}")
    print(_evidence_lines(out["evidence"]))
