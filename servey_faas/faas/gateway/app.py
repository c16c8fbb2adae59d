"""The gateway's ASGI app: the OpenFaaS gateway REST API (gateway-spec.openapi.yml) with the
community-edition behaviour of ``docs/openfaas.md#gateway-rest-api``, over a
:class:`~.provider.Provider`.

Routes: ``GET /healthz``; ``/system/info``, ``/system/functions`` (GET, POST, PUT, DELETE),
``/system/function/{name}``, ``/system/scale-function/{name}``, ``/system/secrets`` (GET, POST, PUT,
DELETE), ``/system/logs``, ``/system/namespaces`` and ``/system/namespace/{ns}`` (all behind basic
auth when it is on, ``docs/openfaas.md#basic-auth-on-ce``); any method on
``/function/{name}[.{ns}][/path]``; POST ``/async-function/{name}[.{ns}][/path]`` (202, queued
durably, run by the queue-worker, ``docs/openfaas.md#asynchronous-invocation-and-callbacks``); the
OpenFaaS IAM routes ``/oauth/token``, ``/.well-known/openid-configuration`` and
``/.well-known/jwks.json`` (``docs/openfaas.md#iam-and-function-tokens``) when IAM is on. Everything
else answers ``404 page not found``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import platform
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from servey_faas.faas.client.models import FunctionDeployment, GatewayInfo, Secret, VersionInfo
from servey_faas.faas.gateway.credentials import BasicCredentials
from servey_faas.faas.gateway.cron import CronConnector
from servey_faas.faas.gateway.iam import LocalIAM
from servey_faas.faas.gateway.logs import LogBook, LogQuery
from servey_faas.faas.gateway.protocol import (
    ASYNC_BODY_LIMIT,
    GATEWAY_VERSION,
    INVOKE_METHODS,
    PAGE_NOT_FOUND,
    SERVED_BY,
    basic_auth_denied,
    function_status,
    go_bool,
    split_target,
)
from servey_faas.faas.gateway.provider import Deployed, Provider, valid_name
from servey_faas.faas.gateway.proxy import InvocationProxy
from servey_faas.faas.gateway.queue import AsyncQueue, QueuedRequest
from servey_faas.faas.gateway.retrying import QueueRetryPolicy
from servey_faas.faas.gateway.worker import QueueWorker
from servey_faas.faas.wire import DEFAULT_NAMESPACE

#: CE clamps ``replicas`` of a scale request to this range
#: (``docs/openfaas.md#q3-scaling-is-clamped-between-1-and-5``).
MIN_REPLICAS, MAX_REPLICAS = 1, 5
#: Labels and annotations of a namespace the Enterprise gateway manages (``docs/openfaas.md#functionnamespace``).
_MANAGED = {"openfaas": "1"}
#: A hook given each callback response of the queue-worker (its request included).
CallbackHook = Callable[[httpx.Response], Awaitable[None]]


class _BadRequest(Exception):
    """A request the gateway answers 400 (message as the body)."""


class GatewayApp:
    """The gateway's routes (:attr:`app`, an ASGI app) over ``provider``, with its queue-worker and
    cron-connector.

    ``logs`` holds the functions' log lines (``/system/logs``); ``iam`` issues and checks tokens
    (its routes are served when ``iam_routes``); ``credentials`` turn basic auth on for
    ``/system/*``, which also takes a gateway API token of ``iam``; without them ``/system/*`` needs
    such a token when ``iam`` trusts some subject, else nothing
    (``docs/openfaas.md#basic-auth-on-ce``,
    ``docs/openfaas.md#gateway-tokens-and-function-tokens``). The async queue is the SQLite file
    ``queue_path`` (``":memory:"``: kept in memory); ``max_inflight`` jobs run at once (CE: 1,
    ``docs/openfaas.md#the-ce-queue-worker``), failed ones retried by ``retry`` (default: never, as
    CE); the worker waits up to ``ready_timeout`` seconds for a function with no ready replica;
    ``upstream_timeout`` seconds bound the start of a function's answer
    (``docs/openfaas.md#gateway-configuration-and-timeouts``). ``callback_hooks`` see each
    callback's response. ``cron``: run the cron-connector (``docs/openfaas.md#cron-connector``).

    These may change while it serves: :attr:`namespaces` (``/system/namespaces``; a deployment or
    secret elsewhere is 400), :attr:`namespace_management` (Enterprise namespace CRUD on
    ``/system/namespace/``; off: 501 and 405 as CE) and :attr:`async_enabled` (off: no NATS, so
    ``/async-function`` is 404, ``docs/openfaas.md#q5-async-needs-nats``).

    Serve :attr:`app` with a lifespan-aware server (uvicorn), or call :meth:`start` and :meth:`stop`
    around its use in one event loop.
    """

    def __init__(
        self,
        provider: Provider,
        *,
        logs: LogBook,
        iam: LocalIAM,
        queue_path: Path | str,
        credentials: BasicCredentials | None = None,
        iam_routes: bool = True,
        cron: bool = True,
        namespaces: Sequence[str] = (DEFAULT_NAMESPACE,),
        ready_timeout: float = 60.0,
        upstream_timeout: float = 60.0,
        max_inflight: int = 1,
        retry: QueueRetryPolicy | None = None,
        callback_hooks: Sequence[CallbackHook] = (),
    ) -> None:
        self.provider = provider
        self.logs = logs
        self.iam = iam
        self.namespaces = list(namespaces)
        self.namespace_management = False
        self.async_enabled = True
        self._queue_path = queue_path
        self._cron = cron
        self._ready_timeout = ready_timeout
        self._max_inflight = max_inflight
        self._retry = retry or QueueRetryPolicy()
        self._callback_hooks = list(callback_hooks)
        self._invocations: dict[tuple[str, str], int] = {}
        self._stopping = threading.Event()
        self._proxy = InvocationProxy(
            provider, upstream_timeout=upstream_timeout, count=self._count, guard=self._jwt_auth
        )
        self._routes = self._starlette(iam_routes)
        self.app: ASGIApp = _SystemAuth(self._routes, credentials, iam if iam_routes else None)
        self.queue: AsyncQueue | None = None
        #: The event loop it was started in (``None``: not started, or stopped).
        self.loop: asyncio.AbstractEventLoop | None = None
        self._running: contextlib.AsyncExitStack | None = None

    # --- assembly ------------------------------------------------------------------------------

    def _starlette(self, iam_routes: bool) -> Starlette:
        routes = [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/system/info", self.info, methods=["GET"]),
            Route("/system/functions", self.functions, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/system/function/{name}", self.function, methods=["GET"]),
            Route("/system/scale-function/{name}", self.scale, methods=["POST"]),
            Route("/system/secrets", self.secrets, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/system/logs", self.function_logs, methods=["GET"]),
            Route("/system/namespaces", self.list_namespaces, methods=["GET"]),
            Route("/system/namespace/{ns:path}", self.namespace, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/function/{target:path}", self.invoke, methods=list(INVOKE_METHODS)),
            Route("/async-function/{target:path}", self.enqueue, methods=list(INVOKE_METHODS)),
        ]
        if iam_routes:
            routes += [
                Route("/oauth/token", self.iam.token, methods=["GET", "POST"]),
                Route("/.well-known/openid-configuration", self.iam.discovery, methods=["GET"]),
                Route("/.well-known/jwks.json", self.iam.jwks, methods=["GET"]),
            ]
        return Starlette(
            routes=routes,
            lifespan=self._lifespan,
            exception_handlers={HTTPException: _http_exception, _BadRequest: _bad_request},
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        """Open the queue (jobs left running by a stop are queued again), start the provider, the
        cron-connector and the queue-worker, in the running event loop. A start in another loop
        than a previous one (which then ended) starts afresh."""
        self._stopping.clear()
        self._change = asyncio.Lock()
        self.loop = asyncio.get_running_loop()
        stack = contextlib.AsyncExitStack()
        try:
            routes = httpx.ASGITransport(app=self._routes)
            # the CE worker has no overall timeout (``docs/openfaas.md#the-ce-queue-worker``)
            itself = httpx.AsyncClient(transport=routes, base_url="http://gateway", timeout=None)  # noqa: S113
            await stack.enter_async_context(itself)
            callbacks = httpx.AsyncClient(event_hooks={"response": self._callback_hooks})
            await stack.enter_async_context(callbacks)
            self.queue = queue = AsyncQueue(self._queue_path)
            stack.callback(queue.close)
            queue.recover()
            await stack.enter_async_context(self.provider.lifespan())
            self.cron = CronConnector(itself, self.logs)  # see :mod:`~.cron`
            stack.push_async_callback(self.cron.close)
            self._schedule()
            self.worker = QueueWorker(
                queue,
                itself,
                callbacks,
                max_inflight=self._max_inflight,
                wait_ready=self._wait_ready,
                retry=self._retry,
            )
            working = self.loop.create_task(self.worker.run(), name="queue-worker")
            stack.push_async_callback(_cancel, working)
        except BaseException:
            await stack.aclose()
            raise
        self._running = stack

    async def stop(self) -> None:
        """Stop the queue-worker, the cron-connector and the provider; close the queue."""
        self._stopping.set()
        running, self._running, self.queue = self._running, None, None
        if running is not None:
            await running.aclose()
        self.loop = None

    def end_streams(self) -> None:
        """End the log streams being followed (from any thread), so that a server can stop."""
        self._stopping.set()

    def pending(self) -> int:
        """How many async jobs are queued or running (0 when the gateway is not started)."""
        queue = self.queue
        return 0 if queue is None else queue.pending()

    # --- helpers -------------------------------------------------------------------------------

    def _count(self, namespace: str, name: str) -> None:
        self._invocations[(namespace, name)] = self._invocations.get((namespace, name), 0) + 1

    def _schedule(self) -> None:
        """Tell the cron-connector the deployments changed
        (``docs/openfaas.md#discovery-invocation-and-auth``: added, updated, removed)."""
        if self._cron:
            self.cron.refresh(d.spec for d in self.provider.functions(DEFAULT_NAMESPACE))

    def _jwt_auth(self, request: Request, namespace: str, name: str, sub_path: str) -> Response | dict[str, str]:
        """of-watchdog's ``jwt_auth`` checks (``docs/openfaas.md#token-checks-in-of-watchdog``) for
        a function deployed with ``jwt_auth=true``."""
        deployed = self.provider.get(namespace, name)
        if deployed is None or not go_bool(deployed.spec.env_vars.get("jwt_auth", "")):
            return {}
        headers = {k.lower(): v for k, v in request.headers.items()}
        return self.iam.check_invoke(headers, self.iam.issuer(request), namespace, name, sub_path)

    async def _wait_ready(self, function: str) -> None:
        """Wait (up to ``ready_timeout``) until a deployed ``function`` (``name[.ns]``) has a ready replica."""
        name, namespace, _ = split_target(function)
        deadline = time.monotonic() + self._ready_timeout
        while self.provider.get(namespace, name) is not None and time.monotonic() < deadline:
            if self.provider.available(namespace, name):
                return
            await asyncio.sleep(0.05)

    def _status(self, deployed: Deployed, *, with_count: bool) -> dict[str, Any]:
        namespace, name = deployed.key
        count = float(self._invocations.get(deployed.key, 0)) if with_count else 0.0
        return function_status(
            deployed.spec,
            created_at=deployed.created_at,
            replicas=deployed.replicas,
            available_replicas=self.provider.available(namespace, name),
            invocation_count=count,
        ).to_wire()

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body())
        except ValueError as e:
            raise _BadRequest(f"invalid JSON body: {e}") from e
        if not isinstance(data, dict):
            raise _BadRequest("the body must be a JSON object")
        return data

    def _namespace(self, value: object) -> str:
        """The namespace asked for (default ``openfaas-fn``), one of :attr:`namespaces`
        (``docs/openfaas.md#passing-namespaces``)."""
        namespace = value if isinstance(value, str) and value else DEFAULT_NAMESPACE
        if namespace not in self.namespaces:
            raise _BadRequest(f"namespace {namespace} is not managed: this gateway has {', '.join(self.namespaces)}")
        return namespace

    # --- routes --------------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        """``GET /healthz``: 200 ``OK`` (not behind basic auth, ``docs/openfaas.md#basic-auth-on-ce``)."""
        return Response("OK", 200)

    async def info(self, request: Request) -> Response:
        """``GET /system/info``: ``GatewayInfo`` (``docs/openfaas.md#gatewayinfo``) naming the provider
        and its version."""
        info = GatewayInfo(
            provider=self.provider.info, version=VersionInfo(release=GATEWAY_VERSION), arch=platform.machine()
        )
        return JSONResponse(info.to_wire())

    async def functions(self, request: Request) -> Response:
        """``/system/functions``: GET lists ``FunctionStatus`` (re-serialised, omitempty, with
        ``invocationCount``, ``docs/openfaas.md#q1-listing-functions-needs-prometheus``); POST
        deploys (202; 400 for an existing function, as CE, a bad body, name, namespace, a missing
        secret or what the provider refuses); PUT replaces a deployment and restarts its replicas
        (202; 404 when missing); DELETE stops and removes (200; 404). POST and PUT answer before the
        replicas are ready, as CE answers before the image is pulled."""
        if request.method == "GET":
            namespace = self._namespace(request.query_params.get("namespace"))
            return JSONResponse([self._status(d, with_count=True) for d in self.provider.functions(namespace)])
        data = await self._json(request)
        if request.method == "DELETE":
            name = data.get("functionName")
            namespace = self._namespace(data.get("namespace"))
            if not isinstance(name, str) or not name:
                raise _BadRequest("functionName is required")
            async with self._change:
                if not await self.provider.remove(namespace, name):
                    return Response(f"function {name} not found", 404)
                self.logs.forget(name, namespace)
                self._invocations.pop((namespace, name), None)
                self._schedule()
            return Response(status_code=200)
        spec = self._checked_deployment(data)
        async with self._change:
            existing = self.provider.get(spec.namespace, spec.service)
            if request.method == "POST" and existing is not None:
                raise _BadRequest(f"function {spec.service} already exists")
            if request.method == "PUT" and existing is None:
                return Response(f"function {spec.service} not found", 404)
            if existing is None:
                deployed = Deployed(spec, datetime.datetime.now(datetime.UTC).replace(microsecond=0))
            else:
                deployed = replace(existing, spec=spec)  # PUT is a full replacement (``docs/openfaas.md#routes``)
            await self.provider.deploy(deployed)
            self._schedule()
        return Response(status_code=202)

    def _checked_deployment(self, data: dict[str, Any]) -> FunctionDeployment:
        spec = FunctionDeployment.from_wire(data)
        if not valid_name(spec.service) or "." in spec.service:
            raise _BadRequest(f"service {spec.service!r} must be a DNS-1123 label (lowercase letters, digits, -)")
        spec = replace(spec, namespace=self._namespace(spec.namespace))
        try:
            self.provider.check(spec)
        except ValueError as e:
            raise _BadRequest(str(e)) from e
        existing = self.provider.secret_names(spec.namespace)
        missing = [s for s in spec.secrets if s not in existing]
        if missing:
            raise _BadRequest(f"required secrets not found: {', '.join(missing)}")
        return spec

    async def function(self, request: Request) -> Response:
        """``GET /system/function/{name}``: its ``FunctionStatus`` without ``invocationCount``
        (``docs/openfaas.md#routes``); 404."""
        namespace = self._namespace(request.query_params.get("namespace"))
        deployed = self.provider.get(namespace, request.path_params["name"])
        if deployed is None:
            return Response(f"function {request.path_params['name']} not found", 404)
        return JSONResponse(self._status(deployed, with_count=False))

    async def scale(self, request: Request) -> Response:
        """``POST /system/scale-function/{name}``: run ``replicas`` replicas, clamped to [1, 5] as
        CE does (``docs/openfaas.md#q3-scaling-is-clamped-between-1-and-5``); 202; 400 ``Error
        unmarshalling request body``; 404 for an unknown function."""
        try:
            data = json.loads(await request.body())
            replicas = data["replicas"]
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise ValueError(replicas)
        except (ValueError, KeyError, TypeError):
            return Response("Error unmarshalling request body", 400)
        name = request.path_params["name"]
        namespace = self._namespace(data.get("namespace"))
        async with self._change:
            deployed = self.provider.get(namespace, name)
            if deployed is None:
                return Response(f"function {name} not found", 404)
            await self.provider.scale(replace(deployed, replicas=min(MAX_REPLICAS, max(MIN_REPLICAS, replicas))))
        return Response(status_code=202)

    async def secrets(self, request: Request) -> Response:
        """``/system/secrets``: GET lists ``{name, namespace}`` (never values); POST creates (201;
        409 when it exists); PUT updates (200; 404); DELETE (204; 404)
        (``docs/openfaas.md#body-types``, ``docs/openfaas.md#secrets-as-files``)."""
        if request.method == "GET":
            namespace = self._namespace(request.query_params.get("namespace"))
            return JSONResponse([{"name": n, "namespace": namespace} for n in self.provider.secret_names(namespace)])
        secret = Secret.from_wire(await self._json(request))
        namespace = self._namespace(secret.namespace)
        if not valid_name(secret.name):
            raise _BadRequest(f"secret name {secret.name!r} must be a DNS-1123 subdomain")
        exists = secret.name in self.provider.secret_names(namespace)
        if request.method == "POST":
            if exists:
                return Response(f"secret {secret.name} already exists", 409)
            self.provider.set_secret(namespace, secret)
            return Response(status_code=201)
        if not exists:
            return Response(f"secret {secret.name} not found", 404)
        if request.method == "PUT":
            self.provider.set_secret(namespace, secret)
            return Response(status_code=200)
        self.provider.delete_secret(namespace, secret.name)
        return Response(status_code=204)

    async def function_logs(self, request: Request) -> Response:
        """``GET /system/logs?name=&namespace=&instance=&tail=&follow=&since=``: NDJSON ``LogEntry``
        lines, sniffed type ``text/plain`` as the CE gateway
        (``docs/openfaas.md#logentry-and-log-query-parameters``,
        ``docs/openfaas.md#q6-log-errors-are-remapped``). An unknown function is an empty 501; a bad
        ``tail`` or ``since`` (RFC 3339 with a zone) is 500 ``unknown log request error (422)``.
        ``follow`` streams until the client leaves, the function is removed or the gateway stops."""
        params = request.query_params
        name = params.get("name", "")
        namespace = params.get("namespace") or DEFAULT_NAMESPACE
        if self.provider.get(namespace, name) is None:
            return Response(b"", 501)
        try:
            tail = int(params.get("tail") or 0)
            since = None
            if params.get("since"):
                since = datetime.datetime.fromisoformat(params["since"])
                if since.tzinfo is None:
                    raise ValueError("since needs a zone offset")
        except ValueError:
            return Response("unknown log request error (422)", 500)
        query = LogQuery(name, namespace, params.get("instance", ""), tail, go_bool(params.get("follow", "")), since)

        def keep_following() -> bool:
            return not self._stopping.is_set() and self.provider.get(namespace, name) is not None

        return StreamingResponse(
            self.logs.stream(query, keep_following=keep_following), media_type="text/plain; charset=utf-8"
        )

    async def list_namespaces(self, request: Request) -> Response:
        """``GET /system/namespaces``: :attr:`namespaces` (CE: ``["openfaas-fn"]``,
        ``docs/openfaas.md#passing-namespaces``)."""
        return JSONResponse(list(self.namespaces))

    async def namespace(self, request: Request) -> Response:
        """``/system/namespace/{ns}``: Enterprise namespace management (``docs/openfaas.md#routes``) when
        :attr:`namespace_management` is on: POST ``/system/namespace/`` creates the namespace its
        body names (201; 409 when it exists), GET shows it, PUT (202) and DELETE (202) change and
        remove it (404 when unknown). Off, as the CE provider: GET 501, other methods an empty 405."""
        if not self.namespace_management:
            if request.method == "GET":
                return Response("Feature not implemented in this version of OpenFaaS", 501)
            return Response(b"", 405)
        name = request.path_params["ns"]
        if request.method == "POST":
            created = (await self._json(request)).get("name")
            if not isinstance(created, str) or not valid_name(created):
                raise _BadRequest(f"namespace name {created!r} must be a DNS-1123 subdomain")
            if created in self.namespaces:
                return Response(f"namespace {created} exists", 409)
            self.namespaces.append(created)
            return Response(status_code=201)
        if name not in self.namespaces:
            return Response(f"namespace {name} not found", 404)
        if request.method == "GET":
            return JSONResponse({"name": name, "labels": _MANAGED, "annotations": _MANAGED})
        if request.method == "DELETE":
            self.namespaces.remove(name)
        return Response(status_code=202)

    async def invoke(self, request: Request) -> Response:
        """Any method on ``/function/{name}[.{ns}][/path]``: see
        :class:`~servey_faas.faas.gateway.proxy.InvocationProxy`."""
        return await self._proxy(request)

    async def enqueue(self, request: Request) -> Response:
        """``POST /async-function/{name}[.{ns}][/path]``
        (``docs/openfaas.md#enqueueing-an-async-call``): store the request in the durable queue and
        answer 202 with an empty body, ``X-Start-Time``, ``X-Served-By`` and, when the caller sent
        none, a new ``X-Call-Id`` (the job carries it to the function and the callback). The
        function is not looked up
        (``docs/openfaas.md#q7-async-does-not-check-the-function-exists``). Other methods: an empty
        405; an unparseable ``X-Callback-Url``: 400; a body over 256,000 bytes: 500 (the CE limit);
        any method while :attr:`async_enabled` is off: 404 ``404 page not found``
        (``docs/openfaas.md#q5-async-needs-nats``)."""
        start = str(time.time_ns())
        if not self.async_enabled:
            return Response(PAGE_NOT_FOUND, 404, media_type="text/plain; charset=utf-8")
        if request.method != "POST":
            return Response(b"", 405)
        callback = request.headers.get("x-callback-url", "")
        try:
            _ = urlsplit(callback).port
        except ValueError as e:
            return Response(f"parse {callback!r}: {e}", 400)
        body, size = await _read_within(request, ASYNC_BODY_LIMIT)
        if body is None:
            return Response(
                f"Error queuing request: request body too large for OpenFaaS CE ({size} bytes), "
                f"maximum: {ASYNC_BODY_LIMIT} bytes",
                500,
            )
        given_call_id = request.headers.get("x-call-id")
        call_id = given_call_id or str(uuid.uuid4())
        headers = [(k, v) for k, v in request.headers.items() if k not in ("x-call-id", "x-start-time")]
        headers += [("x-call-id", call_id), ("x-start-time", start)]
        function, _, rest = request.path_params["target"].partition("/")
        job = QueuedRequest(
            call_id, function, f"/{rest}" if rest else "", request.url.query, tuple(headers), body, callback, int(start)
        )
        assert self.queue is not None, "the gateway is not started"
        await asyncio.to_thread(self.queue.put, job)
        self.worker.wake()
        answer = {"X-Start-Time": start, "X-Served-By": SERVED_BY}
        if given_call_id is None:
            answer["X-Call-Id"] = call_id
        return Response(b"", 202, headers=answer)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _read_within(request: Request, limit: int) -> tuple[bytes | None, int]:
    """The body and its size in bytes; None for the body when it is over ``limit`` bytes, the rest
    of it then being read to count it (CE reports the size) but not kept."""
    body = bytearray()
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size <= limit:
            body += chunk
        elif body:
            body = bytearray()  # over the limit: drop what was kept
    return (bytes(body), size) if size <= limit else (None, size)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return Response(PAGE_NOT_FOUND, 404, media_type="text/plain; charset=utf-8")
    return Response(b"", exc.status_code, headers=exc.headers)


async def _bad_request(request: Request, exc: Exception) -> Response:
    return Response(str(exc), 400, media_type="text/plain; charset=utf-8")


class _SystemAuth:
    """Auth on every ``/system/*`` route: basic auth when ``credentials`` is set
    (``docs/openfaas.md#basic-auth-on-ce``); a gateway API token of ``iam`` as ``Bearer`` is accepted
    too (Enterprise IAM, ``docs/openfaas.md#gateway-tokens-and-function-tokens``), and is required
    without ``credentials`` when ``iam`` trusts some subject (so tokens can be had)."""

    def __init__(self, app: ASGIApp, credentials: BasicCredentials | None, iam: LocalIAM | None) -> None:
        self.app = app
        self.credentials = credentials
        self.iam = iam

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/system/"):
            denied = self._denied(Request(scope))
            if denied is not None:
                await denied(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _denied(self, request: Request) -> Response | None:
        authorization = request.headers.get("authorization", "")
        if self.iam is not None and self.iam.api_token_valid(authorization, request):
            return None
        if self.credentials is not None:
            return basic_auth_denied(authorization, self.credentials.user, self.credentials.password)
        if self.iam is not None and self.iam.trusts_anyone:
            return Response("invalid token", 401, headers={"WWW-Authenticate": 'Bearer realm="IAM"'})
        return None
