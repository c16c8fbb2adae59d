"""The API router function: the whole app's REST, GraphQL and OpenAPI in one OpenFaaS function,
each action's call forwarded to the action's own function through the gateway.

REST requests are forwarded as they came to the action's function
(:class:`~servey_faas.faas.deploy.proxy.ProxyRouter`), which answers its REST path as the dev server
does: access control and validation happen there, and the router imports neither the actions nor
GraphQL to serve them. GraphQL and the docs are :func:`servey_faas.web.create_app` over a
:class:`~servey_faas.app.ServeyApp` whose invokers are :class:`RemoteInvoker`\\ s, built on first
use: access control and params validation stay local (an invalid call never reaches the gateway);
the loaded params are marshalled back to JSON, sent to ``POST /function/<prefix><action>``
(``docs/openfaas.md#synchronous-invocation``), and the JSON result is loaded into the action's declared
return type, so GraphQL's nested fields get real objects. Calls carry a scoped function token when
function auth is on (``docs/openfaas.md#gateway-tokens-and-function-tokens``), and the end user's
bearer token travels with every call so that the function decides access itself (see
:data:`USER_AUTHORIZATION_HEADER`).

Environment of the router function (written by the packager into ``stack.yml``):

========================== ===================================================================
``SERVEY_ROUTER_MODE``     ``gateway`` (default): call each action's function; ``in-process``:
                           run the actions in the router itself (one function for everything)
``OPENFAAS_URL``           the gateway the functions are called through
``SERVEY_FUNCTION_AUTH``   ``true``: invoke with scoped function tokens exchanged from the
                           service account token (``token_mount_path``, ``docs/openfaas.md#upstream-token-sources``)
``SERVEY_FUNCTION_NAMESPACE`` the functions' namespace (else ``OPENFAAS_NAMESPACE``, else
                           ``openfaas-fn``)
``SERVEY_ROUTER_MAX_RESPONSE_BYTES`` the largest answer of a function the router passes on
                           (default 64 MiB); a larger one is a ``502``
========================== ===================================================================
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from servey_faas.action import Action
from servey_faas.authorization import Authorization
from servey_faas.errors import ConfigurationError, InvocationError, ServeyFaasError
from servey_faas.faas.deploy.proxy import MAX_RESPONSE_BYTES, ProxyRouter, proxy_routes, reaching, read_routes
from servey_faas.faas.wire import USER_AUTHORIZATION_HEADER
from servey_faas.invocation import ActionInvoker
from servey_faas.naming import function_name
from servey_faas.schemas import TypeCodec
from servey_faas.types import JSON

if TYPE_CHECKING:
    from starlette.routing import BaseRoute
    from starlette.types import ASGIApp, Receive, Scope, Send

    from servey_faas.app import ServeyApp
    from servey_faas.faas.client import AsyncGatewayClient, GatewayClient

#: Router modes (``SERVEY_ROUTER_MODE``).
GATEWAY_MODE = "gateway"
IN_PROCESS_MODE = "in-process"

_TRUE = frozenset({"1", "true", "yes", "on"})
_user_authorization: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "servey_faas_router_user_authorization", default=None
)


class RemoteInvoker(ActionInvoker):
    """An :class:`ActionInvoker` whose :meth:`call` runs the action in its own OpenFaaS function.

    ``function`` is the function's name, ``namespace`` its namespace (None: the client's);
    ``client`` a :class:`~servey_faas.faas.AsyncGatewayClient` (or a sync
    :class:`~servey_faas.faas.GatewayClient`, called in a worker thread). ``function_auth`` says
    where the caller's bearer token goes: in ``Authorization`` (no function auth), or in
    :data:`USER_AUTHORIZATION_HEADER` when ``Authorization`` carries the function token.
    ``schemas`` is the action's schema document, as :class:`ActionInvoker` takes it.

    :raises ActionDefinitionError: as :class:`ActionInvoker`.
    """

    def __init__(
        self,
        action: Action,
        codec: TypeCodec,
        function: str,
        *,
        client: AsyncGatewayClient | GatewayClient,
        namespace: str | None = None,
        function_auth: bool = False,
        schemas: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(action, codec, schemas=schemas)
        self.function = function
        self.namespace = namespace
        self.client = client
        self._token_header = USER_AUTHORIZATION_HEADER if function_auth else "Authorization"

    def __repr__(self) -> str:
        return f"RemoteInvoker({self.name!r}, function={self.function!r}, namespace={self.namespace!r})"

    def remote_params(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The JSON params object for loaded ``kwargs``; the :class:`Authorization` parameter is
        left out (identity never travels in a payload)."""
        return self.example_params({k: v for k, v in kwargs.items() if k != self.authorization_param})

    def headers(self) -> dict[str, str]:
        """Headers of the function call: JSON in and out, and the caller's bearer token if any."""
        headers = {"Accept": "application/json"}
        token = _user_authorization.get()
        if token is not None:
            headers[self._token_header] = token
        return headers

    async def call(self, kwargs: Mapping[str, Any]) -> Any:
        """Call the function with ``kwargs`` (loaded and validated) and return the result as the
        declared return type.

        :raises BadGatewayError: when the function cannot be reached through the gateway.
        :raises FunctionError: for a non-2xx answer of the function itself.
        :raises InvocationError: when the answer is not JSON of the declared type.
        """
        from servey_faas.faas.client import AsyncGatewayClient

        params, headers = self.remote_params(kwargs), self.headers()
        with self._reaching():
            if isinstance(self.client, AsyncGatewayClient):
                response = await self.client.invoke(self.function, params, namespace=self.namespace, headers=headers)
            else:
                from anyio import to_thread

                sync_client = self.client
                response = await to_thread.run_sync(
                    lambda: sync_client.invoke(self.function, params, namespace=self.namespace, headers=headers)
                )
        return self.load_result(response.status_code, response.content)

    def _reaching(self) -> contextlib.AbstractContextManager[None]:
        """See :func:`~servey_faas.faas.deploy.proxy.reaching`."""
        return reaching(self.client.gateway_url, self.function)

    def invoke_sync(self, params: Mapping[str, Any], authorization: Authorization | None = None) -> JSON:
        """Like :meth:`ActionInvoker.invoke_sync`, through the function (a sync client only).

        :raises ConfigurationError: when the client is an ``AsyncGatewayClient``.
        """
        from servey_faas.faas.client import GatewayClient

        if not isinstance(self.client, GatewayClient):
            raise ConfigurationError(f"{self!r} has an AsyncGatewayClient: use invoke()")
        kwargs = self.load_params(params, authorization)
        with self._reaching():
            response = self.client.invoke(
                self.function, self.remote_params(kwargs), namespace=self.namespace, headers=self.headers()
            )
        return self.dump_result(self.load_result(response.status_code, response.content))

    def load_result(self, status: int, body: bytes) -> Any:
        """The declared return value from a 2xx answer's JSON ``body``.

        :raises InvocationError: when the body is not JSON of the declared type.
        """
        import json

        try:
            data = json.loads(body)
        except ValueError as e:
            raise InvocationError(
                f"function {self.function} answered {status} without a JSON body: {body[:200]!r}"
            ) from e
        try:
            return self.codec.load(self.result_type, data)
        except Exception as e:
            raise InvocationError(
                f"function {self.function} answered a result that is not a {self.result_type!r}: {e}"
            ) from e


def remote_app(
    app: ServeyApp,
    client: AsyncGatewayClient | GatewayClient,
    *,
    prefix: str = "",
    namespace: str | None = None,
    function_auth: bool = False,
) -> ServeyApp:
    """``app`` with every invoker replaced by a :class:`RemoteInvoker` calling the function
    ``function_name(action, prefix)`` (the packager's names) in ``namespace``; each takes its
    schemas from ``app``'s invoker (not generated again).

    :raises ConfigurationError: when a function name is not a DNS-1123 label.
    """
    codec = TypeCodec()
    invokers = {
        action.name: RemoteInvoker(
            action,
            codec,
            function_name(action.name, prefix),
            client=client,
            namespace=namespace,
            function_auth=function_auth,
            schemas=app.invokers[action.name].schema_document,
        )
        for action in app.actions.values()
    }
    return dataclasses.replace(app, invokers=invokers)


class _CaptureAuthorization:
    """ASGI middleware keeping the request's ``Authorization`` for the :class:`RemoteInvoker`\\ s
    of the request (a context variable, so concurrent requests never see each other's)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        value = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"authorization"), None)
        token = _user_authorization.set(value)
        try:
            await self.app(scope, receive, send)
        finally:
            _user_authorization.reset(token)


def router_app(
    app: ServeyApp,
    *,
    mode: str = GATEWAY_MODE,
    client: AsyncGatewayClient | GatewayClient | None = None,
    prefix: str = "",
    namespace: str | None = None,
    function_auth: bool = False,
    environ: Mapping[str, str] | None = None,
    openapi: bytes | None = None,
) -> ASGIApp:
    """The router's ASGI app: REST, GraphQL, OpenAPI and docs of ``app``, plus ``GET /_/ready`` (the
    watchdog's ``ready_path``, ``docs/openfaas.md#health-and-readiness``), with no local schedules
    (cron-connector owns them on OpenFaaS, ``docs/openfaas.md#cron-connector``).

    In ``gateway`` mode every action runs in its own function through ``client`` (default: an
    :class:`~servey_faas.faas.AsyncGatewayClient` for ``OPENFAAS_URL``, without gateway
    credentials, exchanging the service account token for scoped function tokens when
    ``function_auth``, ``docs/openfaas.md#gateway-tokens-and-function-tokens``,
    ``docs/openfaas.md#upstream-token-sources``): a :class:`~servey_faas.faas.deploy.proxy.ProxyRouter`
    forwarding REST requests as they came, the rest served by :func:`full_router_app`, built on first
    use. In ``in-process`` mode the actions run in the router (``create_app``).
    ``openapi`` is the OpenAPI document's bytes from the build context (see :func:`run`).

    :raises ConfigurationError: for an unknown mode, a bad function name, or a sync ``GatewayClient``
        in ``gateway`` mode.
    """
    from servey_faas.faas.client import AsyncGatewayClient

    if mode == IN_PROCESS_MODE:
        from servey_faas.web import create_app

        return create_app(app, extra_routes=_ready_routes(), schedules=False, openapi=openapi)
    if mode != GATEWAY_MODE:
        raise ConfigurationError(f"SERVEY_ROUTER_MODE must be {GATEWAY_MODE!r} or {IN_PROCESS_MODE!r}, not {mode!r}")
    gateway = client if client is not None else default_client(function_auth, environ)
    if not isinstance(gateway, AsyncGatewayClient):
        raise ConfigurationError("the api router forwards requests with an AsyncGatewayClient, not a GatewayClient")

    def full() -> ASGIApp:
        return full_router_app(
            app, gateway, prefix=prefix, namespace=namespace, function_auth=function_auth, openapi=openapi
        )

    return ProxyRouter(
        proxy_routes(app.invokers, prefix),
        gateway,
        full,
        namespace=namespace,
        function_auth=function_auth,
        max_body_bytes=app.settings.limits.max_body_bytes,
        openapi=openapi,
    )


def full_router_app(
    app: ServeyApp,
    client: AsyncGatewayClient | GatewayClient,
    *,
    prefix: str = "",
    namespace: str | None = None,
    function_auth: bool = False,
    openapi: bytes | None = None,
) -> ASGIApp:
    """``create_app`` over :func:`remote_app`: GraphQL, docs and every route of the dev server, each
    action called in its own function through ``client``, plus ``GET /_/ready``; what the
    :class:`~servey_faas.faas.deploy.proxy.ProxyRouter` delegates to.

    :raises ConfigurationError: for a bad function name.
    """
    from servey_faas.web import create_app

    served = remote_app(app, client, prefix=prefix, namespace=namespace, function_auth=function_auth)
    return _CaptureAuthorization(create_app(served, extra_routes=_ready_routes(), schedules=False, openapi=openapi))


def _ready_routes() -> list[BaseRoute]:
    """``GET /_/ready``, the watchdog's ``ready_path`` (``docs/openfaas.md#health-and-readiness``)."""
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from servey_faas.faas.wire import READY_PATH

    async def ready(request: Any) -> PlainTextResponse:
        return PlainTextResponse("OK")

    return [Route(READY_PATH, ready, methods=["GET"], name="ready")]


def default_client(function_auth: bool, environ: Mapping[str, str] | None = None) -> AsyncGatewayClient:
    """The router's gateway client: ``OPENFAAS_URL`` (default ``http://127.0.0.1:8080``), no
    gateway credentials (only ``/function/*`` is called), scoped function tokens from the service
    account token when ``function_auth`` (``docs/openfaas.md#gateway-tokens-and-function-tokens``,
    ``docs/openfaas.md#upstream-token-sources``)."""
    from servey_faas.faas import AsyncGatewayClient, ServiceAccountTokenSource

    source = ServiceAccountTokenSource(environ=environ) if function_auth else None
    return AsyncGatewayClient(auth=None, function_auth=function_auth, function_token_source=source, environ=environ)


def run(
    actions: str,
    *,
    prefix: str = "",
    argv: Sequence[str] = (),
    schemas_file: str | os.PathLike[str] | None = None,
    openapi_file: str | os.PathLike[str] | None = None,
    routes_file: str | os.PathLike[str] | None = None,
) -> int:
    """The entrypoint of the router's ``index.py``: serve the router of the actions module ``actions``
    where ``upstream_url`` points (``docs/openfaas.md#ports``), configured by the environment (module
    docstring); ``--self-test`` runs every action's examples in-process instead.

    ``schemas_file``, ``openapi_file`` and ``routes_file`` are the ``schemas.json`` (every action's
    schemas, see :func:`~servey_faas.faas.runtime.app_schemas_json`), ``openapi.json`` and
    ``routes.json`` (:func:`~servey_faas.faas.deploy.proxy.routes_json`) that ``--run=build`` writes
    beside ``index.py``. In ``gateway`` mode with a routes file the router starts from it and the
    OpenAPI bytes alone (a :class:`~servey_faas.faas.deploy.proxy.ProxyRouter`): the actions are
    imported, and their schemas read, when GraphQL or the docs are first asked for. Otherwise (and
    for ``--self-test``) the actions are loaded at start-up. Schemas that do not match the actions
    (a hand-edited context) are refused with an ``Error:`` line (logged, when loaded on first use).

    Returns the exit status; a :class:`~servey_faas.errors.ServeyFaasError` at startup is printed
    as ``Error: ...`` with status 1.
    """
    from servey_faas.faas.runtime import serve_asgi
    from servey_faas.settings import Settings

    args = list(argv)
    if args not in ([], ["--self-test"]):
        sys.stderr.write(f"usage: python index.py [--self-test] (got {' '.join(args)})\n")
        return 2
    env = os.environ
    try:
        settings = dataclasses.replace(Settings.load(env), action_path=actions, function_prefix=prefix)
        mode = env.get("SERVEY_ROUTER_MODE") or GATEWAY_MODE

        def load() -> ServeyApp:
            from servey_faas.app import ServeyApp
            from servey_faas.discovery import find_actions
            from servey_faas.faas.runtime import read_app_schemas

            schemas = None if schemas_file is None else read_app_schemas(schemas_file)
            return ServeyApp.from_registry(find_actions(settings.action_path), settings, schemas=schemas)

        if args:
            from servey_faas.faas.runtime import self_test

            app = load()
            return max((self_test(app, name, sys.stdout) for name in app.invokers), default=0)
        function_auth = env.get("SERVEY_FUNCTION_AUTH", "").strip().lower() in _TRUE
        namespace = env.get("SERVEY_FUNCTION_NAMESPACE") or env.get("OPENFAAS_NAMESPACE") or None
        openapi = None if openapi_file is None else _read_openapi(openapi_file)
        options: dict[str, Any] = {"namespace": namespace, "function_auth": function_auth, "openapi": openapi}
        if mode == GATEWAY_MODE and routes_file is not None:
            client = default_client(function_auth)
            served: ASGIApp = ProxyRouter(
                read_routes(routes_file, prefix),
                client,
                lambda: full_router_app(load(), client, prefix=prefix, **options),
                max_body_bytes=settings.limits.max_body_bytes,
                max_response_bytes=_max_response_bytes(env),
                **options,
            )
        else:
            served = router_app(load(), mode=mode, prefix=prefix, **options)
        serve_asgi(served, env)
    except ServeyFaasError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    return 0


def _max_response_bytes(env: Mapping[str, str]) -> int:
    """``SERVEY_ROUTER_MAX_RESPONSE_BYTES`` (default :data:`~servey_faas.faas.deploy.proxy.MAX_RESPONSE_BYTES`).

    :raises ConfigurationError: when it is not a positive integer."""
    value = env.get("SERVEY_ROUTER_MAX_RESPONSE_BYTES", "").strip()
    if not value:
        return MAX_RESPONSE_BYTES
    if not value.isdigit() or int(value) < 1:
        raise ConfigurationError(f"SERVEY_ROUTER_MAX_RESPONSE_BYTES must be a positive integer (bytes), not {value!r}")
    return int(value)


def _read_openapi(path: str | os.PathLike[str]) -> bytes:
    """The bytes of the OpenAPI file ``path``.

    :raises ConfigurationError: naming ``path`` when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ConfigurationError(f"cannot read the OpenAPI file {os.fspath(path)}: {e.strerror or e}") from e
