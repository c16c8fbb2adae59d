"""Assembling the Starlette application of a :class:`~servey_faas.app.ServeyApp`."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from servey_faas.app import ServeyApp
from servey_faas.web.bodies import Bodies
from servey_faas.web.handling import INTERNAL_ERROR
from servey_faas.web.responses import error_response, to_response
from servey_faas.web.rest import debug_token_routes, rest_routes
from servey_faas.web.routing import LiteralPathRouter

if TYPE_CHECKING:
    from servey_faas.scheduling.local import LocalSchedules

_ERROR_NAMES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def create_app(
    app: ServeyApp | None = None,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    debug: bool = False,
    schedules: bool = True,
    openapi: bytes | None = None,
) -> Starlette:
    """The ASGI application serving every web action, ``/openapi.json``, ``/docs`` and ``/redoc``.

    Actions are found (when ``app`` is None) and the OpenAPI document built here, once; nothing is
    rebuilt per request. ``debug`` shows tracebacks in error pages and is off by default.
    Bearer tokens are checked with ``app.verifier``; ``POST /debug/token`` exists only with
    ``SERVEY_DEBUG_AUTHENTICATOR=1`` (see :func:`~servey_faas.web.rest.debug_token_routes`).
    Request bodies and JSON are bounded by ``app.settings.limits``; the work on big requests is
    done off the event loop (see :mod:`servey_faas.web.bodies`).
    With ``schedules`` (the dev server), fixed-rate and cron actions run from application startup
    to shutdown — never at import — unless Celery owns them (``CELERY_BROKER``); on OpenFaaS the
    router passes False: cron-connector owns the schedules there. ``state.schedules`` holds them
    (a :class:`~servey_faas.scheduling.local.LocalSchedules`, None without ``schedules``).
    ``openapi`` is the OpenAPI document's bytes built earlier (the API router's build context
    carries them: :func:`~servey_faas.web.openapi.openapi_bytes`), served instead of building it.
    """
    app = app or ServeyApp.load()
    from servey_faas.web.docs import docs_routes
    from servey_faas.web.graphql import graphql_routes

    bodies = Bodies(app.settings.limits)
    routes: list[BaseRoute] = [
        *graphql_routes(app, bodies=bodies),  # first: the busiest single path, matched before every REST route
        *rest_routes(app.invokers, app.verifier, bodies),
        *debug_token_routes(app.settings, bodies),
        *docs_routes(app, openapi=openapi),
        *extra_routes,
    ]
    lifespan = None
    local: LocalSchedules | None = None
    if schedules:
        from servey_faas.scheduling.local import local_schedules

        local = local_schedules(app, celery=app.settings.celery)

        def lifespan(_: Starlette) -> AbstractAsyncContextManager[None]:
            return local

    # An error of ours outside an action (those are answered by their endpoint) is a JSON 500 too;
    # Starlette's ServerErrorMiddleware sends it, then raises the error for the server to log.
    handlers = {HTTPException: _http_error, Exception: _internal_error}
    starlette = Starlette(debug=debug, exception_handlers=handlers)
    # The routes and lifespan go to a router finding literal paths (every REST route without
    # params, /graphql, the docs) with one lookup; its middleware stack is built on the first call.
    starlette.router = LiteralPathRouter(routes, lifespan=lifespan)
    starlette.state.servey = app
    starlette.state.schedules = local  # the dev server stops them first when told to stop
    return starlette


async def _http_error(request: Request, exc: Any) -> Response:
    status = int(exc.status_code)
    return error_response(status, _ERROR_NAMES.get(status, "http_error"), str(exc.detail), headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    return to_response(INTERNAL_ERROR)
