"""The API router's REST path: each REST request forwarded as it came to the action's own function.

The router knows the app's REST routes from its build context (:data:`ROUTES_FILE`, written by
``--run=build``: method, path, action and timeout of each) and sends a request matching one to
``/function/<function><path>`` through the gateway (``docs/openfaas.md#url-rules``) with its method,
query string, body, ``Content-Type``, ``Accept``, ``If-None-Match`` and the caller's
``Authorization`` (in :data:`~servey_faas.faas.wire.USER_AUTHORIZATION_HEADER` when
``Authorization`` carries a scoped function token, ``docs/openfaas.md#gateway-tokens-and-function-tokens``). The
function answers its REST path as the dev server does (``docs/architecture.md#a-request-through-the-api-router``):
access control, validation, result and caching headers are its own; the router answers with its
status, body and the headers the dev server sends (:data:`PASSED_HEADERS`). So the REST path
imports neither the actions nor GraphQL, schemas or a web framework, and the router starts about as
fast as an action's function (``bench/coldstart.py``).

The router's own answers: ``413`` for a body over ``max_body_bytes``; ``504`` ``gateway_timeout``
past the action's ``timeout`` (the dev server's message); ``502`` ``bad_gateway`` naming the gateway
when it cannot be reached, when the platform answers instead of the function, or when the
function's answer is larger than ``max_response_bytes``; ``GET /_/ready`` and ``GET /openapi.json``
(the build context's bytes). Every other request (GraphQL, ``/docs``, an unknown path or method)
goes to the full router app, built on first use (:class:`ProxyRouter`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from servey_faas.errors import ActionTimeoutError, BadGatewayError, ConfigurationError
from servey_faas.faas.wire import READY_PATH, USER_AUTHORIZATION_HEADER
from servey_faas.naming import function_name
from servey_faas.triggers import path_matcher

if TYPE_CHECKING:
    import re

    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from servey_faas.faas.client import AsyncGatewayClient
    from servey_faas.invocation import ActionInvoker
    from servey_faas.web.handling import Reply, WebRoute

logger = logging.getLogger("servey_faas.router")

#: The file beside the API router's ``index.py`` with its REST routes (:func:`routes_json`).
ROUTES_FILE = "routes.json"
#: ``GET /openapi.json`` (as :data:`servey_faas.web.docs.OPENAPI_PATH`).
OPENAPI_PATH = "/openapi.json"
#: The largest answer of a function the router keeps, in bytes (``SERVEY_ROUTER_MAX_RESPONSE_BYTES``).
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: Response headers passed on from the function: those the dev server's routes set beside
#: ``Content-Type`` and ``Content-Length`` (:mod:`servey_faas.web.handling`: caching headers,
#: bearer challenges, ``Allow``). The gateway's own (``X-Call-Id``, ``X-Duration-Seconds``...) are not.
PASSED_HEADERS = frozenset({b"allow", b"cache-control", b"etag", b"expires", b"vary", b"www-authenticate"})
_FORWARDED_HEADERS = {b"content-type": "Content-Type", b"accept": "Accept"}
_READY_HEADERS = [(b"content-length", b"2"), (b"content-type", b"text/plain; charset=utf-8")]


@dataclass(frozen=True)
class ProxyRoute:
    """One REST route: ``method`` and ``path`` (with ``{param}`` placeholders) of ``action``, served
    by the function ``function`` within ``timeout`` seconds."""

    method: str
    path: str
    action: str
    function: str
    timeout: float

    @property
    def reads_body(self) -> bool:
        """True when the request body carries the params (as :attr:`WebTrigger.reads_body`)."""
        return self.method not in ("GET", "DELETE")


def routes_json(invokers: Mapping[str, ActionInvoker]) -> bytes:
    """The bytes of the router's :data:`ROUTES_FILE`: ``{"routes": [{"method": ..., "path": ...,
    "action": ..., "timeout": <seconds>}, ...]}`` for every web route of ``invokers`` in the dev
    server's order, as UTF-8 JSON with an indent of 2 and a trailing newline.

    :raises ActionDefinitionError: as :func:`~servey_faas.web.handling.web_routes`.
    """
    routes = [
        {"method": r.method, "path": r.path, "action": r.invoker.name, "timeout": r.invoker.action.timeout}
        for r in _web_routes(invokers)
    ]
    return (json.dumps({"routes": routes}, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def proxy_routes(invokers: Mapping[str, ActionInvoker], prefix: str = "") -> list[ProxyRoute]:
    """The :class:`ProxyRoute`\\ s of ``invokers``, each served by ``function_name(action, prefix)``.

    :raises ActionDefinitionError: as :func:`~servey_faas.web.handling.web_routes`.
    :raises ConfigurationError: when a function name is not a DNS-1123 label.
    """
    return [
        ProxyRoute(r.method, r.path, r.invoker.name, function_name(r.invoker.name, prefix), r.invoker.action.timeout)
        for r in _web_routes(invokers)
    ]


def _web_routes(invokers: Mapping[str, ActionInvoker]) -> Iterator[WebRoute]:
    from servey_faas.web.handling import web_routes

    return web_routes(invokers)


def read_routes(path: str | os.PathLike[str], prefix: str = "") -> list[ProxyRoute]:
    """The routes in the router's :data:`ROUTES_FILE` ``path`` (see :func:`routes_json`), each
    served by ``function_name(action, prefix)``.

    :raises ConfigurationError: naming ``path``, when it is missing, unreadable, not JSON or not
        such an object.
    """
    shown = os.fspath(path)
    try:
        with open(path, "rb") as f:
            document = json.load(f)
    except OSError as e:
        raise ConfigurationError(f"cannot read the routes file {shown}: {e.strerror or e}") from e
    except ValueError as e:
        raise ConfigurationError(f"the routes file {shown} is not JSON: {e}") from e
    entries = document.get("routes") if isinstance(document, dict) else None
    try:
        if not isinstance(entries, list):
            raise TypeError("no list of routes")
        return [_route(entry, prefix) for entry in entries]
    except (KeyError, TypeError) as e:
        raise ConfigurationError(
            f"the routes file {shown} is not an object with a list of routes (method, path, action, timeout)"
        ) from e


def _route(entry: Any, prefix: str) -> ProxyRoute:
    """One entry of a routes file. :raises KeyError, TypeError: when it is not a route."""
    method, path, action, timeout = entry["method"], entry["path"], entry["action"], entry["timeout"]
    if not all(isinstance(v, str) for v in (method, path, action)) or not isinstance(timeout, int | float):
        raise TypeError("not a route")
    return ProxyRoute(method, path, action, function_name(action, prefix), float(timeout))


@contextmanager
def reaching(gateway: str, function: str) -> Iterator[None]:
    """Turn "the function cannot be reached" into a :class:`BadGatewayError` naming the gateway: no
    answer from the gateway at all, or a platform error in front of the function (no replica, the
    watchdog cannot reach it..., ``docs/openfaas.md#responses-and-platform-errors``). The function's
    own errors pass unchanged.

    :raises BadGatewayError: as said."""
    from servey_faas.faas.client import FunctionError, GatewayConnectionError

    try:
        yield
    except GatewayConnectionError as e:
        raise BadGatewayError(
            f"cannot reach the gateway at {gateway} to call function {function}: {e} "
            "(the api router's OPENFAAS_URL, set by router_gateway when building)"
        ) from e
    except FunctionError as e:
        if not e.is_platform_error:
            raise
        raise BadGatewayError(f"function {function} is not available through the gateway at {gateway}: {e}") from e


class ProxyRouter:
    """The API router's ASGI app in ``gateway`` mode: REST requests matching ``routes`` forwarded to
    their functions through ``client`` (module docstring), ``GET /_/ready`` and ``GET /openapi.json``
    (``openapi``, None: left to the full app) answered here, everything else delegated to the app
    ``full()`` returns.

    ``full`` is called once, on the first request that needs it, in a worker thread (it imports the
    actions and builds the GraphQL schema), under a lock: the requests that need it wait for it, REST
    requests go on meanwhile. A ``full()`` that raises is logged and every request that needed it is
    answered ``500 internal_error`` (it is not retried: it would fail the same way).

    ``function_auth`` says where the caller's ``Authorization`` goes (see the module docstring);
    ``max_body_bytes`` bounds request bodies (413), ``max_response_bytes`` the function's answers (502).
    """

    def __init__(
        self,
        routes: Sequence[ProxyRoute],
        client: AsyncGatewayClient,
        full: Callable[[], ASGIApp],
        *,
        namespace: str | None = None,
        function_auth: bool = False,
        max_body_bytes: int,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        openapi: bytes | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.max_body_bytes = max_body_bytes
        self.max_response_bytes = max_response_bytes
        self._token_header = USER_AUTHORIZATION_HEADER if function_auth else "Authorization"
        self._literal: dict[tuple[str, str], ProxyRoute] = {}
        self._patterns: list[tuple[ProxyRoute, re.Pattern[str]]] = []
        for route in routes:
            pattern = path_matcher(route.path)
            if pattern is None:
                self._literal.setdefault((route.method, route.path), route)
            else:
                self._patterns.append((route, pattern))
        self._openapi = openapi
        self._openapi_headers = [
            (b"content-length", str(len(openapi or b"")).encode()),
            (b"content-type", b"application/json"),
        ]
        self._build = full
        self._full: ASGIApp | None = None
        self._failed = False
        self._lock = asyncio.Lock()

    def match(self, method: str, path: str) -> ProxyRoute | None:
        """The route serving ``method`` (HEAD as GET) on ``path``, if any."""
        method = "GET" if method == "HEAD" else method
        route = self._literal.get((method, path))
        if route is not None:
            return route
        for candidate, pattern in self._patterns:
            if candidate.method == method and pattern.fullmatch(path):
                return candidate
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            route = self.match(method, path)
            if route is not None:
                await self._forward(route, scope, receive, send)
                return
            if path == READY_PATH and method in ("GET", "HEAD"):  # the watchdog's ready_path
                await _send(send, method, 200, _READY_HEADERS, b"OK")
                return
            if path == OPENAPI_PATH and method in ("GET", "HEAD") and self._openapi is not None:
                await _send(send, method, 200, self._openapi_headers, self._openapi)
                return
        full = self._full or await self._built()
        if full is None:
            await _send_reply(send, scope.get("method", "GET"), _reply(500, "internal_error", "internal server error"))
            return
        await full(scope, receive, send)

    async def _built(self) -> ASGIApp | None:
        async with self._lock:
            if self._full is None and not self._failed:
                try:
                    self._full = await asyncio.get_running_loop().run_in_executor(None, self._build)
                except Exception:
                    logger.exception("the api router's GraphQL and docs app cannot be built")
                    self._failed = True
            return self._full

    # --- forwarding -------------------------------------------------------------------------------

    async def _forward(self, route: ProxyRoute, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        headers, body_length = self._request_headers(scope["headers"])
        body = b""
        if route.reads_body:
            try:
                read = await _read_body(receive, body_length, self.max_body_bytes)
            except _ClientGone:
                return
            if read is None:
                from servey_faas.web.handling import too_large_reply

                await _send_reply(send, method, too_large_reply(self.max_body_bytes))
                return
            body = read
        raw_path = scope.get("raw_path")
        path = raw_path.decode("latin-1") if raw_path else scope["path"]
        query = scope["query_string"].decode("latin-1")
        try:
            async with asyncio.timeout(route.timeout):
                status, passed, answer = await self._call(route, method, path, query, headers, body)
        except TimeoutError:
            error = ActionTimeoutError(route.action, route.timeout)
            logger.warning("%s on %s %s", error, method, scope["path"])
            await _send_reply(send, method, _reply(504, "gateway_timeout", str(error)))
            return
        except BadGatewayError as e:
            logger.warning("action %r on %s %s: %s", route.action, method, scope["path"], e)
            await _send_reply(send, method, _reply(502, "bad_gateway", str(e)))
            return
        except Exception:
            logger.exception("action %r failed on %s %s", route.action, method, scope["path"])
            await _send_reply(send, method, _reply(500, "internal_error", "internal server error"))
            return
        await _send(send, method, status, passed, answer)

    def _request_headers(self, raw: Iterable[tuple[bytes, bytes]]) -> tuple[dict[str, str], int | None]:
        """The headers forwarded to the function, and the request's ``Content-Length`` (None: not given)."""
        headers: dict[str, str] = {}
        if_none_match: list[str] = []
        length = None
        for name, value in raw:
            text = value.decode("latin-1")
            forwarded = _FORWARDED_HEADERS.get(name)
            if forwarded is not None:
                headers.setdefault(forwarded, text)
            elif name == b"authorization":
                headers.setdefault(self._token_header, text)
            elif name == b"if-none-match":
                if_none_match.append(text)
            elif name == b"content-length" and text.isdigit():
                length = int(text)
        if if_none_match:  # as the dev server reads them: every value, joined
            headers["If-None-Match"] = ", ".join(if_none_match)
        return headers, length

    async def _call(
        self, route: ProxyRoute, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The function's status, the headers to pass on (``Content-Length`` and ``Content-Type``
        last, as Starlette orders them) and its body.

        :raises BadGatewayError: as :func:`reaching`, or for an answer over ``max_response_bytes``."""
        from servey_faas.faas.client import FunctionError

        client = self.client
        with reaching(client.gateway_url, route.function):
            async with client.stream_invoke(
                route.function,
                body if route.reads_body else None,
                namespace=self.namespace,
                # HEAD as the GET it stands for (the dev server runs the GET route for it): the length
                # of the body not sent is the GET's, whatever the gateway does with a HEAD's headers
                method="GET" if method == "HEAD" else method,
                headers=headers,
                query=query,
                path=path,
                timeout=route.timeout + 1,  # the router's own timeout (504) comes first
            ) as response:
                answer = bytearray()
                async for chunk in response.aiter_bytes():
                    answer += chunk
                    if len(answer) > self.max_response_bytes:
                        raise BadGatewayError(
                            f"function {route.function} answered more than the router's limit of "
                            f"{self.max_response_bytes} bytes (SERVEY_ROUTER_MAX_RESPONSE_BYTES)"
                        )
            status = response.status_code
            if response.headers.get("x-openfaas-internal") is not None or (status == 502 and not answer):
                text = answer.decode("utf-8", "replace")
                call_id = response.headers.get("x-call-id")
                raise FunctionError(
                    f"{route.function}.{self.namespace or client.namespace}",
                    status,
                    text,
                    headers=response.headers,
                    call_id=call_id,
                )
        passed = [(k.lower(), v) for k, v in response.headers.raw if k.lower() in PASSED_HEADERS]
        if status not in (204, 304):
            passed.append((b"content-length", str(len(answer)).encode("latin-1")))
        content_type = response.headers.get("content-type")
        if content_type is not None:
            passed.append((b"content-type", content_type.encode("latin-1")))
        return status, passed, bytes(answer)


class _ClientGone(Exception):
    """The client went away while its request body was read."""


async def _read_body(receive: Receive, length: int | None, limit: int) -> bytes | None:
    """The request body, or None when it is larger than ``limit`` bytes: known from
    ``Content-Length`` before anything is read, or as soon as what arrived is larger (never more
    than the limit plus one chunk is kept), as the dev server reads it (:class:`~servey_faas.web.bodies.Bodies`)."""
    if length is not None and length > limit:
        return None
    body = bytearray()
    while True:
        message: Message = await receive()
        if message["type"] != "http.request":  # http.disconnect: nobody is left to answer
            raise _ClientGone
        body += message.get("body", b"")
        if len(body) > limit:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def _reply(status: int, error: str, message: str) -> Reply:
    from servey_faas.web.handling import error_reply

    return error_reply(status, error, message)


async def _send_reply(send: Send, method: str, reply: Reply) -> None:
    """``reply`` as Starlette sends a :class:`~servey_faas.web.handling.Reply` (its headers, then
    ``Content-Length`` and ``Content-Type``)."""
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    headers.append((b"content-length", str(len(reply.body)).encode()))
    if reply.media_type is not None:
        headers.append((b"content-type", reply.media_type.encode("latin-1")))
    await _send(send, method, reply.status, headers, reply.body)


async def _send(send: Send, method: str, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


async def _lifespan(receive: Receive, send: Send) -> None:
    """The ASGI lifespan protocol, with nothing to start or stop (schedules are cron-connector's)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
