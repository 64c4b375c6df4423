"""Request dependencies: the transaction and the caller.

The dependency takes only the credential (a ``Deferred``); the route opens the transaction
(``session_scope``), authenticates the caller in it, runs the endpoint and commits, in one
worker-thread call (``api/one_call.py``). Services flush, and the transaction commits when the
endpoint returns, before the response is sent, so a mutation and its audit event land together
or not at all. The caller comes from the bearer token only; a request body can never say who
is acting.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from changegate.alerts.raising import POLICY_KEY
from changegate.api.one_call import Deferred
from changegate.auth import oidc as _oidc
from changegate.auth.errors import Unauthenticated
from changegate.db import session_scope
from changegate.errors import PolicyDenied
from changegate.policy import service as policy_service
from changegate.policy.schema import Policy
from changegate.users.models import User

if TYPE_CHECKING:
    from changegate.api.cache import SeqCache
    from changegate.api.settings import ServerSettings
    from changegate.auth.models import ApiToken
    from changegate.auth.service import LoginLimits
    from changegate.auth.trust import Pipeline
    from changegate.policy.loader import LoadedPolicy
    from changegate.policy.trust import OidcIssuer

bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `changegate token create`: `Authorization: Bearer cg_...`",
)


@dataclass
class AppState:
    """Everything a request needs, built once by ``create_app``."""

    settings: ServerSettings
    secret: str
    engine: Engine
    loaded: LoadedPolicy
    limits: LoginLimits
    cache: SeqCache
    started_at: dt.datetime
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def policy(self) -> Policy:
        return self.loaded.policy


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.cg
    return state


@dataclass
class Ctx:
    """One request: its transaction, the authenticated caller and the policy in force."""

    session: Session
    user: User
    app: AppState
    request: Request
    #: a CI job's ID token: the service identity ``user`` acts with the trust rule's roles
    pipeline: Pipeline | None = field(default=None, kw_only=True)

    @property
    def policy(self) -> Policy:
        return self.app.policy

    @property
    def principal(self) -> policy_service.Principal:
        return self.user if self.pipeline is None else self.pipeline

    @property
    def via(self) -> dict[str, Any] | None:
        """The CI job acting, as the audit log keeps it with its decisions; None for a user."""
        return None if self.pipeline is None else self.pipeline.audit()

    def allowed(self, action: str) -> bool:
        return policy_service.allowed(self.policy, self.principal, action)

    def require(self, action: str, *, doing: str) -> None:
        policy_service.require(self.policy, self.principal, action, doing=doing)

    def acting_as(self, named: str | None, *, field: str) -> str:
        """The caller's name; 403 when the request names someone else as the actor."""
        if named is not None and named != self.user.name:
            raise PolicyDenied(
                f"you are authenticated as {self.user.name}; a request cannot act as {named!r} "
                f"({field}): the actor is always the authenticated user",
                field=field,
            )
        return self.user.name


def authenticate_with_token(
    request: Request, session: Session, raw: str | None
) -> tuple[User, ApiToken]:
    """The caller a bearer token stands for, refused (403) while they hold a one-time
    password, except for what replaces it (``refuse_one_time_password``)."""
    from changegate.auth.service import token_caller

    caller = token_caller(session, _required(request, raw))
    request.state.actor = caller.user.name
    refuse_one_time_password(request, caller.user, must_change=caller.must_change_password)
    return caller.user, caller.token


def _required(request: Request, raw: str | None) -> str:
    """The credential; 401 when the request sent none."""
    request.state.auth_via = "token"
    if not raw:
        raise Unauthenticated(
            "authentication required: send `Authorization: Bearer <token>` with a token from "
            "`changegate token create`",
            field="Authorization",
        )
    return raw


def _raw(request: Request, credentials: HTTPAuthorizationCredentials | None) -> str | None:
    raw = credentials.credentials if credentials is not None else None
    if raw is None and request.headers.get("authorization"):
        raw = "-"  # a header that is not `Bearer <token>`: malformed, not missing
    return raw


@contextmanager
def _ctx(request: Request, raw: str, write: bool) -> Iterator[Ctx]:
    state = app_state(request)
    token = ci_token(request, state, raw)
    with session_scope(state.engine, write=write) as session:
        session.info[POLICY_KEY] = state.policy  # the policy alerts are raised under
        if token is not None:
            yield pipeline_ctx(request, session, state, *token)
            return
        user, _token = authenticate_with_token(request, session, raw)
        yield Ctx(session, user, state, request)


def ci_token(
    request: Request, state: AppState, raw: str | None
) -> tuple[OidcIssuer, dict[str, Any]] | None:
    """A CI job's ID token (docs/pipelines.md), verified before the transaction opens, since
    it may fetch the issuer's keys; None for any other credential."""
    if raw is None or not _oidc.looks_like_jwt(raw):
        return None
    request.state.auth_via = "oidc"
    oidc = state.policy.oidc
    cache = state.extra.get("jwks")
    if not isinstance(cache, _oidc.JwksCache):
        cache = state.extra["jwks"] = _oidc.JwksCache(ttl=oidc.jwks_ttl_seconds)
    return _oidc.verify(raw, oidc, cache)


def pipeline_ctx(
    request: Request, session: Session, state: AppState, issuer: OidcIssuer, claims: dict[str, Any]
) -> Ctx:
    """The verified token's job, matched to the policy's trust rules."""
    from changegate.auth.trust import pipeline_identity

    user, pipeline = pipeline_identity(session, state.policy, issuer, claims)
    request.state.actor = user.name
    return Ctx(session, user, state, request, pipeline=pipeline)


def refuse_one_time_password(request: Request, user: User, *, must_change: bool) -> None:
    """A user holding a one-time password (set by an administrator) may only replace it, with
    the one-time password as the current one, and read who they are: 403 for everything else."""
    if not must_change:
        return
    own = f"/api/users/{user.name}/password"
    path, method = request.url.path, request.method
    if (method == "PUT" and path == own) or (method == "GET" and path == "/api/me"):
        return
    raise PolicyDenied(
        f"{user.name} holds a one-time password set by an administrator: replace it first "
        f"(PUT {own} with current_password, `changegate user set-password {user.name}`, "
        "or log in to the web UI)",
        field="password",
    )


def _deferred(
    request: Request, credentials: HTTPAuthorizationCredentials | None, *, write: bool
) -> Deferred:
    """The request's transaction, opened by ``OneCallRoute`` in the endpoint's thread-pool
    call (``api/one_call.py``); a request without a credential is refused here, before its
    body is read."""
    raw = _required(request, _raw(request, credentials))
    return Deferred(
        functools.partial(_ctx, request, raw, write), queued_writer(request, raw, write)
    )


def queued_writer(request: Request, raw: str, write: bool) -> Engine | None:
    """The engine a writing request asks its turn for in the event loop
    (changegate/write_queue.py, which queues SQLite's writers only), or None: reads, and a CI
    job's ID token, whose verification before the transaction may fetch the issuer's keys and
    must not hold up the writers queued behind it (it still takes its turn in
    ``writer_lock``)."""
    if not write or _oidc.looks_like_jwt(raw):
        return None
    return app_state(request).engine


async def read_ctx(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Deferred:
    return _deferred(request, credentials, write=False)


async def write_ctx(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Deferred:
    return _deferred(request, credentials, write=True)


#: a read-only transaction for the request, with the authenticated caller
ReadCtx = Annotated[Ctx, Depends(read_ctx)]
#: a write transaction (SQLite: BEGIN IMMEDIATE) committed before the response is sent
WriteCtx = Annotated[Ctx, Depends(write_ctx)]
