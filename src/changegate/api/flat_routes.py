"""Routers added to the app as flat routes, not as FastAPI's included-router nodes.

Since FastAPI 0.137, ``include_router`` adds one ``_IncludedRouter`` node per router, and
every request walks them in order, paying about 4 µs per route it passes (a scope key set and
restored around each match) against about 1 µs for a route added to the app itself. With the
API's and the web UI's 28 routers that was 0.33 ms of routing for ``GET /api/me`` and
0.43 ms for ``GET /changes`` (issue 12's profile), more than the page's database reads.

An ``APIRoute`` made by ``APIRouter.add_api_route`` already carries everything the router
adds to it (the prefix in its path, the router's tags, dependencies, responses and route
class), so the app can hold the route itself. The routes keep the order the routers were
included in, so the first route that matches is the same one, and the OpenAPI document is
the same bytes (``tests/api/test_flat_routes.py``).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute


def include_flat(app: FastAPI, router: APIRouter) -> None:
    """Add ``router``'s routes to ``app`` in order, as ``include_router`` did before 0.137.
    Only plain ``APIRoute``\\ s: anything else (a mount, a websocket, a nested router) would
    need what ``include_router`` does for it, so it is refused rather than added half-way."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(
                f"include_flat takes routers of APIRoutes only; {route!r} needs include_router"
            )
        app.router.routes.append(route)
