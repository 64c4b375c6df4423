"""Users, passwords and API tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from changegate.api.deps import Ctx, ReadCtx, WriteCtx
from changegate.api.errors import COMMON_ERRORS
from changegate.api.one_call import OneCallRoute
from changegate.api.responses import (
    GrantOut,
    MeOut,
    PasswordOut,
    TokenCreatedOut,
    TokenOut,
    UserOut,
)
from changegate.api.routes.common import creates
from changegate.api.schemas import PasswordIn, RolesIn, TokenIn, UserIn
from changegate.errors import NotFound

router = APIRouter(route_class=OneCallRoute, prefix="/api", responses=COMMON_ERRORS)
created = creates(router)

#: a user name as `changegate user add` accepts it
UserName = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$", max_length=100)]


def _stored_id(value: int, what: str, field: str) -> int:
    """An id the database can hold (a positive 32-bit key); any other is not found."""
    if not 0 < value < 2**31:
        raise NotFound(f"no {what} {value}", field=field)
    return value


@router.get("/me", response_model=MeOut, tags=["users"], summary="The authenticated caller")
def me(ctx: ReadCtx) -> dict[str, Any]:
    granted = sorted(a for a in ctx.policy.permissions if ctx.allowed(a))
    return ctx.user.audit_state() | {"permissions": granted}


@router.get("/users", response_model=list[UserOut], tags=["users"], summary="Users (user list)")
def list_users(ctx: ReadCtx) -> list[dict[str, Any]]:
    from changegate.users.service import list_users as list_all

    ctx.require("user.read", doing="list users")
    return [_user_out(ctx, u) for u in list_all(ctx.session)]


@created("/users", UserOut, "Add a user with roles (user add)", tags=["users"])
def add_user(body: UserIn, ctx: WriteCtx, response: Response) -> dict[str, Any]:
    from changegate.users.service import add_user as add

    actor = ctx.acting_as(body.by, field="by")
    ctx.require("user.manage", doing="add users")
    user = add(
        ctx.session,
        ctx.policy,
        name=body.name,
        roles=body.roles,
        github_login=body.github,
        gitlab_login=body.gitlab,
        actor=actor,
    )
    response.headers["Location"] = f"/api/users/{user.name}"
    return _user_out(ctx, user)


def _user_out(ctx: Ctx, user: Any) -> dict[str, Any]:
    from changegate.users.service import user_view

    return user_view(ctx.session, user)


def _name(name: str) -> str:
    if len(name) > 100:
        raise NotFound(f"unknown user {name[:100]!r}...", field="name")
    return name


@router.put(
    "/users/{name}/roles",
    response_model=UserOut,
    tags=["users"],
    summary="Replace a user's roles (user set-roles)",
)
def set_roles(name: UserName, body: RolesIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.users.service import get_user
    from changegate.users.service import set_roles as set_user_roles

    actor = ctx.acting_as(body.by, field="by")
    ctx.require("user.manage", doing="change roles")
    user = get_user(ctx.session, _name(name), field="name")
    return _user_out(
        ctx, set_user_roles(ctx.session, ctx.policy, user, roles=body.roles, actor=actor)
    )


@router.get(
    "/users/grants",
    response_model=list[GrantOut],
    tags=["users"],
    summary="Role grants, pending ones first to confirm (user grants)",
)
def list_grants(
    ctx: ReadCtx,
    pending: bool = Query(default=False, description="Only grants waiting for confirmation"),
) -> list[dict[str, Any]]:
    from changegate.users.service import list_grants as list_all

    ctx.require("user.read", doing="list role grants")
    return [g.audit_state() for g in list_all(ctx.session, pending_only=pending)]


@router.post(
    "/users/grants/{grant_id}/confirm",
    response_model=GrantOut,
    tags=["users"],
    summary="Confirm another administrator's pending role grant (user confirm-grant)",
)
def confirm_grant(grant_id: int, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.users.service import confirm_grant as confirm

    grant = _stored_id(grant_id, "role grant", "grant")
    return confirm(ctx.session, ctx.policy, grant, actor=ctx.user.name).audit_state()


@router.put(
    "/users/{name}/password",
    response_model=PasswordOut,
    tags=["users"],
    summary="Set a web login password: your own, or anyone's with user.manage (user set-password)",
)
def set_password(name: UserName, body: PasswordIn, ctx: WriteCtx) -> Any:
    """Your own password needs your current one (when set; a wrong one counts as a failed
    login). Anyone else's, with user.manage, is a one-time password they must replace at their
    first login. Either way the user's web sessions end."""
    from fastapi.responses import JSONResponse

    from changegate.api.errors import client_address, error_body
    from changegate.auth.service import WRONG_CURRENT_PASSWORD, change_own_password
    from changegate.auth.service import set_password as set_pw

    if _name(name) == ctx.user.name:
        cred = change_own_password(
            ctx.session,
            user=ctx.user,
            current=body.current_password,
            password=body.password,
            address=client_address(ctx.request),
            limits=ctx.app.limits,
        )
        if cred is None:  # the failure is recorded and commits with this answer
            body_ = error_body("Forbidden", WRONG_CURRENT_PASSWORD, "current_password")
            return JSONResponse(body_, status_code=403)
    else:
        ctx.require("user.manage", doing=f"set {name}'s password")
        cred = set_pw(ctx.session, user=name, password=body.password, actor=ctx.user.name)
    return cred.view()


def _may_manage_tokens_of(ctx: Ctx, owner: str) -> bool:
    return owner == ctx.user.name or ctx.allowed("token.manage")


@router.get(
    "/tokens",
    response_model=list[TokenOut],
    tags=["tokens"],
    summary="API tokens: yours, or everyone's with token.manage (token list)",
)
def list_tokens(
    ctx: ReadCtx,
    user: str | None = Query(default=None, max_length=100, description="Only this user's"),
) -> list[dict[str, Any]]:
    from changegate.auth.service import list_tokens as list_all
    from changegate.auth.service import token_dict

    if not ctx.allowed("token.manage"):
        if user is not None and user != ctx.user.name:
            ctx.require("token.manage", doing=f"list {user}'s tokens")
        user = ctx.user.name
    return [token_dict(t) for t in list_all(ctx.session, user=user)]


@created(
    "/tokens",
    TokenCreatedOut,
    "Issue an API token; the token is in this response only (token create)",
    tags=["tokens"],
)
def create_token(body: TokenIn, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.auth.service import create_token as create
    from changegate.auth.service import token_dict

    owner = body.user or ctx.user.name
    if not _may_manage_tokens_of(ctx, owner):
        ctx.require("token.manage", doing=f"issue tokens for {owner}")
    token, raw = create(
        ctx.session, user=owner, actor=ctx.user.name, expires=body.expires, label=body.label
    )
    return token_dict(token) | {"token": raw}


@router.delete(
    "/tokens/{token_id}",
    response_model=TokenOut,
    tags=["tokens"],
    summary="Revoke an API token (token revoke)",
)
def revoke_token(token_id: int, ctx: WriteCtx) -> dict[str, Any]:
    from changegate.auth.service import get_token, token_dict
    from changegate.auth.service import revoke_token as revoke

    token = get_token(ctx.session, _stored_id(token_id, "API token", "token"))
    if not _may_manage_tokens_of(ctx, token.user_name):
        # someone else's token: as if it did not exist
        raise NotFound(f"no API token {token_id}", field="token")
    return token_dict(revoke(ctx.session, token, actor=ctx.user.name))
