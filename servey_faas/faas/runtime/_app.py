"""The ASGI app of one action's OpenFaaS function: the action at ``/`` and under its REST paths.

Behind of-watchdog in ``mode=http`` (CONTRACTS.md §5.1) every request reaches this app with the
path the gateway left after ``/function/<name>`` (§2.1), and a request body sent chunked without
``Content-Length``. Requests go through the dev server's own endpoint
(:class:`servey_faas.web.rest.ActionEndpoint`) and so through
:class:`servey_faas.invocation.ActionInvoker`: validation, errors and results are those of the dev
server. Only Starlette and the core are imported: no GraphQL, docs or scheduling code.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from servey_faas.app import ServeyApp
from servey_faas.triggers import WebTrigger
from servey_faas.web.responses import error_response
from servey_faas.web.rest import ActionEndpoint, WebRoute, rest_routes, web_routes

#: The upstream path the watchdog's ``ready_path`` points at (CONTRACTS.md §5.1).
READY_PATH = "/_/ready"
#: What ``/`` serves: GET reads the query string, POST a JSON object body (§2.3).
_ROOT_TRIGGERS = (WebTrigger("GET", "/"), WebTrigger("POST", "/"))

_USER_HEADER = b"x-servey-authorization"
_ERROR_NAMES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def function_app(app: ServeyApp, action_name: str | None = None, *, function_auth: bool = False) -> ASGIApp:
    """The ASGI app serving one action of ``app`` (``action_name``, or its only action).

    Routes:

    * ``POST /``: the params as one JSON object (an empty body is ``{}``, as cron-connector and
      the queue-worker send, §4.3) → 200 with the JSON result; ``GET /`` (and HEAD): the params
      in the query string, read as for a GET route of the dev server;
    * every REST route of the action (its ``WebTrigger`` paths), with the dev server's semantics;
    * ``GET /_/ready``: 200 ``OK`` once the app serves (the watchdog's ``ready_path``, §5.1).

    Errors are the dev server's JSON bodies: 422 ``validation_error`` listing field errors, 400
    ``bad_request`` (malformed JSON, wrong content type), 404/405, and 500 ``internal_error``
    when the action raises (the traceback goes to the log, never to the caller, §2.4). Nothing
    about the caller's identity is read from the payload: function authentication is the
    watchdog's ``jwt_auth`` (§7.4), and end users' bearer tokens are verified here, as on the dev
    server, with the app's own key.

    With ``function_auth`` (the function runs with ``jwt_auth=true``), ``Authorization`` carries
    the OpenFaaS function token the watchdog has already checked; it is not an end user's token and
    is dropped, and the end user's token is read from ``X-Servey-Authorization`` instead (where the
    API router puts it, :data:`servey_faas.faas.router.USER_AUTHORIZATION_HEADER`).

    :raises ActionNotFoundError: when ``action_name`` is not an action of ``app``.
    :raises ConfigurationError: when ``action_name`` is None and ``app`` has not exactly one action.
    """
    invoker = app.invoker(action_name) if action_name is not None else _only_invoker(app)
    invokers = {invoker.name: invoker}
    routes: list[BaseRoute] = list(rest_routes(invokers, app.verifier))
    claimed = {r.method for r in web_routes(invokers) if r.path == "/"}
    root: dict[str, ActionEndpoint] = {
        t.method: ActionEndpoint(WebRoute(invoker, t, "/"), app.verifier)
        for t in _ROOT_TRIGGERS
        if t.method not in claimed
    }
    if root:
        routes.append(Route("/", _RootDispatch(root).handle, methods=list(root), name=f"{invoker.name}:root"))
    routes.append(Route(READY_PATH, ready, methods=["GET"], name="ready"))
    starlette = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    starlette.state.servey = app
    return _UserAuthorization(starlette) if function_auth else starlette


def _only_invoker(app: ServeyApp) -> Any:
    if len(app.invokers) != 1:
        from servey_faas.errors import ConfigurationError

        raise ConfigurationError(
            f"a function serves exactly one action; this app has {len(app.invokers)}: name the action"
        )
    return next(iter(app.invokers.values()))


class _RootDispatch:
    """``/``: GET (and HEAD) or POST, each an :class:`ActionEndpoint` of the action."""

    def __init__(self, endpoints: dict[str, ActionEndpoint]) -> None:
        self._endpoints = endpoints

    async def handle(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await self._endpoints[method].handle(request)


class _UserAuthorization:
    """ASGI middleware for ``jwt_auth`` functions: ``Authorization`` (the function token) is dropped
    and ``X-Servey-Authorization`` (the end user's token, if any) takes its place."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k not in (b"authorization", _USER_HEADER)]
            headers.extend((b"authorization", v) for k, v in scope["headers"] if k == _USER_HEADER)
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


async def ready(request: Request) -> Response:
    """``GET /_/ready``: 200 ``OK`` (the watchdog's ``ready_path``, CONTRACTS.md §5.1)."""
    return PlainTextResponse("OK")


async def _http_error(request: Request, exc: Any) -> Response:
    status = int(exc.status_code)
    return error_response(status, _ERROR_NAMES.get(status, "http_error"), str(exc.detail), headers=exc.headers)
