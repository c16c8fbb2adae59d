"""REST routes: one Starlette route per path, each method answered by a
:class:`~servey_faas.web.handling.RouteHandler` (access decision, params, validation errors,
result and caching headers: see :mod:`servey_faas.web.handling`, shared with the OpenFaaS function
server).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive

from servey_faas.authentication import TokenSigner, TokenVerifier
from servey_faas.errors import BadRequestError, FieldError, ValidationError
from servey_faas.invocation import ActionInvoker
from servey_faas.settings import LimitSettings, Settings
from servey_faas.timers import loop_timers
from servey_faas.web.bodies import Bodies
from servey_faas.web.handling import (
    INTERNAL_ERROR,
    Reply,
    RouteHandler,
    WebRoute,
    error_reply,
    too_large_reply,
    web_routes,
)
from servey_faas.web.params import parse_json_body
from servey_faas.web.responses import JSONResponse, error_response, to_response, validation_error_response

logger = logging.getLogger("servey_faas.web")

#: Where the opt-in dev token endpoint listens (``SERVEY_DEBUG_AUTHENTICATOR=1``).
DEBUG_TOKEN_PATH = "/debug/token"  # noqa: S105 - a path, not a password
#: Lifetime of a dev token when the request names none, in seconds.
DEBUG_TOKEN_TTL = 3600
#: Seconds an async action runs before its client's connection is watched for a disconnect.
DISCONNECT_WATCH_AFTER = 0.25
#: The answer to a request whose action was still running when the server stopped.
_STOPPING = error_reply(503, "unavailable", "the server is stopping")
#: What a call cancelled by its client's disconnect "answers": never sent (499, as nginx logs it).
_GONE = error_reply(499, "client_closed_request", "the client closed the connection before the answer")


class ActionEndpoint:
    """The Starlette endpoint of one :class:`~servey_faas.web.handling.WebRoute`: its
    :class:`~servey_faas.web.handling.RouteHandler` with the action awaited in between (sync
    actions on the app's worker threads), within the action's ``timeout`` (past it: 504).

    An async action still running :data:`DISCONNECT_WATCH_AFTER` seconds after it started is
    cancelled as soon as its client disconnects (nobody is left to answer). A call the server
    cancels as it stops (past its shutdown grace) is answered 503 ``unavailable``.

    ``verifier`` checks bearer tokens (None: no key is configured, every token is refused).
    ``bodies`` reads request bodies within the app's limits (a larger one is answered 413) and
    takes the work on a big request off the event loop: loading its params, and dumping its result.
    """

    def __init__(self, route: WebRoute, verifier: TokenVerifier | None, bodies: Bodies) -> None:
        self.route = route
        self._bodies = bodies
        self._handler = RouteHandler(route, verifier, bodies.limits)
        self._watch_disconnect = route.invoker.action.is_async

    async def handle(self, request: Request) -> Response:
        """The response to ``request``. An error of ours (not the action's: that is a 500 too,
        logged as the action's) is logged and answered 500 ``internal_error``, never Starlette's
        plain-text page, and the connection stays open."""
        try:
            return await self._handle(request)
        except Exception:
            logger.exception("%s %s failed outside its action", request.method, request.url.path)
            return to_response(INTERNAL_ERROR)

    async def _handle(self, request: Request) -> Response:
        handler, bodies = self._handler, self._bodies
        scope = request.scope
        authorization, content_type = _read_headers(scope["headers"])
        body = b""
        if handler.reads_body:
            read = await bodies.read(request)
            if read is None:
                return to_response(too_large_reply(bodies.limits.max_body_bytes))
            body = read
        query = scope["query_string"]
        big = bodies.is_big(len(body) + len(query))
        # the query as Starlette's request.query_params reads it, without building a QueryParams
        args = (authorization, parse_qsl(query.decode("latin-1"), keep_blank_values=True), request.path_params)
        if big:
            loaded = await bodies.off_loop(functools.partial(handler.load, *args, body, content_type))
        else:
            loaded = handler.load(*args, body, content_type)
        if isinstance(loaded, Reply):
            return to_response(loaded)
        if_none_match = ", ".join(request.headers.getlist("if-none-match")) if handler.uses_etag else None
        watch = _DisconnectWatch(request.receive) if self._watch_disconnect else None
        try:
            result = await handler.invoker.call(loaded)
            if big or not bodies.renders_at_once(result):  # rendering may fail too (NaN)
                answer = await bodies.off_loop(functools.partial(handler.reply, result, if_none_match))
            else:
                answer = handler.reply(result, if_none_match)
        except asyncio.CancelledError:
            # Not the timeout's (that is an ActionTimeoutError, a 504): the disconnect watch's, or
            # the server's, which cancels a request when it stops before the action has returned
            # (uvicorn, past its shutdown grace). Answered rather than uvicorn's plain-text 500.
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
            if watch is not None and watch.disconnected:
                logger.info("client went away: %s %s cancelled", request.method, request.url.path)
                answer = _GONE
            else:
                logger.warning("server stopping: %s %s cut short", request.method, request.url.path)
                answer = _STOPPING
        except Exception as e:
            answer = handler.failure(request.method, request.url.path, e)
        finally:
            if watch is not None:
                watch.stop()
        return to_response(answer)


def _read_headers(raw: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """The ``Authorization`` and ``Content-Type`` headers (the first of each, as Starlette's
    ``Headers.get``) from the ASGI scope's header list, without building a ``Headers`` object."""
    authorization = content_type = None
    for name, value in raw:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"content-type" and content_type is None:
            content_type = value.decode("latin-1")
    return authorization, content_type


class _DisconnectWatch:
    """Cancels the current task when its client disconnects, from :data:`DISCONNECT_WATCH_AFTER`
    seconds on: watching takes a task of its own, so fast calls (nearly all) never start one."""

    __slots__ = ("_receive", "_task", "_timer", "_watcher", "disconnected")

    def __init__(self, receive: Receive) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._receive = receive
        self._task = task
        self._watcher: asyncio.Task[None] | None = None
        self.disconnected = False
        self._timer = loop_timers(task.get_loop()).call_later(DISCONNECT_WATCH_AFTER, self._start)

    def stop(self) -> None:
        self._timer.cancel()
        if self._watcher is not None:
            self._watcher.cancel()

    def _start(self) -> None:
        self._watcher = self._task.get_loop().create_task(self._watch())

    async def _watch(self) -> None:
        # The body has been read (or there is none): the next message an ASGI server sends is
        # http.disconnect, when the client goes away (ASGI HTTP spec, "Disconnect - receive event").
        try:
            while (await self._receive())["type"] != "http.disconnect":
                pass
        except Exception:  # the server could not tell: nothing to watch
            return
        self.disconnected = True
        self._task.cancel()


def rest_routes(
    invokers: Mapping[str, ActionInvoker], verifier: TokenVerifier | None = None, bodies: Bodies | None = None
) -> list[Route]:
    """The Starlette routes of every web-triggered action: one route per path, so that a 405
    lists every method the path supports in ``Allow`` (RFC 9110 §15.5.6).

    ``verifier`` checks bearer tokens (``ServeyApp.verifier``); without one every token is refused
    with 401, so protected actions can never be called. ``bodies`` holds the request limits and the
    threads for big requests (default: the default limits, threads of its own).
    """
    bodies = bodies or Bodies(LimitSettings())
    by_path: dict[str, dict[str, ActionEndpoint]] = {}
    for r in web_routes(invokers):
        by_path.setdefault(r.path, {})[r.method] = ActionEndpoint(r, verifier, bodies)
    routes = []
    for path, endpoints in by_path.items():
        if len(endpoints) == 1:
            [(method, endpoint)] = endpoints.items()
            name = f"{endpoint.route.invoker.name}:{method}"
            routes.append(Route(path, endpoint.handle, methods=[method], name=name))
        else:
            routes.append(Route(path, _MethodDispatch(endpoints).handle, methods=list(endpoints)))
    return routes


class _MethodDispatch:
    """Several actions on one path, told apart by the request method (HEAD is served as GET)."""

    def __init__(self, endpoints: dict[str, ActionEndpoint]) -> None:
        self._endpoints = endpoints

    async def handle(self, request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await self._endpoints[method].handle(request)


# --- the opt-in dev token endpoint ---------------------------------------------------------------------


def debug_token_routes(settings: Settings, bodies: Bodies | None = None) -> list[Route]:
    """``POST /debug/token`` when ``settings.debug_authenticator`` is on (``SERVEY_DEBUG_AUTHENTICATOR=1``),
    else nothing (the path answers 404).

    Development only: whoever reaches the server gets a token for any subject and scope, signed
    with the configured ``JWT_SECRET_KEY``. A warning is logged when the route is built.

    :raises ConfigurationError: when it is on and no HMAC secret is configured (a public key cannot sign).
    """
    if not settings.debug_authenticator:
        return []
    signer = settings.jwt.signer()
    logger.warning(
        "SERVEY_DEBUG_AUTHENTICATOR is on: POST %s signs bearer tokens for ANY subject and scopes. "
        "Never turn it on where anybody else can reach this server.",
        DEBUG_TOKEN_PATH,
    )
    endpoint = DebugTokenEndpoint(signer, bodies or Bodies(settings.limits))
    return [Route(DEBUG_TOKEN_PATH, endpoint.handle, methods=["POST"], name="debug_token")]


class DebugTokenEndpoint:
    """``POST /debug/token`` with a JSON body ``{"subject_id": str | null, "scopes": [str], "ttl": int}``
    (every field optional: subject ``debug-user``, no scopes, ttl 3600 seconds) answers an RFC 6749
    §5.1 token response ``{"access_token": "<JWT>", "token_type": "Bearer", "expires_in": ttl,
    "scope": "a b"}``. Invalid fields are a 422 like an action's; a malformed body a 400, one over
    the body limit a 413."""

    _FIELDS = frozenset({"subject_id", "scopes", "ttl"})

    def __init__(self, signer: TokenSigner, bodies: Bodies) -> None:
        self._signer = signer
        self._bodies = bodies

    async def handle(self, request: Request) -> Response:
        limits = self._bodies.limits
        raw = await self._bodies.read(request)
        if raw is None:
            return to_response(too_large_reply(limits.max_body_bytes))
        try:
            body = parse_json_body(raw, request.headers.get("content-type"), limits.max_json_depth)
            subject_id, scopes, ttl = self._read(body)
            token = self._signer.issue(subject_id, scopes, ttl)
        except BadRequestError as e:
            return error_response(400, "bad_request", str(e))
        except ValidationError as e:
            return validation_error_response([err.prefixed("body") for err in e.errors])
        logger.info("issued a debug token for subject %r with scopes %r", subject_id, scopes)
        return JSONResponse(token, headers={"Cache-Control": "no-store"})  # RFC 6749 §5.1

    def _read(self, body: dict[str, Any]) -> tuple[str | None, list[str], int]:
        errors = [FieldError((k,), "unexpected field") for k in sorted(body) if k not in self._FIELDS]
        subject_id = body.get("subject_id", "debug-user")
        if subject_id is not None and (not isinstance(subject_id, str) or not subject_id):
            errors.append(FieldError(("subject_id",), "must be a non-empty string or null"))
        scopes = body.get("scopes", [])
        if not isinstance(scopes, list):
            errors.append(FieldError(("scopes",), "must be an array of scope strings"))
            scopes = []
        ttl = body.get("ttl", DEBUG_TOKEN_TTL)
        if errors:
            raise ValidationError(errors)
        return subject_id, scopes, ttl
