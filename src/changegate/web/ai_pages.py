"""Where a person decides in §10.2: the LLM provider register with its DPAs (whoever the
policy lets manage it, the CTO by default) and the security impact assessment on a change
(the policy's ``ai.security_assessor_roles``). The forms call the services the API and the
CLI call (``ai.providers``, ``ai.register``, ``ai.security``); the services decide who may."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from changegate.api.one_call import OneCallRoute
from changegate.errors import ChangegateError, PolicyDenied
from changegate.web.render import FormBody, FormInvalid, form_dict, granted, redirect, render
from changegate.web.session import WebCtx, WebRead, WebWrite

router = APIRouter(route_class=OneCallRoute, include_in_schema=False)

PAGE = "ai_providers.html"
DONE = {
    "added": "Provider added. Record its DPA before a change may name it.",
    "dpa": "DPA recorded.",
}


@router.get("/ai/providers")
def providers_page(
    request: Request, ctx: WebRead, done: str = Query(default="", max_length=20)
) -> Response:
    from changegate.web.ai_views import register_page

    context = register_page(ctx.session, ctx.policy, ctx.user)
    context |= {"values": {}, "errors": {}, "done": DONE.get(done, "")}
    return render(request, PAGE, context, ctx=ctx)


def _refused(ctx: WebCtx, form: FormData, exc: ChangegateError, which: str) -> FormInvalid:
    """The register page again with the user's input and the service's message next to the
    form it came from (``which``: add or dpa), with the error's status."""
    from changegate.web.ai_views import register_page

    values = form_dict(form) | {"form": which}
    context = register_page(ctx.session, ctx.policy, ctx.user) | {
        "values": values,
        "errors": {which: exc.message},
        "done": "",
        "user": {"name": ctx.user.name, "roles": list(ctx.user.roles)},
        "csrf": ctx.csrf,
        "granted": granted(ctx),
    }
    return FormInvalid(PAGE, context, exc.http_status)


@router.post("/ai/providers")
def add_provider(ctx: WebWrite, form: FormBody) -> Response:
    from changegate.ai.providers import add_provider as add

    values = form_dict(form)
    try:
        add(
            ctx.session,
            ctx.policy,
            name=str(values.get("name", "")),
            actor=ctx.user.name,
            display_name=str(values.get("display_name", "")),
            notes=str(values.get("notes", "")),
        )
    except PolicyDenied:
        raise  # 403 on the error page, and audited
    except ChangegateError as exc:
        raise _refused(ctx, form, exc, "add") from exc
    return redirect("/ai/providers?done=added")


def _document(form: FormData) -> tuple[bytes | None, str | None]:
    """The uploaded DPA document, if one was chosen; read no further than the evidence limit
    (the service refuses a larger file with its message)."""
    from changegate.evidence.service import MAX_FILE_BYTES

    upload = form.get("document")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None, None
    content = upload.file.read(MAX_FILE_BYTES + 1)
    return content, upload.filename.replace("\\", "/").rsplit("/", 1)[-1]


@router.post("/ai/providers/dpa")
def record_dpa(ctx: WebWrite, form: FormBody) -> Response:
    from changegate.ai import register

    values = form_dict(form)
    notes = str(values.get("notes", "")).strip()
    content, filename = _document(form)
    try:
        register.record_dpa(
            ctx.session,
            ctx.policy,
            str(values.get("provider", "")),
            status=str(values.get("status", "")),
            actor=ctx.user.name,
            signed=str(values.get("signed", "")) or None,
            expires=str(values.get("expires", "")) or None,
            content=content,
            filename=filename,
            notes=notes or None,
        )
    except PolicyDenied:
        raise
    except ChangegateError as exc:
        raise _refused(ctx, form, exc, "dpa") from exc
    return redirect("/ai/providers?done=dpa")


#: one rating of the assessment form, e.g. "medium"
Rating = Annotated[str, Form(max_length=20)]
#: free text of the assessment form
Note = Annotated[str, Form(max_length=10_000)]


@router.post("/changes/{key}/ai/assess")
def assess(
    key: str,
    ctx: WebWrite,
    prompt_injection: Rating = "",
    data_leakage: Rating = "",
    content_filter: Rating = "",
    notes: Note = "",
    note_prompt_injection: Note = "",
    note_data_leakage: Note = "",
    note_content_filter: Note = "",
) -> Response:
    """The security impact assessment, as ``changegate ai assess`` and the API record it;
    a refused rating comes back on the error page with the service's message (400)."""
    from changegate.ai.security import record_assessment
    from changegate.changes.service import get_change

    change = get_change(ctx.session, key, lock=True)
    ratings = {
        "prompt_injection": prompt_injection,
        "data_leakage": data_leakage,
        "content_filter": content_filter,
    }
    written = {
        "prompt_injection": note_prompt_injection,
        "data_leakage": note_data_leakage,
        "content_filter": note_content_filter,
    }
    record_assessment(
        ctx.session,
        ctx.policy,
        change,
        ratings=ratings,
        actor=ctx.user.name,
        notes=notes.strip(),
        dimension_notes={d: n.strip() for d, n in written.items() if n.strip()},
    )
    return redirect(f"/changes/{change.key}?done=assessed#ai-review")
