"""Commands for setup, users, change requests, reviews, evidence and status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from changegate.cli.context import (
    DbOpt,
    JsonOpt,
    Opts,
    PolicyOpt,
    emit,
    engine_for,
    guarded,
    loaded_policy,
    read_file,
    transaction,
)

Risk = Annotated[
    list[str] | None,
    typer.Option(
        "--risk", help="DIMENSION=LEVEL, once per dimension, e.g. --risk availability=low."
    ),
]
RiskNote = Annotated[list[str] | None, typer.Option("--risk-note", help="DIMENSION=TEXT.")]


def _parse_pairs(values: list[str] | None, option: str) -> dict[str, str]:
    from changegate.errors import InvalidInput

    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(
                f"--{option} {item!r}: use DIMENSION=VALUE, e.g. availability=low", field=option
            )
        out[key.strip()] = value.strip()
    return out


def _risk(
    levels: list[str] | None, notes: list[str] | None, current: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    from changegate.errors import InvalidInput

    lv, nt = _parse_pairs(levels, "risk"), _parse_pairs(notes, "risk-note")
    if not lv and not nt:
        return None
    risk = {k: dict(v) for k, v in (current or {}).items()}
    for dim, level in lv.items():
        risk.setdefault(dim, {"level": level, "note": ""})["level"] = level
    for dim, note in nt.items():
        if dim not in risk:
            raise InvalidInput(f"--risk-note {dim}: give --risk {dim}=LEVEL too", field="risk-note")
        risk[dim]["note"] = note
    return risk


def _expanded(commits: list[str] | None) -> list[str] | None:
    """``--commit`` values as full SHAs: abbreviated ones are expanded in the repository the
    CLI runs in (the current directory), or refused with the fix."""
    if commits is None:
        return None
    from changegate.scm.gitrepo import expand_commits

    return expand_commits(commits)


def _record_authors(session: Any, change: Any, *, actor: str) -> None:
    """Who authored and committed the change's commits, read from the repository the CLI
    runs in: they count as authors for segregation of duties."""
    from contextlib import suppress

    from changegate.scm.authors import record_from_repository
    from changegate.scm.errors import NotARepository

    # full SHAs given outside a repository: GitHub reports their authors when pushed
    with suppress(NotARepository):
        record_from_repository(session, change, ".", source="git", actor=actor)


def _fields(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None and v != []}


GRANT_COLUMNS = ["id", "user", "roles", "requested_by", "state", "decided_by"]


def _roles_text(out: dict[str, Any]) -> str:
    text = ", ".join(out["roles"]) or "no roles yet"
    if out.get("pending_roles"):
        text += (
            f"; waiting for a second administrator: {', '.join(out['pending_roles'])} "
            "(`changegate user grants --pending`)"
        )
    return text


def register(app: typer.Typer) -> None:
    user_app = typer.Typer(
        help="Users and their roles (roles come from the policy).", no_args_is_help=True
    )
    change_app = typer.Typer(
        help="Change requests: create, edit, submit, show, list, close.", no_args_is_help=True
    )
    evidence_app = typer.Typer(
        help="Attach evidence: JUnit XML, validations, documents.", no_args_is_help=True
    )
    app.add_typer(user_app, name="user")
    app.add_typer(change_app, name="change")
    app.add_typer(evidence_app, name="evidence")

    @app.command()
    def init(json: JsonOpt = False, db: DbOpt = None, policy: PolicyOpt = None) -> None:
        """Create or upgrade the database and load the policy.

        Example: changegate init --db sqlite:///changes.db
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.db import SCHEMA_REVISION, current_revision
            from changegate.migrate import upgrade
            from changegate.policy.service import ensure_recorded

            engine = engine_for(o)
            before = current_revision(engine)
            loaded = loaded_policy(o)
            upgrade(engine)
            from changegate.db import session_scope

            with session_scope(engine) as s:
                row = ensure_recorded(s, loaded, rewrite=True)
                out = {
                    "db": engine.url.render_as_string(hide_password=True),
                    "schema": SCHEMA_REVISION,
                    "previous_schema": before,
                    "policy": loaded.policy.label,
                    "policy_digest": row.digest,
                }
            emit(
                o,
                out,
                lambda: print(
                    f"database ready at {out['db']} (schema {SCHEMA_REVISION}); policy {out['policy']} loaded"
                ),
            )

        guarded(o, body)

    @user_app.command("add")
    def user_add(
        name: str,
        role: Annotated[
            list[str], typer.Option("--role", help="A role from the policy; repeat for several.")
        ],
        github: Annotated[
            str | None, typer.Option("--github", help="GitHub login mapped to this user.")
        ] = None,
        by: Annotated[
            str,
            typer.Option(
                "--by",
                help="The administrator adding the user (default: the database's operator); "
                "an administrator's grant of a gate role waits for a second one.",
            ),
        ] = "system",
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Add a user with roles.

        Example: changegate user add alice --role engineer --role deployer
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.users.service import add_user, user_view

            with transaction(o) as (s, pol):
                u = add_user(s, pol, name=name, roles=role, github_login=github, actor=by)
                out = user_view(s, u)
            emit(o, out, lambda: print(f"added {out['name']} ({_roles_text(out)})"))

        guarded(o, body)

    @user_app.command("grants")
    def user_grants(
        pending: Annotated[
            bool, typer.Option("--pending", help="Only grants waiting for confirmation.")
        ] = False,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """List role grants made by administrators, and whether a second one confirmed them.

        Example: changegate user grants --pending
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.cli.render import show_rows
            from changegate.users.service import list_grants

            with transaction(o, write=False) as (s, _):
                rows = [g.audit_state() for g in list_grants(s, pending_only=pending)]
            emit(o, rows, lambda: show_rows("role grants", rows, GRANT_COLUMNS))

        guarded(o, body)

    @user_app.command("confirm-grant")
    def user_confirm_grant(
        grant_id: Annotated[int, typer.Argument(metavar="ID", help="Grant id from `user grants`.")],
        by: Annotated[str, typer.Option("--by", help="The second administrator, who confirms.")],
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Confirm another administrator's role grant; its roles take effect.

        Example: changegate user confirm-grant 3 --by bob
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.users.service import confirm_grant

            with transaction(o) as (s, pol):
                out = confirm_grant(s, pol, grant_id, actor=by).audit_state()
            emit(
                o,
                out,
                lambda: print(
                    f"grant {out['id']} confirmed: {out['user']} now holds {', '.join(out['roles'])}"
                ),
            )

        guarded(o, body)

    @user_app.command("set-roles")
    def user_set_roles(
        name: str,
        role: Annotated[
            list[str], typer.Option("--role", help="The user's complete list of roles.")
        ],
        by: Annotated[str, typer.Option("--by", help="Who makes the change.")] = "system",
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Replace a user's roles.

        Example: changegate user set-roles bob --role engineer --role security
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.users.service import get_user, set_roles, user_view

            with transaction(o) as (s, pol):
                u = set_roles(s, pol, get_user(s, name, field="name"), roles=role, actor=by)
                out = user_view(s, u)
            emit(o, out, lambda: print(f"{out['name']}: {_roles_text(out)}"))

        guarded(o, body)

    @user_app.command("list")
    def user_list(json: JsonOpt = False, db: DbOpt = None, policy: PolicyOpt = None) -> None:
        """List users and their roles.

        Example: changegate user list --json
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.cli.render import show_rows
            from changegate.users.service import list_users, user_view

            with transaction(o, write=False) as (s, _):
                rows = [user_view(s, u) for u in list_users(s)]
            emit(o, rows, lambda: show_rows("users", rows, ["name", "roles", "github_login"]))

        guarded(o, body)

    @change_app.command("new")
    def change_new(
        title: Annotated[str, typer.Option("--title", help="One line saying what changes.")],
        change_class: Annotated[
            str, typer.Option("--class", help="standard | normal | emergency.")
        ],
        author: Annotated[str, typer.Option("--author", help="Who requests the change.")],
        description: Annotated[
            str | None, typer.Option("--description", help="What and why.")
        ] = None,
        category: Annotated[
            str | None, typer.Option("--category", help="Category slug from the policy.")
        ] = None,
        component: Annotated[
            list[str] | None, typer.Option("--component", help="Affected component.")
        ] = None,
        provider: Annotated[
            list[str] | None, typer.Option("--provider", help="Affected model provider.")
        ] = None,
        ai_component: Annotated[
            str | None, typer.Option("--ai-component", help="AI component (§10.3).")
        ] = None,
        risk: Risk = None,
        risk_note: RiskNote = None,
        rollback: Annotated[str | None, typer.Option("--rollback", help="Rollback plan.")] = None,
        link: Annotated[list[str] | None, typer.Option("--link", help="PR or issue URL.")] = None,
        commit: Annotated[list[str] | None, typer.Option("--commit", help="Commit SHA.")] = None,
        justification: Annotated[
            str | None, typer.Option("--justification", help="Why an emergency.")
        ] = None,
        security_impacting: Annotated[
            bool, typer.Option("--security-impacting", help="Flag as security-impacting.")
        ] = False,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Create a change request (a draft) and print its id.

        Example: changegate change new --title "Rotate TLS cert" --class normal --risk availability=low
        --risk security=high --risk data=low --rollback "redeploy previous cert" --description "..." --author alice
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from pydantic import ValidationError

            from changegate.changes.schemas import ChangeCreate
            from changegate.changes.service import create_change
            from changegate.errors import InvalidInput

            try:
                data = ChangeCreate(
                    **_fields(
                        title=title,
                        change_class=change_class,
                        author=author,
                        description=description,
                        category=category,
                        components=component,
                        providers=provider,
                        ai_component=ai_component,
                        risk=_risk(risk, risk_note),
                        rollback_plan=rollback,
                        links=link,
                        commits=_expanded(commit),
                        justification=justification,
                        security_flag=security_impacting or None,
                    )
                )
            except ValidationError as exc:
                raise InvalidInput(_pydantic_message(exc), field=_pydantic_field(exc)) from exc
            with transaction(o) as (s, pol):
                c = create_change(s, pol, data)
                if commit:
                    _record_authors(s, c, actor=c.author)
                out = c.audit_state()
            emit(o, out, lambda: print(out["id"]))

        guarded(o, body)

    @change_app.command("edit")
    def change_edit(
        change: str,
        by: Annotated[str, typer.Option("--by", help="Who edits.")],
        title: Annotated[str | None, typer.Option("--title")] = None,
        change_class: Annotated[str | None, typer.Option("--class")] = None,
        description: Annotated[str | None, typer.Option("--description")] = None,
        category: Annotated[str | None, typer.Option("--category")] = None,
        component: Annotated[list[str] | None, typer.Option("--component")] = None,
        provider: Annotated[list[str] | None, typer.Option("--provider")] = None,
        ai_component: Annotated[str | None, typer.Option("--ai-component")] = None,
        risk: Risk = None,
        risk_note: RiskNote = None,
        rollback: Annotated[str | None, typer.Option("--rollback")] = None,
        link: Annotated[list[str] | None, typer.Option("--link")] = None,
        commit: Annotated[list[str] | None, typer.Option("--commit")] = None,
        justification: Annotated[str | None, typer.Option("--justification")] = None,
        author: Annotated[
            str | None, typer.Option("--author", help="Ignored: the author never changes.")
        ] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Edit a change. Approvals given on earlier content become stale; so do test results
        and validations when a field the policy binds them to changes (default: commits,
        components, providers, AI component, category).

        Example: changegate change edit CHG-1 --rollback "revert commit abc123" --by alice
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from pydantic import ValidationError

            from changegate.changes.schemas import ChangeUpdate
            from changegate.changes.service import edit_change, get_change
            from changegate.errors import InvalidInput

            with transaction(o) as (s, pol):
                c = get_change(s, change, lock=True)
                try:
                    data = ChangeUpdate(
                        **_fields(
                            title=title,
                            change_class=change_class,
                            description=description,
                            category=category,
                            components=component,
                            providers=provider,
                            ai_component=ai_component,
                            risk=_risk(risk, risk_note, c.risk),
                            rollback_plan=rollback,
                            links=link,
                            commits=_expanded(commit),
                            justification=justification,
                        )
                    )
                except ValidationError as exc:
                    raise InvalidInput(_pydantic_message(exc), field=_pydantic_field(exc)) from exc
                edit_change(s, pol, c, data, actor=by)
                if commit:
                    _record_authors(s, c, actor=by)
                out = c.audit_state()
            emit(
                o,
                out,
                lambda: print(f"{out['id']} edited (revision {out['revision']}, {out['state']})"),
            )

        guarded(o, body)

    @change_app.command("submit")
    def change_submit(
        change: str,
        by: Annotated[str, typer.Option("--by")],
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Submit a draft for review; the policy's required fields are checked here.

        Example: changegate change submit CHG-1 --by alice
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.changes.service import get_change, submit_change

            with transaction(o) as (s, pol):
                c = submit_change(s, pol, get_change(s, change, lock=True), actor=by)
                out = c.audit_state()
            emit(o, out, lambda: print(f"{out['id']} {out['state']}"))

        guarded(o, body)

    @change_app.command("close")
    def change_close(
        change: str,
        by: Annotated[str, typer.Option("--by")],
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Close a deployed, rolled back or rejected change once post-deployment requirements are met.

        Example: changegate change close CHG-1 --by alice
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.changes.service import close_change, get_change

            with transaction(o) as (s, pol):
                c = close_change(s, pol, get_change(s, change, lock=True), actor=by)
                out = c.audit_state()
            emit(o, out, lambda: print(f"{out['id']} {out['state']}"))

        guarded(o, body)

    @change_app.command("show")
    def change_show(
        change: str, json: JsonOpt = False, db: DbOpt = None, policy: PolicyOpt = None
    ) -> None:
        """Show every field of a change, its reviews and evidence.

        Example: changegate change show CHG-1
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.changes.service import get_change
            from changegate.changes.status import change_report
            from changegate.cli.render import show_change, show_rows

            with transaction(o, write=False) as (s, pol):
                out = change_report(s, pol, get_change(s, change))

            def human() -> None:
                show_change(out)
                if out["reviews"]:
                    show_rows(
                        "reviews",
                        out["reviews"],
                        ["reviewer", "verdict", "comment", "stale", "created_at"],
                    )
                if out["evidence"]:
                    show_rows(
                        "evidence",
                        out["evidence"],
                        ["kind", "name", "passed", "stale", "details", "blob_sha256"],
                    )

            emit(o, out, human)

        guarded(o, body)

    @change_app.command("list")
    def change_list(
        state: Annotated[
            str | None, typer.Option("--state", help="Only changes in this state.")
        ] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """List changes.

        Example: changegate change list --state submitted
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.changes.service import list_changes
            from changegate.cli.render import show_rows

            with transaction(o, write=False) as (s, _):
                rows = [c.audit_state() for c in list_changes(s, state=state)]
            emit(
                o,
                rows,
                lambda: show_rows(
                    "changes", rows, ["id", "state", "change_class", "category", "title", "author"]
                ),
            )

        guarded(o, body)

    @app.command()
    def approve(
        change: str,
        by: Annotated[str, typer.Option("--by", help="The approver.")],
        comment: Annotated[str, typer.Option("--comment")] = "",
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Approve a change. Nobody approves their own change; the approver's role must be one asked for.

        Example: changegate approve CHG-1 --by bob --comment "LGTM"
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.changes.service import get_change
            from changegate.reviews.service import approve as approve_change

            with transaction(o) as (s, pol):
                c = get_change(s, change, lock=True)
                r = approve_change(s, pol, c, actor=by, comment=comment)
                out = r.audit_state() | {"state": c.state}
            emit(
                o,
                out,
                lambda: print(
                    f"{out['change']} approved by {out['reviewer']}; state {out['state']}"
                ),
            )

        guarded(o, body)

    @app.command()
    def reject(
        change: str,
        by: Annotated[str, typer.Option("--by")],
        comment: Annotated[str, typer.Option("--comment", help="What must change.")],
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Reject a change with a comment.

        Example: changegate reject CHG-1 --by bob --comment "no rollback plan tested"
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.changes.service import get_change
            from changegate.reviews.service import reject as reject_change

            with transaction(o) as (s, pol):
                c = get_change(s, change, lock=True)
                r = reject_change(s, pol, c, actor=by, comment=comment)
                out = r.audit_state() | {"state": c.state}
            emit(o, out, lambda: print(f"{out['change']} rejected by {out['reviewer']}"))

        guarded(o, body)

    @evidence_app.command("add")
    def evidence_add(
        change: str,
        by: Annotated[str, typer.Option("--by")],
        junit: Annotated[Path | None, typer.Option("--junit", help="JUnit XML file.")] = None,
        validation: Annotated[
            str | None, typer.Option("--validation", help="Validation name, e.g. staging, tls.")
        ] = None,
        result: Annotated[
            str | None, typer.Option("--result", help="pass | fail (with --validation).")
        ] = None,
        details: Annotated[str, typer.Option("--details")] = "",
        document: Annotated[
            Path | None, typer.Option("--document", help="Any file, stored by content.")
        ] = None,
        kind: Annotated[
            str | None, typer.Option("--kind", help="Document kind (with --document).")
        ] = None,
        report: Annotated[
            Path | None,
            typer.Option(
                "--report", help="The report a validation was decided on, stored by content."
            ),
        ] = None,
        json: JsonOpt = False,
        db: DbOpt = None,
        policy: PolicyOpt = None,
    ) -> None:
        """Attach JUnit results, a named validation or a document to a change.

        Example: changegate evidence add CHG-1 --junit results.xml --by ci-bot
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.changes.service import get_change
            from changegate.errors import InvalidInput
            from changegate.evidence import service as ev

            given = [
                n
                for n, v in (("junit", junit), ("validation", validation), ("document", document))
                if v
            ]
            if len(given) != 1:
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
            path = junit or document
            content = read_file(path, "junit" if junit else "document") if path else b""
            report_content = read_file(report, "report") if report else None
            with transaction(o) as (s, pol):
                c = get_change(s, change, lock=True)
                if junit:
                    e = ev.add_junit(s, pol, c, content=content, filename=junit.name, actor=by)
                elif validation:
                    e = ev.add_validation(
                        s,
                        pol,
                        c,
                        name=validation,
                        result=result or "",
                        details=details,
                        actor=by,
                        report=report_content,
                        report_filename=report.name if report else None,
                    )
                else:
                    assert document is not None
                    e = ev.add_document(
                        s,
                        pol,
                        c,
                        content=content,
                        filename=document.name,
                        kind=kind or "",
                        actor=by,
                        details=details,
                    )
                out = e.audit_state()
            emit(
                o,
                out,
                lambda: print(
                    f"{out['change']}: {out['kind']} {out['name']} attached"
                    + (f" ({out['details']})" if out["details"] else "")
                ),
            )

        guarded(o, body)

    @app.command()
    def status(
        change: str, json: JsonOpt = False, db: DbOpt = None, policy: PolicyOpt = None
    ) -> None:
        """List every requirement the policy puts on a change, met or unmet, with the rule behind it.

        Example: changegate status CHG-1
        """
        o = Opts(json, db, policy)

        def body() -> None:
            from changegate.changes.service import get_change
            from changegate.changes.status import status_report
            from changegate.cli.render import show_requirements, violation_notes

            with transaction(o, write=False) as (s, pol):
                out = status_report(s, pol, get_change(s, change))
            flags = ", ".join(
                f
                for f, on in (
                    ("high risk", out["high_risk"]),
                    ("security-impacting", out["security_impacting"]),
                    ("AI/GenAI", out["ai"]),
                )
                if on
            )
            emit(
                o,
                out,
                lambda: show_requirements(
                    f"{out['change']} [{out['state']}] {out['title']} — {out['class']}"
                    + (f" {out['category']}" if out["category"] else "")
                    + (f" ({flags})" if flags else ""),
                    out["requirements"],
                    f"{len(out['unmet'])} unmet of {len(out['requirements'])} — {out['policy']}",
                    violation_notes(out.get("violations", [])),
                ),
            )

        guarded(o, body)


def _pydantic_message(exc: Any) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        option = {
            "change_class": "class",
            "rollback_plan": "rollback",
            "links": "link",
            "commits": "commit",
            "components": "component",
            "providers": "provider",
        }.get(loc.split(".")[0], loc.split(".")[0])
        parts.append(f"--{option.replace('_', '-')}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _pydantic_field(exc: Any) -> str | None:
    errs = exc.errors()
    return str(errs[0]["loc"][0]) if errs and errs[0]["loc"] else None
