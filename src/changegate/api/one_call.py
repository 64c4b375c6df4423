"""Endpoints that open their transaction, run and commit in one worker-thread call.

FastAPI runs a sync ``yield`` dependency's enter, the sync endpoint and the dependency's exit
as three separate thread-pool calls, and validates a sync endpoint's response in a fourth,
waking the event loop between each. With the transaction opened in the dependency, SQLite's
write lock was held across those returns to a busy event loop: under 16 connections about
3 ms of every write (issue 12's profile). So the request dependencies (``ReadCtx``,
``WriteCtx``, ``WebRead``, ``WebWrite``) do no database work: they return a :class:`Deferred`
holding the credential, and :class:`OneCallRoute` wraps each sync endpoint in a coroutine
that makes one thread-pool call, which opens the transaction (authenticating the caller
inside it, as before), runs the endpoint and commits or rolls back. A mutation and its audit
event still land together, before the response is sent. On SQLite a writing request first
waits for its turn in the event loop (:mod:`changegate.write_queue`), then takes its thread.

Every router uses :class:`OneCallRoute` (``tests/api/test_one_call.py`` checks the app's
routes); an endpoint that received a ``Deferred`` unopened would fail, never run without its
caller.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.routing import Match
from starlette.types import Scope

from changegate.write_queue import write

try:  # FastAPI's context for a route reached through an included router (a private function)
    from fastapi.routing import _get_scope_effective_route_context as _effective_route
except ImportError:  # pragma: no cover - another FastAPI: "some context", so no shortcut

    def _effective_route(scope: Scope) -> Any | None:
        return True


@dataclass(frozen=True, slots=True)
class Deferred:
    """A request's transaction and caller, not yet opened: ``open()`` authenticates the
    caller inside a new transaction and yields the context the endpoint takes."""

    open: Callable[[], AbstractContextManager[Any]]
    #: the engine the request writes to: it asks for its turn in the event loop before it
    #: takes a worker thread (changegate/write_queue.py: on SQLite); None: it does not ask
    writes_to: Engine | None = None


ONE_CALL = "__changegate_one_call__"


def in_one_call(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """``endpoint`` as a coroutine making one thread-pool call, in which the ``Deferred``
    among its arguments is opened around it. Coroutine endpoints are left as they are."""
    if inspect.iscoroutinefunction(endpoint) or getattr(endpoint, ONE_CALL, False):
        return endpoint
    # evaluated here, in the endpoint's module: FastAPI resolves string annotations against
    # the callable's globals, which would be this module's for the wrapper
    signature = inspect.signature(endpoint, eval_str=True)

    def call(kwargs: dict[str, Any]) -> Any:
        deferred = [name for name, value in kwargs.items() if isinstance(value, Deferred)]
        if not deferred:
            return endpoint(**kwargs)
        if len(deferred) > 1:
            raise TypeError(f"{endpoint.__qualname__} takes more than one request context")
        [name] = deferred
        with kwargs[name].open() as ctx:
            return endpoint(**{**kwargs, name: ctx})

    async def run(**kwargs: Any) -> Any:
        engine = _queued_writer(kwargs)
        if engine is None:
            return await run_in_threadpool(call, kwargs)
        return await write(engine, functools.partial(call, kwargs))

    functools.update_wrapper(run, endpoint)
    del run.__wrapped__  # type: ignore[attr-defined]
    run.__signature__ = signature  # type: ignore[attr-defined]
    setattr(run, ONE_CALL, True)
    return run


def _queued_writer(kwargs: dict[str, Any]) -> Engine | None:
    for value in kwargs.values():
        if isinstance(value, Deferred):
            return value.writes_to
    return None


class OneCallRoute(APIRoute):
    """The route class of every router: sync endpoints run in one thread-pool call with
    their transaction (:func:`in_one_call`).

    A request is matched against the app's routes one by one, in order: ``GET /changes`` is
    the 92nd, and the 91 regular expressions before it were 0.065 ms of the page (issue 12's
    profile). A route first compares the path with its literal beginning (the path up to its
    first parameter), which a path it matches always starts with, and answers "no match"
    at once when it does not; otherwise it matches as ``APIRoute`` does
    (``tests/api/test_route_prefix.py`` compares the two on every route)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, in_one_call(endpoint), **kwargs)
        self.literal = self.path_format.split("{", 1)[0]

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if (
            not scope["path"].startswith(self.literal)
            and scope["type"] == "http"
            and not scope.get("root_path")  # a path under a root path: matched the long way
            and _effective_route(scope) is None  # a route of an included router: its own way
        ):
            return Match.NONE, {}
        return super().matches(scope)
