"""The local gateway's ASGI app: the OpenFaaS gateway REST API (gateway-spec.openapi.yml) with
the community-edition behaviour of ``docs/openfaas.md#gateway-rest-api`` and
``docs/openfaas.md#synchronous-invocation``, over functions run as local processes.

Routes: ``GET /healthz``; ``/system/info``, ``/system/functions`` (GET, POST, PUT, DELETE),
``/system/function/{name}``, ``/system/scale-function/{name}``, ``/system/secrets`` (GET, POST,
PUT, DELETE), ``/system/logs``, ``/system/namespaces`` and ``/system/namespace/{ns}`` (all behind
basic auth when it is on, ``docs/openfaas.md#basic-auth-on-ce``); any method on ``/function/{name}[.{ns}][/path]``; POST
``/async-function/{name}[.{ns}][/path]`` (202, queued durably, run by the queue-worker,
``docs/openfaas.md#asynchronous-invocation-and-callbacks``). Everything else answers ``404 page not found``.
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
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
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

from servey_faas import __version__
from servey_faas.faas.client.models import (
    FunctionDeployment,
    GatewayInfo,
    ProviderInfo,
    Secret,
    VersionInfo,
)
from servey_faas.faas.gateway.credentials import BasicCredentials
from servey_faas.faas.gateway.cron import CronConnector
from servey_faas.faas.gateway.environment import with_local_gateway, with_secret_mount
from servey_faas.faas.gateway.iam import Admin, LocalIAM, load_or_create_key
from servey_faas.faas.gateway.logs import LogBook, LogQuery
from servey_faas.faas.gateway.processes import Supervisor, command_line, context_dir
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
from servey_faas.faas.gateway.proxy import InvocationProxy
from servey_faas.faas.gateway.queue import AsyncQueue, QueuedRequest
from servey_faas.faas.gateway.retrying import QueueRetryPolicy
from servey_faas.faas.gateway.state import Deployed, GatewayState, valid_name
from servey_faas.faas.gateway.worker import QueueWorker
from servey_faas.faas.wire import DEFAULT_NAMESPACE

#: ``provider.provider`` of ``/system/info``.
PROVIDER_NAME = "servey-faas-local"
#: CE clamps ``replicas`` of a scale request to this range (``docs/openfaas.md#q3-scaling-is-clamped-between-1-and-5``).
MIN_REPLICAS, MAX_REPLICAS = 1, 5


@dataclass(frozen=True)
class GatewayConfig:
    """Settings of a local gateway: its ``state_dir``; ``credentials`` for ``/system/*`` (``None``:
    no basic auth); ``ready_timeout`` and ``stop_timeout`` of the replicas (seconds, see
    :class:`~servey_faas.faas.gateway.processes.Supervisor`); ``upstream_timeout`` (seconds) for a
    function's answer to start (``docs/openfaas.md#gateway-configuration-and-timeouts``); ``max_inflight`` async jobs
    run at once (CE: 1, ``docs/openfaas.md#the-ce-queue-worker``)."""

    state_dir: Path
    credentials: BasicCredentials | None = None
    ready_timeout: float = 60.0
    stop_timeout: float = 5.0
    upstream_timeout: float = 60.0
    max_inflight: int = 1
    #: The base URL function processes reach this gateway on: their ``OPENFAAS_URL`` when it is unset or
    #: the in-cluster gateway (see :mod:`~.environment`); ``None``: left as deployed.
    local_url: str | None = None
    #: The issuer of IAM tokens (``docs/openfaas.md#token-exchange``); ``None``: the base URL each request came in on
    #: (see :mod:`~.iam`).
    public_url: str | None = None
    #: Retries of failed async invocations (Pro queue-worker, ``docs/openfaas.md#pro-queue-worker-retries``); the
    #: default: none, as CE.
    retry: QueueRetryPolicy = field(default_factory=QueueRetryPolicy)


class _BadRequest(Exception):
    """A request the gateway answers 400 (message as the body)."""


class Gateway:
    """One local gateway: its state, its function processes and its ASGI app (:attr:`app`).

    Serve :attr:`app` with a lifespan-aware server (uvicorn): startup restarts the deployments
    saved in the state folder; shutdown stops every function process. :meth:`kill_all` stops
    them from any thread, for a caller's ``finally``.

    :raises ValueError: (at startup) when the state file cannot be read; when the IAM signing key
        file of the state folder is not a P-256 key (:mod:`~.iam`).
    """

    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.state = GatewayState(config.state_dir)
        self.logs = LogBook()
        # each function's Python environment is prepared under envs/ (see :mod:`~.pyenv`)
        self.supervisor = Supervisor(self.logs, ready_timeout=config.ready_timeout, stop_timeout=config.stop_timeout,
                                     envs_dir=config.state_dir / "envs")  # fmt: skip
        self._invocations: dict[tuple[str, str], int] = {}
        self._stopping = threading.Event()
        self._change = asyncio.Lock()
        admin = None if config.credentials is None else Admin(config.credentials.user, config.credentials.password)
        self.iam = LocalIAM(load_or_create_key(config.state_dir), admin, public_url=config.public_url)
        self._routes = self._starlette()
        self.app: ASGIApp = _SystemAuth(self._routes, config.credentials, self.iam)

    def kill_all(self) -> None:
        """Stop every function process (SIGTERM, then SIGKILL), from any thread."""
        self._stopping.set()
        self.supervisor.kill_all()

    # --- assembly ------------------------------------------------------------------------------

    def _starlette(self) -> Starlette:
        routes = [
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/system/info", self.info, methods=["GET"]),
            Route("/system/functions", self.functions, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/system/function/{name}", self.function, methods=["GET"]),
            Route("/system/scale-function/{name}", self.scale, methods=["POST"]),
            Route("/system/secrets", self.secrets, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/system/logs", self.function_logs, methods=["GET"]),
            Route("/system/namespaces", self.namespaces, methods=["GET"]),
            Route("/system/namespace/{ns:path}", self.namespace, methods=["GET", "POST", "PUT", "DELETE"]),
            Route("/function/{target:path}", self.invoke, methods=list(INVOKE_METHODS)),
            Route("/async-function/{target:path}", self.enqueue, methods=list(INVOKE_METHODS)),
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
        self._stopping.clear()
        self.queue = AsyncQueue(self.config.state_dir / "queue.sqlite3")
        self.queue.recover()
        # the CE worker has no overall timeout (``docs/openfaas.md#the-ce-queue-worker``)
        itself = httpx.AsyncClient(transport=httpx.ASGITransport(app=self._routes), base_url="http://gateway",
                                   timeout=None)  # noqa: S113  # fmt: skip
        # replicas are on loopback: never through the user's HTTP_PROXY / ALL_PROXY (callbacks may be)
        replicas = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        async with replicas as client, itself, httpx.AsyncClient() as callbacks:
            self._proxy = InvocationProxy(self.supervisor, client, upstream_timeout=self.config.upstream_timeout,
                                          count=self._count, guard=self._jwt_auth)  # fmt: skip
            # cron-connector (``docs/openfaas.md#cron-connector``), see :mod:`~.cron`
            self.cron = CronConnector(itself, self.logs)
            for deployed in self.state.load():
                await self._run(deployed)
            self._schedule()
            self.worker = QueueWorker(self.queue, itself, callbacks, max_inflight=self.config.max_inflight,
                                      wait_ready=self._wait_ready, retry=self.config.retry)  # fmt: skip
            working = asyncio.get_running_loop().create_task(self.worker.run(), name="queue-worker")
            try:
                yield
            finally:
                self._stopping.set()
                working.cancel()
                await self.cron.close()
                await asyncio.gather(working, return_exceptions=True)
                await self.supervisor.close()
                self.queue.close()

    # --- helpers -------------------------------------------------------------------------------

    def _count(self, namespace: str, name: str) -> None:
        self._invocations[(namespace, name)] = self._invocations.get((namespace, name), 0) + 1

    def _schedule(self) -> None:
        """Tell the cron-connector the deployments changed (``docs/openfaas.md#discovery-invocation-and-auth``: added,
        updated, removed)."""
        self.cron.refresh(d.spec for d in self.state.functions(DEFAULT_NAMESPACE))

    async def _run(self, deployed: Deployed) -> None:
        mount, missing = self.state.mount_secrets(deployed.spec)
        for name in missing:
            self.logs.append(deployed.spec.service, deployed.spec.namespace, "",
                             f"secret {name} does not exist: not mounted\n")  # fmt: skip
        spec = with_secret_mount(deployed.spec, mount)  # /var/openfaas/secrets/<name> is the mount folder here
        if self.config.local_url:  # the in-cluster OPENFAAS_URL points at this gateway (see :mod:`~.environment`)
            spec = with_local_gateway(spec, self.config.local_url)
        spec = self.iam.with_service_account(spec, self.config.state_dir)  # see :mod:`~.iam`
        await self.supervisor.deploy(spec, mount, deployed.replicas)

    def _jwt_auth(self, request: Request, namespace: str, name: str, sub_path: str) -> Response | dict[str, str]:
        """of-watchdog's ``jwt_auth`` checks (``docs/openfaas.md#token-checks-in-of-watchdog``) for a function deployed
        with ``jwt_auth=true``."""
        deployed = self.state.get(namespace, name)
        if deployed is None or not go_bool(deployed.spec.env_vars.get("jwt_auth", "")):
            return {}
        headers = {k.lower(): v for k, v in request.headers.items()}
        return self.iam.check_invoke(headers, self.iam.issuer(request), namespace, name, sub_path)

    async def _wait_ready(self, function: str) -> None:
        """Wait (up to ``ready_timeout``) until a deployed ``function`` (``name[.ns]``) has a ready replica."""
        name, namespace, _ = split_target(function)
        deadline = time.monotonic() + self.config.ready_timeout
        while self.state.get(namespace, name) is not None and time.monotonic() < deadline:
            if self.supervisor.available(namespace, name):
                return
            await asyncio.sleep(0.05)

    def _status(self, deployed: Deployed, *, with_count: bool) -> dict[str, Any]:
        namespace, name = deployed.key
        count = float(self._invocations.get(deployed.key, 0)) if with_count else 0.0
        return function_status(
            deployed.spec, created_at=deployed.created_at, replicas=deployed.replicas,
            available_replicas=self.supervisor.available(namespace, name), invocation_count=count,
        ).to_wire()  # fmt: skip

    @staticmethod
    async def _json(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body())
        except ValueError as e:
            raise _BadRequest(f"invalid JSON body: {e}") from e
        if not isinstance(data, dict):
            raise _BadRequest("the body must be a JSON object")
        return data

    @staticmethod
    def _namespace(value: object) -> str:
        """The namespace asked for (default ``openfaas-fn``); CE manages no other
        (``docs/openfaas.md#passing-namespaces``)."""
        namespace = value if isinstance(value, str) and value else DEFAULT_NAMESPACE
        if namespace != DEFAULT_NAMESPACE:
            raise _BadRequest(f"namespace {namespace} is not managed: the local gateway has only {DEFAULT_NAMESPACE}")
        return namespace

    # --- routes --------------------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        """``GET /healthz``: 200 ``OK`` (not behind basic auth, ``docs/openfaas.md#basic-auth-on-ce``)."""
        return Response("OK", 200)

    async def info(self, request: Request) -> Response:
        """``GET /system/info``: ``GatewayInfo`` (``docs/openfaas.md#gatewayinfo``) naming this provider and its
        version."""
        version = VersionInfo(release=__version__)
        info = GatewayInfo(
            provider=ProviderInfo(PROVIDER_NAME, "process", version),
            version=VersionInfo(release=GATEWAY_VERSION),
            arch=platform.machine(),
        )
        return JSONResponse(info.to_wire())

    async def functions(self, request: Request) -> Response:
        """``/system/functions``: GET lists ``FunctionStatus`` (re-serialised, omitempty, with
        ``invocationCount``, ``docs/openfaas.md#q1-listing-functions-needs-prometheus``); POST deploys (202; 400 for an
        existing function, a bad body, name, namespace, image or a missing secret); PUT replaces a deployment and
        restarts its replicas (202; 404 when missing); DELETE stops and removes (200; 404). POST and PUT answer before
        the function's Python environment is prepared, as CE answers before the image is pulled: a ``pip install``
        failure shows in ``/system/logs`` and as ``availableReplicas`` 0 (see :mod:`~.processes`)."""
        if request.method == "GET":
            namespace = self._namespace(request.query_params.get("namespace"))
            return JSONResponse([self._status(d, with_count=True) for d in self.state.functions(namespace)])
        data = await self._json(request)
        if request.method == "DELETE":
            name = data.get("functionName")
            namespace = self._namespace(data.get("namespace"))
            if not isinstance(name, str) or not name:
                raise _BadRequest("functionName is required")
            async with self._change:
                gone = self.state.remove(namespace, name)
                if gone is None:
                    return Response(f"function {name} not found", 404)
                await self.supervisor.remove(namespace, name)
                self.logs.forget(name, namespace)
                self.iam.forget_service_account(self.config.state_dir, namespace, name)
                self._invocations.pop((namespace, name), None)
                self._schedule()
            return Response(status_code=200)
        spec = self._checked_deployment(data)
        async with self._change:
            existing = self.state.get(spec.namespace, spec.service)
            if request.method == "POST" and existing is not None:
                raise _BadRequest(f"function {spec.service} already exists")
            if request.method == "PUT" and existing is None:
                return Response(f"function {spec.service} not found", 404)
            if existing is None:
                deployed = Deployed(spec, datetime.datetime.now(datetime.UTC).replace(microsecond=0))
            else:
                deployed = replace(existing, spec=spec)  # PUT is a full replacement (``docs/openfaas.md#routes``)
            self.state.put(deployed)
            await self._run(deployed)
            self._schedule()
        return Response(status_code=202)

    def _checked_deployment(self, data: dict[str, Any]) -> FunctionDeployment:
        spec = FunctionDeployment.from_wire(data)
        if not valid_name(spec.service) or "." in spec.service:
            raise _BadRequest(f"service {spec.service!r} must be a DNS-1123 label (lowercase letters, digits, -)")
        spec = replace(spec, namespace=self._namespace(spec.namespace))
        try:
            context_dir(spec.image)
            command_line(spec.env_process)
        except ValueError as e:
            raise _BadRequest(str(e)) from e
        missing = [s for s in spec.secrets if not valid_name(s) or not self.state.has_secret(spec.namespace, s)]
        if missing:
            raise _BadRequest(f"required secrets not found: {', '.join(missing)}")
        return spec

    async def function(self, request: Request) -> Response:
        """``GET /system/function/{name}``: its ``FunctionStatus`` without ``invocationCount``
        (``docs/openfaas.md#routes``); 404."""
        namespace = self._namespace(request.query_params.get("namespace"))
        deployed = self.state.get(namespace, request.path_params["name"])
        if deployed is None:
            return Response(f"function {request.path_params['name']} not found", 404)
        return JSONResponse(self._status(deployed, with_count=False))

    async def scale(self, request: Request) -> Response:
        """``POST /system/scale-function/{name}``: run ``replicas`` replicas, clamped to [1, 5] as CE
        does (``docs/openfaas.md#q3-scaling-is-clamped-between-1-and-5``); 202;
        400 ``Error unmarshalling request body``; 404 for an unknown function."""
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
            deployed = self.state.get(namespace, name)
            if deployed is None:
                return Response(f"function {name} not found", 404)
            deployed = replace(deployed, replicas=min(MAX_REPLICAS, max(MIN_REPLICAS, replicas)))
            self.state.put(deployed)
            await self.supervisor.scale(namespace, name, deployed.replicas)
        return Response(status_code=202)

    async def secrets(self, request: Request) -> Response:
        """``/system/secrets``: GET lists ``{name, namespace}`` (never values); POST creates (201;
        409 when it exists); PUT updates (200; 404) and refreshes the mounted copies; DELETE (204;
        404). Values are kept as files, mode 0600 (``docs/openfaas.md#body-types``,
        ``docs/openfaas.md#secrets-as-files``)."""
        if request.method == "GET":
            namespace = self._namespace(request.query_params.get("namespace"))
            return JSONResponse([{"name": n, "namespace": namespace} for n in self.state.secret_names(namespace)])
        secret = Secret.from_wire(await self._json(request))
        namespace = self._namespace(secret.namespace)
        if not valid_name(secret.name):
            raise _BadRequest(f"secret name {secret.name!r} must be a DNS-1123 subdomain")
        exists = self.state.has_secret(namespace, secret.name)
        if request.method == "POST":
            if exists:
                return Response(f"secret {secret.name} already exists", 409)
            self.state.set_secret(namespace, secret)
            return Response(status_code=201)
        if not exists:
            return Response(f"secret {secret.name} not found", 404)
        if request.method == "PUT":
            self.state.set_secret(namespace, secret)
            return Response(status_code=200)
        self.state.delete_secret(namespace, secret.name)
        return Response(status_code=204)

    async def function_logs(self, request: Request) -> Response:
        """``GET /system/logs?name=&namespace=&instance=&tail=&follow=&since=``: NDJSON
        ``LogEntry`` lines, sniffed type ``text/plain`` as the CE gateway
        (``docs/openfaas.md#logentry-and-log-query-parameters``, ``docs/openfaas.md#q6-log-errors-are-remapped``). An
        unknown function is an empty 501; a bad ``tail`` or ``since`` (RFC 3339 with a zone) is 500
        ``unknown log request error (422)``. ``follow`` streams until the client leaves, the function is removed or the
        gateway stops."""
        params = request.query_params
        name = params.get("name", "")
        namespace = params.get("namespace") or DEFAULT_NAMESPACE
        if self.state.get(namespace, name) is None:
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
            return not self._stopping.is_set() and self.state.get(namespace, name) is not None

        return StreamingResponse(
            self.logs.stream(query, keep_following=keep_following), media_type="text/plain; charset=utf-8"
        )

    async def namespaces(self, request: Request) -> Response:
        """``GET /system/namespaces``: ``["openfaas-fn"]``, the one CE namespace
        (``docs/openfaas.md#passing-namespaces``)."""
        return JSONResponse([DEFAULT_NAMESPACE])

    async def namespace(self, request: Request) -> Response:
        """``/system/namespace/{ns}``: Enterprise-only; GET 501, other methods an empty 405
        (``docs/openfaas.md#routes``)."""
        if request.method == "GET":
            return Response("Feature not implemented in this version of OpenFaaS", 501)
        return Response(b"", 405)

    async def invoke(self, request: Request) -> Response:
        """Any method on ``/function/{name}[.{ns}][/path]``: see
        :class:`~servey_faas.faas.gateway.proxy.InvocationProxy`."""
        return await self._proxy(request)

    async def enqueue(self, request: Request) -> Response:
        """``POST /async-function/{name}[.{ns}][/path]`` (``docs/openfaas.md#enqueueing-an-async-call``): store the
        request in the durable queue and answer 202 with an empty body, ``X-Start-Time``, ``X-Served-By`` and, when the
        caller sent none, a new ``X-Call-Id`` (the job carries it to the function and the callback). The function is not
        looked up (``docs/openfaas.md#q7-async-does-not-check-the-function-exists``). Other methods: an empty 405; an
        unparseable ``X-Callback-Url``: 400; a body over 256,000 bytes: 500 (the CE limit).
        """
        start = str(time.time_ns())
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
        job = QueuedRequest(call_id, function, f"/{rest}" if rest else "", request.url.query, tuple(headers), body,
                            callback, int(start))  # fmt: skip
        await asyncio.to_thread(self.queue.put, job)
        self.worker.wake()
        answer = {"X-Start-Time": start, "X-Served-By": SERVED_BY}
        if given_call_id is None:
            answer["X-Call-Id"] = call_id
        return Response(b"", 202, headers=answer)


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
    """Basic auth on every ``/system/*`` route when ``credentials`` is set (``docs/openfaas.md#basic-auth-on-ce``);
    a gateway API token of ``iam`` as ``Bearer`` is accepted too (Enterprise IAM,
    ``docs/openfaas.md#gateway-tokens-and-function-tokens``)."""

    def __init__(self, app: ASGIApp, credentials: BasicCredentials | None, iam: LocalIAM | None = None) -> None:
        self.app = app
        self.credentials = credentials
        self.iam = iam

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.credentials is not None and scope["type"] == "http" and scope["path"].startswith("/system/"):
            request = Request(scope)
            authorization = request.headers.get("authorization", "")
            denied = basic_auth_denied(authorization, self.credentials.user, self.credentials.password)
            if denied is not None and self.iam is not None and self.iam.api_token_valid(authorization, request):
                denied = None
            if denied is not None:
                await denied(scope, receive, send)
                return
        await self.app(scope, receive, send)
