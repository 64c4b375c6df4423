"""The web UI: server-rendered pages (Jinja2), forms that work without JavaScript, htmx
where it saves a page load (audit search, verify chain)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.datastructures import FormData

from changegate import __version__
from changegate.api.deps import AppState, app_state
from changegate.api.errors import client_address
from changegate.changes import service as changes
from changegate.changes.models import Change
from changegate.db import session_scope
from changegate.errors import InvalidInput, NotFound
from changegate.web.forms import FormValues, errors_from, missing_errors
from changegate.web.session import (
    PasswordChangeRequired,
    WebCtx,
    WebRead,
    WebWrite,
    clear_cookie,
    login_cookie,
    login_csrf,
    new_login_nonce,
    session_cookie,
    set_cookie,
)

HERE = Path(__file__).parent
router = APIRouter(include_in_schema=False)

DONE = {
    "created": "Draft saved.",
    "submitted": "Submitted for review.",
    "edited": "Changes saved.",
    "approved": "Approved.",
    "rejected": "Rejected; the author can edit and resubmit.",
    "password": "Password changed.",
}


class FormInvalid(Exception):
    """A form to show again with the user's input and errors; the transaction rolls back."""

    def __init__(self, template: str, context: dict[str, Any], status: int = 400) -> None:
        super().__init__(template)
        self.template = template
        self.context = context
        self.status = status


# --- rendering -----------------------------------------------------------------------------


def _env(state: AppState) -> Any:
    env = state.extra.get("jinja")
    if env is None:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

        env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["when"] = _when
        env.filters["label"] = lambda s: str(s).replace("_", " ")
        env.globals["version"] = __version__
        state.extra["jinja"] = env
    return env


def _when(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return str(value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    ctx: WebCtx | None = None,
    status: int = 200,
) -> HTMLResponse:
    base: dict[str, Any] = {"user": ctx.user if ctx else None, "csrf": ctx.csrf if ctx else ""}
    if ctx is not None:
        base["granted"] = _granted(ctx)
    return _page(request, template, base | context, status)


def _granted(ctx: WebCtx) -> set[str]:
    return {a for a in ctx.policy.permissions if ctx.allowed(a)}


def _page(request: Request, template: str, context: dict[str, Any], status: int) -> HTMLResponse:
    state = app_state(request)
    granted = set(context.pop("granted", set()))
    base = {
        "request": request,
        "user": None,
        "csrf": "",
        "can": lambda action: action in granted,
        "policy": state.policy,
        "path": request.url.path,
    }
    html = _env(state).get_template(template).render(base | context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def html_error(request: Request, status: int, body: dict[str, Any]) -> Response:
    """Errors of web pages: 401 goes to the login page, the rest to a readable error page."""
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    back = "/"
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if referer and parts.netloc == request.headers.get("host") and parts.path != request.url.path:
        back = parts.path + (f"?{parts.query}" if parts.query else "")
    context = {"status": status, "error": body, "back": back}
    return render(request, "error.html", context, status=status)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def form_data(request: Request) -> FormData:
    """The whole form (already parsed by FastAPI for the CSRF field, so no second read)."""
    return await request.form()


Form_ = Annotated[FormData, Depends(form_data)]


def _form_dict(form: FormData) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str)}
    out["components"] = [v for v in form.getlist("components") if isinstance(v, str)]
    return out


# --- login and logout -----------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(
    request: Request, *, next_url: str, error: str = "", user_name: str = "", status: int = 200
) -> HTMLResponse:
    from changegate.auth.service import has_any_password

    state = app_state(request)
    nonce = new_login_nonce()
    with session_scope(state.engine, write=False) as s:
        bootstrap = not has_any_password(s)
    response = render(
        request,
        "login.html",
        {
            "login_csrf": login_csrf(state, nonce),
            "next": next_url,
            "error": error,
            "user_name": user_name,
            "bootstrap": bootstrap,
        },
        status=status,
    )
    set_cookie(response, state.settings, login_cookie(state.settings), nonce, 3600)
    return response


@router.get("/login")
def login_form(
    request: Request, next: str | None = Query(default=None, max_length=2000)
) -> Response:
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    import hmac

    from changegate.auth.errors import RateLimited
    from changegate.auth.service import attempt_login

    state = app_state(request)
    next_url = _safe_next(next)
    nonce = request.cookies.get(login_cookie(state.settings), "")
    if not nonce or not hmac.compare_digest(csrf, login_csrf(state, nonce)):
        return _login_page(
            request,
            next_url=next_url,
            user_name=username,
            error="The login form expired; please try again.",
            status=400,
        )
    ttl = dt.timedelta(hours=state.settings.session_hours)
    try:
        with session_scope(state.engine) as s:
            result = attempt_login(
                s,
                user_name=username,
                password=password,
                address=client_address(request),
                limits=state.limits,
                ttl=ttl,
            )
    except RateLimited as exc:
        page = _login_page(
            request, next_url=next_url, user_name=username, error=exc.message, status=429
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    if not result.ok or result.cookie is None:
        return _login_page(
            request,
            next_url=next_url,
            user_name=username,
            error="Wrong user name or password.",
            status=401,
        )
    target = f"/password?next={quote(next_url)}" if result.must_change else next_url
    response = _redirect(target)
    set_cookie(
        response,
        state.settings,
        session_cookie(state.settings),
        result.cookie,
        int(ttl.total_seconds()),
    )
    clear_cookie(response, state.settings, login_cookie(state.settings))
    return response


def _password_page(
    request: Request, ctx: WebCtx, *, next_url: str, error: str = "", status: int = 200
) -> HTMLResponse:
    from changegate.auth.service import must_change_password

    context = {
        "next": next_url,
        "error": error,
        "one_time": must_change_password(ctx.session, ctx.user.name),
    }
    return render(request, "password.html", context, ctx=ctx, status=status)


@router.get("/password")
def password_form(
    request: Request, ctx: WebRead, next: str | None = Query(default=None, max_length=2000)
) -> Response:
    return _password_page(request, ctx, next_url=_safe_next(next))


@router.post("/password")
def change_password(
    request: Request,
    ctx: WebWrite,
    current: Annotated[str, Form(max_length=2000)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    confirm: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Replace your own password (a one-time one included): every session of yours ends, and
    this browser gets a new one."""
    from changegate.auth.errors import RateLimited
    from changegate.auth.service import WRONG_CURRENT_PASSWORD, change_own_password, open_session

    next_url = _safe_next(next)
    if password != confirm:
        raise FormInvalid(
            "password.html",
            _password_context(ctx, next_url, "The two new passwords differ."),
        )
    try:
        cred = change_own_password(
            ctx.session,
            user=ctx.user,
            current=current,
            password=password,
            address=client_address(request),
            limits=ctx.app.limits,
        )
    except InvalidInput as exc:
        raise FormInvalid("password.html", _password_context(ctx, next_url, exc.message)) from exc
    except RateLimited as exc:
        context = _password_context(ctx, next_url, exc.message)
        raise FormInvalid("password.html", context, status=429) from exc
    if cred is None:  # a failed login, recorded: this answer commits it
        return _password_page(
            request, ctx, next_url=next_url, error=WRONG_CURRENT_PASSWORD, status=400
        )
    ttl = dt.timedelta(hours=ctx.app.settings.session_hours)
    _, raw = open_session(ctx.session, ctx.user, address=client_address(request), ttl=ttl)
    response = _redirect(next_url)
    set_cookie(
        response,
        ctx.app.settings,
        session_cookie(ctx.app.settings),
        raw,
        int(ttl.total_seconds()),
    )
    return response


def _password_context(ctx: WebCtx, next_url: str, error: str) -> dict[str, Any]:
    """Plain data for re-showing the form after the transaction rolled back."""
    from changegate.auth.service import must_change_password

    return {
        "next": next_url,
        "error": error,
        "one_time": must_change_password(ctx.session, ctx.user.name),
        "user": {"name": ctx.user.name, "roles": list(ctx.user.roles)},
        "csrf": ctx.csrf,
        "granted": set(),
    }


@router.post("/logout")
def logout(ctx: WebWrite) -> Response:
    from changegate.auth.service import end_session

    end_session(ctx.session, ctx.web, actor=ctx.user.name)
    response = _redirect("/login")
    clear_cookie(response, ctx.app.settings, session_cookie(ctx.app.settings))
    return response


# --- pages ---------------------------------------------------------------------------------


@router.get("/")
def dashboard(request: Request, ctx: WebRead) -> Response:
    from changegate.web.views import dashboard as gather

    ctx.require("change.read", doing="read changes")
    return render(request, "dashboard.html", gather(ctx.session, ctx.policy, ctx.user), ctx=ctx)


@router.get("/changes")
def change_list(
    request: Request,
    ctx: WebRead,
    state: str | None = Query(default=None, max_length=20),
    mine: bool = False,
) -> Response:
    ctx.require("change.read", doing="read changes")
    rows = changes.list_changes(ctx.session, state=state or None)
    if mine:
        rows = [c for c in rows if c.author == ctx.user.name]
    rows.reverse()
    return render(
        request,
        "changes.html",
        {"changes": rows, "state": state or "", "mine": mine},
        ctx=ctx,
    )


def _change(ctx: WebCtx, key: str, *, lock: bool = False) -> Change:
    if len(key) > 30 or not re.fullmatch(r"(?i)(CHG-)?\d{1,9}", key):
        raise NotFound(f"no change {key[:30]}", field="change")
    return changes.get_change(ctx.session, key, lock=lock)


def _form_context(
    ctx: WebCtx, values: FormValues, errors: dict[str, list[str]], **extra: Any
) -> dict[str, Any]:
    """Everything the form page needs, as plain data: a re-render after the transaction rolled
    back cannot touch ORM objects any more."""
    change = extra.pop("change", None)
    return {
        "values": values,
        "errors": errors,
        "user": {"name": ctx.user.name, "roles": list(ctx.user.roles)},
        "csrf": ctx.csrf,
        "granted": _granted(ctx),
        "required_by": _required_by(ctx.policy),
        "change": None
        if change is None
        else {"key": change.key, "state": change.state, "title": change.title},
    } | extra


def _required_by(policy: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cls, spec in policy.classes.items():
        for name in spec.required_fields:
            out.setdefault(name, []).append(cls)
    return out


@router.get("/changes/new")
def new_change_form(request: Request, ctx: WebRead) -> Response:
    ctx.require("change.create", doing="create changes")
    return render(
        request, "change_form.html", _form_context(ctx, FormValues(), {}, change=None), ctx=ctx
    )


@router.post("/changes/new")
def new_change(request: Request, ctx: WebWrite, form: Form_) -> Response:
    from changegate.changes.schemas import ChangeCreate

    values = FormValues.from_form(ctx.policy, _form_dict(form))
    submit = form.get("action") == "submit"

    def invalid(errors: dict[str, list[str]]) -> FormInvalid:
        return FormInvalid("change_form.html", _form_context(ctx, values, errors, change=None))

    fields = values.fields(ctx.policy)
    try:
        data = ChangeCreate(
            **{k: v for k, v in fields.items() if v not in ("", None)}, author=ctx.user.name
        )
    except ValidationError as exc:
        raise invalid(errors_from(exc)) from exc
    try:
        change = changes.create_change(ctx.session, ctx.policy, data)
        if submit:
            missing = changes.missing_fields(ctx.policy, change)
            if missing:
                raise invalid(missing_errors(missing))
            changes.submit_change(ctx.session, ctx.policy, change, actor=ctx.user.name)
    except InvalidInput as exc:
        raise invalid(errors_from(exc)) from exc
    return _redirect(f"/changes/{change.key}?done={'submitted' if submit else 'created'}")


@router.get("/changes/{key}")
def change_page(
    request: Request, key: str, ctx: WebRead, done: str | None = Query(default=None, max_length=20)
) -> Response:
    from changegate.web.views import change_page as gather

    ctx.require("change.read", doing="read changes")
    change = _change(ctx, key)
    context = gather(ctx.session, ctx.policy, change, ctx.user) | {"done": DONE.get(done or "")}
    return render(request, "change.html", context, ctx=ctx)


def _may_edit(ctx: WebCtx, change: Change) -> None:
    if change.author != ctx.user.name:
        ctx.require("change.edit_any", doing=f"edit {change.key} (authored by {change.author})")


@router.get("/changes/{key}/edit")
def edit_change_form(request: Request, key: str, ctx: WebRead) -> Response:
    change = _change(ctx, key)
    _may_edit(ctx, change)
    values = FormValues.from_change(change)
    return render(
        request, "change_form.html", _form_context(ctx, values, {}, change=change), ctx=ctx
    )


@router.post("/changes/{key}/edit")
def edit_change(request: Request, key: str, ctx: WebWrite, form: Form_) -> Response:
    from changegate.changes.schemas import ChangeUpdate

    change = _change(ctx, key, lock=True)
    _may_edit(ctx, change)
    values = FormValues.from_form(ctx.policy, _form_dict(form))
    submit = form.get("action") == "submit" and change.state == "draft"

    def invalid(errors: dict[str, list[str]]) -> FormInvalid:
        return FormInvalid("change_form.html", _form_context(ctx, values, errors, change=change))

    current = change.content()
    fields = {
        k: v
        for k, v in values.fields(ctx.policy).items()
        if v not in ("", None) and v != current.get(k)
    }
    try:
        if fields:
            data = ChangeUpdate(**fields)
            changes.edit_change(ctx.session, ctx.policy, change, data, actor=ctx.user.name)
        if submit:
            missing = changes.missing_fields(ctx.policy, change)
            if missing:
                raise invalid(missing_errors(missing))
            changes.submit_change(ctx.session, ctx.policy, change, actor=ctx.user.name)
    except ValidationError as exc:
        raise invalid(errors_from(exc)) from exc
    except InvalidInput as exc:
        raise invalid(errors_from(exc)) from exc
    return _redirect(f"/changes/{change.key}?done={'submitted' if submit else 'edited'}")


@router.post("/changes/{key}/submit")
def submit_change(request: Request, key: str, ctx: WebWrite) -> Response:
    change = _change(ctx, key, lock=True)
    missing = changes.missing_fields(ctx.policy, change) if change.state == "draft" else []
    if missing:
        _may_edit(ctx, change)
        raise FormInvalid(
            "change_form.html",
            _form_context(
                ctx, FormValues.from_change(change), missing_errors(missing), change=change
            ),
        )
    changes.submit_change(ctx.session, ctx.policy, change, actor=ctx.user.name)
    return _redirect(f"/changes/{change.key}?done=submitted")


@router.post("/changes/{key}/approve")
def approve_change(
    request: Request,
    key: str,
    ctx: WebWrite,
    comment: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    from changegate.reviews.service import approve

    change = _change(ctx, key, lock=True)
    approve(ctx.session, ctx.policy, change, actor=ctx.user.name, comment=comment.strip())
    return _redirect(f"/changes/{change.key}?done=approved")


@router.post("/changes/{key}/reject")
def reject_change(
    request: Request,
    key: str,
    ctx: WebWrite,
    comment: Annotated[str, Form(max_length=10_000)] = "",
) -> Response:
    from changegate.reviews.service import reject

    change = _change(ctx, key, lock=True)
    reject(ctx.session, ctx.policy, change, actor=ctx.user.name, comment=comment.strip())
    return _redirect(f"/changes/{change.key}?done=rejected")


@router.get("/policy")
def policy_page(request: Request, ctx: WebRead) -> Response:
    ctx.require("policy.read", doing="read the policy")
    loaded = ctx.app.loaded
    return render(
        request,
        "policy.html",
        {"p": loaded.validated(), "digest": loaded.digest, "source": loaded.source},
        ctx=ctx,
    )


def _parse_time(value: str, field: str) -> str | None:
    from changegate.db import iso

    value = value.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{field}: {value!r} is not a date or time; use 2026-11-25 or 2026-11-25T14:00",
            field=field,
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return iso(parsed)


@router.get("/audit")
def audit_page(
    request: Request,
    ctx: WebRead,
    change: str = Query(default="", max_length=30),
    actor: str = Query(default="", max_length=100),
    action: str = Query(default="", max_length=100),
    since: str = Query(default="", max_length=40),
    until: str = Query(default="", max_length=40),
) -> Response:
    from changegate.audit.events import ALL_EVENTS
    from changegate.audit.service import search

    ctx.require("audit.read", doing="read the audit log")
    errors: dict[str, str] = {}
    key = None
    if change.strip():
        try:
            key = _change(ctx, change.strip()).key
        except NotFound as exc:
            errors["change"] = exc.message
    bounds: dict[str, str | None] = {}
    for name, value in (("since", since), ("until", until)):
        try:
            bounds[name] = _parse_time(value, name)
        except InvalidInput as exc:
            errors[name] = exc.message
    entries = (
        []
        if errors
        else search(
            ctx.session,
            change_key=key,
            actor=actor.strip() or None,
            action=action.strip() or None,
            since=bounds.get("since"),
            until=bounds.get("until"),
            limit=300,
        )
    )
    context = {
        "entries": list(reversed(entries)),
        "q": {"change": change, "actor": actor, "action": action, "since": since, "until": until},
        "errors": errors,
        "actions": sorted({e.action for e in ALL_EVENTS}),
        "may_verify": ctx.allowed("audit.verify"),
    }
    return render(request, "audit.html", context, ctx=ctx, status=400 if errors else 200)


@router.get("/audit/verify")
def audit_verify(request: Request, ctx: WebRead) -> Response:
    from changegate.audit.verify import verify

    ctx.require("audit.verify", doing="verify the audit log")
    report = verify(ctx.session)
    fragment = request.headers.get("hx-request") == "true"
    return render(
        request,
        "verify_result.html" if fragment else "verify.html",
        {"report": report},
        ctx=ctx,
    )


# --- wiring --------------------------------------------------------------------------------


def mount(app: FastAPI) -> None:
    def on_form_invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FormInvalid)
        return _page(request, exc.template, dict(exc.context), exc.status)

    def on_password_change_required(request: Request, exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return _redirect(f"/password?next={quote(_safe_next(target))}")

    app.add_exception_handler(FormInvalid, on_form_invalid)
    app.add_exception_handler(PasswordChangeRequired, on_password_change_required)
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
