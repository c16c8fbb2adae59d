"""The WSGI app of one action's OpenFaaS function: the action at ``/`` and under its REST paths.

Behind of-watchdog in ``mode=http`` (``docs/openfaas.md#of-watchdog-in-http-mode``) every request reaches this app with
the path the gateway left after ``/function/<name>`` (``docs/openfaas.md#url-rules``), and a request body sent chunked
without ``Content-Length`` (the server, waitress, de-chunks it). Each route answers through the dev server's own
:class:`~servey_faas.web.handling.RouteHandler` and so through :class:`~servey_faas.invocation.ActionInvoker`: access
decisions, validation errors, results and caching headers are the dev server's bytes. No web framework is imported: WSGI
keeps the function's cold start small (``bench/coldstart.py``).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Coroutine, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from servey_faas.app import ServeyApp
from servey_faas.errors import ConfigurationError
from servey_faas.faas.wire import READY_PATH
from servey_faas.invocation import ActionInvoker
from servey_faas.triggers import HttpMethod, WebTrigger, path_matcher
from servey_faas.web.handling import Reply, RouteHandler, WebRoute, error_reply, too_large_reply, web_routes

if TYPE_CHECKING:
    import asyncio
    from wsgiref.types import StartResponse, WSGIEnvironment

#: The method ``/`` always takes, with the params as a JSON object body: the one the queue-worker,
#: cron-connector and ``GatewayClient.invoke`` use.
ROOT_METHOD: HttpMethod = "POST"
_READY = Reply(200, b"OK", media_type="text/plain; charset=utf-8")
_NOT_FOUND = error_reply(404, "not_found", "Not Found")


@functools.cache
def _status_line(status: int) -> str:
    """``"404 Not Found"``: the reason phrase Python's ``http.HTTPStatus`` gives (as uvicorn sends
    it on the dev server), ``"<code> Status"`` for a code it does not know."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Status"


class FunctionApp:
    """The WSGI application serving one action (PEP 3333); build it with :func:`function_app`.

    Sync actions run in the server's worker thread; async actions on one event loop of the app's
    own (a daemon thread started on the first async call, stopped by :meth:`close`).
    """

    def __init__(
        self,
        invoker: ActionInvoker,
        routes: list[_Path],
        *,
        function_auth: bool,
        max_body_bytes: int,
        reads_token: bool = True,
    ) -> None:
        self.invoker = invoker
        #: The largest request body read, in bytes (``LimitSettings.max_body_bytes``); a larger one is a 413.
        self.max_body_bytes = max_body_bytes
        self._routes = routes
        #: The WSGI key of the end user's ``Authorization`` header; None: the header is not read.
        self._token_key: str | None = None
        if reads_token:
            self._token_key = "HTTP_X_SERVEY_AUTHORIZATION" if function_auth else "HTTP_AUTHORIZATION"
        self._loop: _LoopThread | None = None
        self._loop_lock = threading.Lock()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        # PEP 3333 gives PATH_INFO as latin-1; the URL's bytes are UTF-8 (as uvicorn decodes them).
        path = (environ.get("PATH_INFO") or "/").encode("latin-1").decode("utf-8", "replace")
        reply = self._answer(method, path, environ)
        status = _status_line(reply.status)
        headers = list(reply.headers.items())
        if reply.media_type is not None:
            headers.append(("Content-Type", reply.media_type))
        if reply.status not in (204, 304):
            headers.append(("Content-Length", str(len(reply.body))))
        start_response(status, headers)
        return [b"" if method == "HEAD" else reply.body]

    def _answer(self, method: str, path: str, environ: WSGIEnvironment) -> Reply:
        get_like = "GET" if method == "HEAD" else method
        if path == READY_PATH:
            return _READY if get_like == "GET" else _not_allowed(["GET"])
        for route in self._routes:
            path_params = route.match(path)
            if path_params is None:
                continue
            handler = route.handlers.get(get_like)
            if handler is None:
                return _not_allowed(list(route.handlers))
            return self._handle(handler, method, path, path_params, environ)
        return _NOT_FOUND

    def _handle(
        self, handler: RouteHandler, method: str, path: str, path_params: dict[str, str], environ: WSGIEnvironment
    ) -> Reply:
        body = b""
        if handler.reads_body:
            read = _read_body(environ, self.max_body_bytes)
            if read is None:
                return too_large_reply(self.max_body_bytes)
            body = read
        loaded = handler.load(
            environ.get(self._token_key) if self._token_key is not None else None,
            parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            path_params,
            body,
            environ.get("CONTENT_TYPE") or None,
        )
        if isinstance(loaded, Reply):
            return loaded
        try:
            result = self._call(loaded)
            return handler.reply(result, environ.get("HTTP_IF_NONE_MATCH"))
        except Exception as e:  # past its timeout, an async action is cancelled: 504 (exec_timeout bounds sync ones)
            return handler.failure(method, path, e)

    def _call(self, kwargs: dict[str, Any]) -> Any:
        invoker = self.invoker
        if not invoker.action.is_async:
            return invoker.action.fn(**kwargs)
        with self._loop_lock:
            if self._loop is None:
                self._loop = _LoopThread()
            loop = self._loop
        return loop.run(invoker.call(kwargs))

    def close(self) -> None:
        """Stop the event loop of async actions, if one was started (idempotent)."""
        with self._loop_lock:
            loop, self._loop = self._loop, None
        if loop is not None:
            loop.stop()


def function_app(app: ServeyApp, action_name: str | None = None, *, function_auth: bool = False) -> FunctionApp:
    """The WSGI app serving one action of ``app`` (``action_name``, or its only action).

    Routes:

    * ``POST /``, for every action: the params as one JSON object (an empty body is ``{}``, as
      cron-connector and the queue-worker send, ``docs/openfaas.md#discovery-invocation-and-auth``) → 200 with the JSON
      result;
    * ``/`` also takes the methods of the action's own web triggers, read as on its REST path:
      ``GET`` (and HEAD) and ``DELETE`` the params from the query string, ``PUT`` and ``PATCH``
      from a JSON object body; other methods are 405 with ``Allow``;
    * every REST route of the action (its ``WebTrigger`` paths), with the dev server's semantics;
    * ``GET /_/ready``: 200 ``OK`` (the watchdog's ``ready_path``, ``docs/openfaas.md#health-and-readiness``).

    Errors are the dev server's JSON bodies: 422 ``validation_error`` listing field errors, 400
    ``bad_request`` (malformed JSON, JSON nested deeper than ``max_json_depth``, wrong content
    type), 413 ``payload_too_large`` (a body over ``max_body_bytes``; ``app.settings.limits``
    holds both), 401/403 with bearer challenges, 404
    ``not_found`` and 405 ``method_not_allowed`` (with ``Allow``), and 500 ``internal_error`` when
    the action raises (the traceback goes to the log, never to the caller,
    ``docs/openfaas.md#responses-and-platform-errors``). A trailing slash is not redirected (behind the gateway a
    redirect would drop ``/function/<name>``). Nothing about the caller's identity is read from the payload: function
    authentication is the watchdog's ``jwt_auth`` (``docs/openfaas.md#token-checks-in-of-watchdog``), and end users'
    bearer tokens are verified here, as on the dev server, with the app's own key. A function whose action never reads
    the caller's token (:attr:`~servey_faas.invocation.ActionInvoker.reads_token`) and that has no key does not read
    ``Authorization`` at all: its answers never depend on the caller, and its build context is not given the key (least
    privilege).

    With ``function_auth`` (the function runs with ``jwt_auth=true``), ``Authorization`` carries
    the OpenFaaS function token the watchdog has already checked; it is not an end user's token and
    is ignored, and the end user's token is read from ``X-Servey-Authorization`` instead (where the
    API router puts it, :data:`servey_faas.faas.wire.USER_AUTHORIZATION_HEADER`).

    :raises ActionNotFoundError: when ``action_name`` is not an action of ``app``.
    :raises ConfigurationError: when ``action_name`` is None and ``app`` has not exactly one action.
    """
    invoker = app.invoker(action_name) if action_name is not None else _only_invoker(app)
    limits = app.settings.limits
    by_path: dict[str, dict[str, RouteHandler]] = {}
    for route in web_routes({invoker.name: invoker}):
        by_path.setdefault(route.path, {})[route.method] = RouteHandler(route, app.verifier, limits)
    root = by_path.setdefault("/", {})
    methods: set[HttpMethod] = {ROOT_METHOD, *(t.method for t in invoker.action.web_triggers)}
    for method in sorted(methods):
        root.setdefault(method, RouteHandler(WebRoute(invoker, WebTrigger(method, "/"), "/"), app.verifier, limits))
    routes = [_Path(path, handlers) for path, handlers in by_path.items()]
    reads_token = app.verifier is not None or invoker.reads_token
    return FunctionApp(
        invoker, routes, function_auth=function_auth, max_body_bytes=limits.max_body_bytes, reads_token=reads_token
    )


def _only_invoker(app: ServeyApp) -> ActionInvoker:
    if len(app.invokers) != 1:
        raise ConfigurationError(
            f"a function serves exactly one action; this app has {len(app.invokers)}: name the action"
        )
    return next(iter(app.invokers.values()))


class _Path:
    """One path of the function and its handlers by method. ``{name}`` placeholders match one
    non-empty segment, as Starlette's default ``str`` convertor does on the dev server."""

    def __init__(self, path: str, handlers: dict[str, RouteHandler]) -> None:
        self.handlers = handlers
        self._path = path
        self._pattern = path_matcher(path)

    def match(self, path: str) -> dict[str, str] | None:
        """The path params when ``path`` is this path, else None."""
        if self._pattern is None:
            return {} if path == self._path else None
        m = self._pattern.fullmatch(path)
        return m.groupdict() if m is not None else None


def _not_allowed(methods: Iterable[str]) -> Reply:
    allowed = set(methods)
    if "GET" in allowed:
        allowed.add("HEAD")
    return error_reply(405, "method_not_allowed", "Method Not Allowed", headers={"Allow": ", ".join(sorted(allowed))})


def _read_body(environ: WSGIEnvironment, limit: int) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` bytes (read no further than that).
    waitress refuses such a body itself before the app runs (``max_request_body_size``, see
    :class:`~servey_faas.faas.runtime._server.DrainingServer`); this holds under any WSGI server."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        if int(length) > limit:
            return None
        body: bytes = stream.read(int(length))
        return body
    body = stream.read(limit + 1)
    return None if len(body) > limit else body


class _LoopThread:
    """An asyncio event loop running on a daemon thread; :meth:`run` blocks the calling (WSGI
    worker) thread until a coroutine finishes on it."""

    def __init__(self) -> None:
        import asyncio

        self._asyncio = asyncio
        self._loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="servey-faas-async", daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return self._asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()
