"""A fake OpenFaaS gateway for tests: an ASGI app that checks every request against the official
spec and answers as ``docs/openfaas.md`` says the CE gateway (plus Enterprise IAM, when asked) does.

It keeps functions, secrets and logs in memory, forwards invocations to upstreams you attach
(an ASGI app in-process, or a URL), runs the async queue (one job at a time, with callbacks, as
the CE queue-worker, ``docs/openfaas.md#the-ce-queue-worker``, ``docs/openfaas.md#callbacks``), and can inject failures
for retry tests. It is not the local gateway (``--run=gateway``), which runs real build contexts; this one is for client
tests::

    gateway = FakeGateway(basic_auth=("admin", "secret"))
    with gateway.serve() as url:            # real HTTP on a free 127.0.0.1 port
        client = GatewayClient(url, BasicAuth("admin", "secret"))
        ...
    assert gateway.violations == []         # every request conformed to the spec

Requests that break the spec are answered 400 with ``X-Fake-Gateway: spec-violation`` and
recorded in :attr:`FakeGateway.violations`. Every request is recorded in
:attr:`FakeGateway.requests`; token exchanges also in :attr:`FakeGateway.exchanges`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import inspect
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

from servey_faas.faas.client.models import FunctionDeployment, FunctionStatus, LogEntry, Secret
from servey_faas.faas.gateway.protocol import (
    ASYNC_BODY_LIMIT,
    GATEWAY_VERSION,
    HOP_BY_HOP,
    SERVED_BY,
    basic_auth_denied,
    bearer_token,
    exchange_form,
    exchange_refused,
    function_claim_allows,
    function_status,
    jwt_forbidden,
    jwt_invalid,
    jwt_missing,
    no_policies,
    split_target,
)
from servey_faas.faas.wire import DEFAULT_NAMESPACE
from servey_faas.testing.spec_check import SpecChecker


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake gateway received (headers lower-case)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    body: bytes


@dataclass
class _Fault:
    method: str
    path: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    times: int


@dataclass
class _IssuedToken:
    value: str
    subject: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    expires_at: float


@dataclass
class _Function:
    spec: FunctionDeployment
    created_at: datetime.datetime
    replicas: int = 1
    invocations: int = 0


@dataclass(frozen=True)
class Callback:
    """A callback the fake queue worker POSTed (``docs/openfaas.md#callbacks``)."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass
class FakeGateway:
    """The fake gateway's settings and state (see the module docstring).

    ``basic_auth`` ``(user, password)`` protects ``/system/*`` (``docs/openfaas.md#basic-auth-on-ce``). ``iam`` enables
    ``/oauth/token`` (``docs/openfaas.md#token-exchange``): ``subject_tokens`` are the upstream tokens it accepts, and
    it issues opaque tokens living ``token_ttl`` seconds (``expires_in``); with IAM on, ``/system/*`` needs a gateway
    token instead of basic auth. ``async_enabled`` (NATS configured, ``docs/openfaas.md#q5-async-needs-nats``).
    ``clock`` is Unix seconds (token expiry).
    """

    basic_auth: tuple[str, str] | None = None
    iam: bool = False
    subject_tokens: set[str] = field(default_factory=set)
    token_ttl: int = 3600
    async_enabled: bool = True
    namespaces: list[str] = field(default_factory=lambda: [DEFAULT_NAMESPACE])
    enterprise_namespaces: bool = False
    clock: Callable[[], float] = time.time
    checker: SpecChecker = field(default_factory=SpecChecker)

    requests: list[RecordedRequest] = field(default_factory=list, init=False)
    violations: list[str] = field(default_factory=list, init=False)
    exchanges: list[dict[str, list[str]]] = field(default_factory=list, init=False)
    callbacks: list[Callback] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._functions: dict[tuple[str, str], _Function] = {}
        self._secrets: dict[tuple[str, str], Secret] = {}
        self._logs: dict[tuple[str, str], list[LogEntry]] = {}
        self._upstreams: dict[tuple[str, str], ASGIApp | WSGIApplication | str] = {}
        self._faults: list[_Fault] = []
        self._tokens: dict[str, _IssuedToken] = {}
        self._queue: asyncio.Queue[tuple[RecordedRequest, str, str, str]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._stopping = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._pending = 0

    # --- test controls -------------------------------------------------------------------------

    def attach(
        self, name: str, upstream: ASGIApp | WSGIApplication | str, *, namespace: str = DEFAULT_NAMESPACE,
        deploy: bool = True,
    ) -> None:  # fmt: skip
        """Serve function ``name.namespace`` with ``upstream``: an ASGI app (an async callable),
        a WSGI app (a sync callable, such as an action's
        :func:`~servey_faas.faas.runtime.function_app`), both in-process, or a base URL. With
        ``deploy``, the function is also deployed (image ``fake/<name>``) if missing."""
        with self._lock:
            self._upstreams[(namespace, name)] = upstream
            if deploy and (namespace, name) not in self._functions:
                spec = FunctionDeployment(name, f"fake/{name}:latest", namespace=namespace)
                self._functions[(namespace, name)] = _Function(spec, self._now())

    def add_log(self, name: str, text: str, *, namespace: str = DEFAULT_NAMESPACE, instance: str = "") -> None:
        """Append a log line for ``name`` (seen by followers of its log stream)."""
        entry = LogEntry(name, namespace, instance or f"{name}-6b7c9d-x1", self._now(), text)
        with self._lock:
            self._logs.setdefault((namespace, name), []).append(entry)

    def inject(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Answer the next ``times`` ``method path`` requests with ``status`` (after the spec check)."""
        with self._lock:
            self._faults.append(_Fault(method, path, status, dict(headers or {}), body, times))

    def revoke_tokens(self) -> None:
        """Forget every issued token: the next request with one gets 401."""
        with self._lock:
            self._tokens.clear()

    def count(self, method: str, path: str) -> int:
        """How many ``method path`` requests arrived."""
        return sum(1 for r in list(self.requests) if r.method == method and r.path == path)

    def function(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> FunctionDeployment | None:
        """The deployed spec of ``name``, or None."""
        with self._lock:
            found = self._functions.get((namespace, name))
            return None if found is None else found.spec

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the async queue is empty and no job runs; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.clock(), datetime.UTC)

    # --- serving -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve on a free port of ``host`` with uvicorn in a thread; yields the base URL. The
        server is stopped (and the thread joined) on exit."""
        self._stopping.clear()
        from servey_faas.testing.server import serve_app

        with serve_app(self, host, lifespan="on") as url:
            try:
                yield url
            finally:
                self._stopping.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._worker is not None:
                        self._worker.cancel()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self._handle(request)
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        query = tuple(parse_qsl(request.url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in request.headers.items()}
        recorded = RecordedRequest(request.method, path, query, headers, body)
        with self._lock:
            self.requests.append(recorded)
        problems = self.checker.check(request.method, path, query, headers, body)
        if problems:
            with self._lock:
                self.violations.extend(problems)
            return Response("\n".join(problems), 400, headers={"X-Fake-Gateway": "spec-violation"})
        fault = self._take_fault(request.method, path)
        if fault is not None:
            return Response(fault.body, fault.status, headers=dict(fault.headers))
        if path.startswith("/system/"):
            denied = self._check_system_auth(headers)
            if denied is not None:
                return denied
            return self._system(recorded)
        if path == "/oauth/token":
            return self._token(recorded)
        if path == "/healthz":
            return Response("OK", 200)
        if path.startswith("/function/"):
            return await self._invoke(recorded, path.removeprefix("/function/"), request.url.query)
        if path.startswith("/async-function/"):
            return await self._enqueue(recorded, path.removeprefix("/async-function/"), request.url.query)
        return Response("404 page not found\n", 404)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.path == path and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    # --- auth ----------------------------------------------------------------------------------

    def _check_system_auth(self, headers: Mapping[str, str]) -> Response | None:
        given = headers.get("authorization", "")
        if self.iam:
            token = self._valid_token(given.removeprefix("Bearer ") if given.startswith("Bearer ") else "")
            if token is None or token.scope:
                return Response("invalid token", 401, headers={"WWW-Authenticate": 'Bearer realm="IAM"'})
            return None
        if self.basic_auth is None:
            return None
        # ``docs/openfaas.md#basic-auth-on-ce``: exactly this header and body (no trailing newline).
        return basic_auth_denied(given, *self.basic_auth)

    def _valid_token(self, value: str) -> _IssuedToken | None:
        with self._lock:
            token = self._tokens.get(value)
        if token is None or token.expires_at <= self.clock():
            return None
        return token

    def _token(self, request: RecordedRequest) -> Response:
        if not self.iam:
            return Response("404 page not found\n", 404)  # CE: no IAM endpoints (``docs/openfaas.md#basic-auth-on-ce``)
        form = exchange_form(request.body)
        with self._lock:
            self.exchanges.append(form)
        refused = exchange_refused(form)
        if refused is not None:
            return refused
        subject = form["subject_token"][0]
        issued = self._valid_token(subject)
        if subject not in self.subject_tokens and (issued is None or issued.scope):
            return no_policies(subject)
        scope = tuple(" ".join(form.get("scope", [])).split())
        token = _IssuedToken(
            f"gw-{uuid.uuid4().hex}", subject, scope, tuple(form.get("audience", [])), self.clock() + self.token_ttl
        )
        with self._lock:
            self._tokens[token.value] = token
        return JSONResponse(
            {
                "access_token": token.value,
                "token_type": "Bearer",
                "expires_in": self.token_ttl,
                "scope": " ".join(scope),
            }
        )

    def _check_function_token(self, headers: Mapping[str, str], name: str, namespace: str) -> Response | None:
        """of-watchdog ``jwt_auth`` (``docs/openfaas.md#token-checks-in-of-watchdog``), for functions with
        ``jwt_auth=true``."""
        value = bearer_token(headers.get("authorization", ""))
        if not value:
            return jwt_missing()
        token = self._valid_token(value)
        if token is None:
            return jwt_invalid("token is unverifiable")
        # Opaque tokens here: a function-scoped token holds Function:Invoke on "*"
        # (``docs/openfaas.md#gateway-tokens-and-function-tokens``).
        claim = {"permissions": ["*"], "audience": list(token.audience)} if "function" in token.scope else None
        return None if function_claim_allows(claim, namespace, name) else jwt_forbidden()

    # --- /system -------------------------------------------------------------------------------

    def _system(self, request: RecordedRequest) -> Response:
        method, path = request.method, request.path
        query = dict(request.query)
        data: Any = json.loads(request.body) if request.body else None
        if path == "/system/info":
            return JSONResponse(
                {
                    "provider": {"provider": "fake-provider", "orchestration": "memory",
                                 "version": {"sha": "0" * 40, "release": "0.1.0"}},
                    "version": {"commit_message": "fake", "sha": "f" * 40, "release": GATEWAY_VERSION},
                    "arch": "x86_64",
                }
            )  # fmt: skip
        if path == "/system/namespaces":
            return JSONResponse(list(self.namespaces))
        if path.startswith("/system/namespace/"):
            return self._namespace(method, path.removeprefix("/system/namespace/"), data)
        if path == "/system/functions":
            return self._functions_route(method, query, data)
        if path.startswith("/system/function/"):
            found = self._get(path.removeprefix("/system/function/"), query.get("namespace"))
            if found is None:
                return Response("function not found", 404)
            # Passed through untouched: no invocationCount on the single-function endpoint
            # (``docs/openfaas.md#routes``).
            return JSONResponse(replace(self._status(found), invocation_count=0.0).to_wire())
        if path.startswith("/system/scale-function/"):
            name = path.removeprefix("/system/scale-function/")
            if not isinstance(data, dict):
                return Response("Error unmarshalling request body", 400)
            found = self._get(name, data.get("namespace"))
            if found is None or data.get("serviceName") != name:
                return Response("function not found", 404)
            # CE clamps to [1, 5] (``docs/openfaas.md#q3-scaling-is-clamped-between-1-and-5``)
            found.replicas = min(5, max(1, int(data["replicas"])))
            return Response(status_code=202)
        if path == "/system/secrets":
            return self._secrets_route(method, query, data)
        if path == "/system/logs":
            return self._logs_route(query)
        return Response("404 page not found\n", 404)

    def _namespace(self, method: str, name: str, data: Any) -> Response:
        if not self.enterprise_namespaces:
            if method == "GET":
                return Response("Feature not implemented in this version of OpenFaaS", 501)
            return Response(status_code=405)
        if method == "POST":
            if data["name"] in self.namespaces:
                return Response("namespace exists", 409)
            self.namespaces.append(data["name"])
            return Response(status_code=201)
        if name not in self.namespaces:
            return Response("namespace not found", 404)
        if method == "GET":
            return JSONResponse({"name": name, "labels": {"openfaas": "1"}, "annotations": {"openfaas": "1"}})
        if method == "DELETE":
            self.namespaces.remove(name)
        return Response(status_code=202)

    def _get(self, name: str, namespace: str | None) -> _Function | None:
        with self._lock:
            return self._functions.get((namespace or DEFAULT_NAMESPACE, name))

    def _status(self, fn: _Function) -> FunctionStatus:
        return function_status(fn.spec, created_at=fn.created_at, replicas=fn.replicas,
                               available_replicas=fn.replicas, invocation_count=float(fn.invocations))  # fmt: skip

    def _functions_route(self, method: str, query: Mapping[str, str], data: Any) -> Response:
        if method == "GET":
            namespace = query.get("namespace") or DEFAULT_NAMESPACE
            with self._lock:
                found = [f for (ns, _), f in sorted(self._functions.items()) if ns == namespace]
            # Re-serialised as the gateway does (``docs/openfaas.md#q1-listing-functions-needs-prometheus``): counts
            # omitted when 0, createdAt always there.
            return JSONResponse([self._status(f).to_wire() for f in found])
        if method == "DELETE":
            key = (data.get("namespace") or DEFAULT_NAMESPACE, data["functionName"])
            with self._lock:
                if self._functions.pop(key, None) is None:
                    return Response("function not found", 404)
                self._upstreams.pop(key, None)
            return Response(status_code=200)
        spec = FunctionDeployment.from_wire(data)
        key = (spec.namespace or DEFAULT_NAMESPACE, spec.service)
        if spec.namespace and spec.namespace not in self.namespaces:
            return Response(f"namespace {spec.namespace} is not managed", 400)
        missing = [s for s in spec.secrets if (key[0], s) not in self._secrets]
        if missing:
            return Response(f"required secrets not found: {', '.join(missing)}", 400)
        with self._lock:
            existing = self._functions.get(key)
            if method == "POST":
                if existing is not None:
                    return Response(f"function {spec.service} already exists", 409)
                self._functions[key] = _Function(spec, self._now())
                return Response(status_code=202)
            if existing is None:  # PUT of a missing function: 404 (``docs/openfaas.md#routes``)
                return Response("function not found", 404)
            existing.spec = spec  # a full replacement
        return Response(status_code=202)

    def _secrets_route(self, method: str, query: Mapping[str, str], data: Any) -> Response:
        if method == "GET":
            namespace = query.get("namespace") or DEFAULT_NAMESPACE
            with self._lock:
                names = [s for (ns, _), s in sorted(self._secrets.items()) if ns == namespace]
            return JSONResponse([{"name": s.name, "namespace": s.namespace or namespace} for s in names])
        secret = Secret.from_wire(data)
        key = (secret.namespace or DEFAULT_NAMESPACE, secret.name)
        with self._lock:
            exists = key in self._secrets
            if method == "POST":
                if exists:
                    return Response(f"secret {secret.name} already exists", 409)
                self._secrets[key] = secret
                return Response(status_code=201)
            if not exists:
                return Response("secret not found", 404)
            if method == "PUT":
                self._secrets[key] = secret
                return Response(status_code=202)
            del self._secrets[key]
        return Response(status_code=204)

    def secret_value(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> Secret | None:
        """The stored secret (with its value), for assertions."""
        with self._lock:
            return self._secrets.get((namespace, name))

    def _logs_route(self, query: Mapping[str, str]) -> Response:
        key = (query.get("namespace") or DEFAULT_NAMESPACE, query["name"])
        if self._get(key[1], key[0]) is None:
            # the provider's 404 becomes an empty 501 (``docs/openfaas.md#q6-log-errors-are-remapped``)
            return Response(b"", 501)
        tail = int(query.get("tail", "0") or 0)
        follow = query.get("follow") == "true"
        since = datetime.datetime.fromisoformat(query["since"]) if "since" in query else None
        instance = query.get("instance")

        def wanted(e: LogEntry) -> bool:
            return (instance is None or e.instance == instance) and (
                since is None or e.timestamp is None or e.timestamp >= since
            )

        async def lines() -> Any:
            with self._lock:
                entries = [e for e in self._logs.get(key, []) if wanted(e)]
                seen = len(self._logs.get(key, []))
            if tail > 0:
                entries = entries[-tail:]
            for e in entries:
                yield json.dumps(e.to_wire()) + "\n"
            while follow and not self._stopping.is_set():
                await asyncio.sleep(0.02)
                with self._lock:
                    fresh = self._logs.get(key, [])[seen:]
                    seen += len(fresh)
                for e in fresh:
                    if wanted(e):
                        yield json.dumps(e.to_wire()) + "\n"

        # The gateway does not copy the provider's headers: the type is sniffed
        # (``docs/openfaas.md#q6-log-errors-are-remapped``).
        return StreamingResponse(lines(), media_type="text/plain; charset=utf-8")

    # --- invocation ----------------------------------------------------------------------------

    async def _invoke(self, request: RecordedRequest, target: str, query: str) -> Response:
        call_id = request.headers.get("x-call-id")
        generated = call_id is None
        call_id = call_id or str(uuid.uuid4())
        start = str(time.time_ns())
        status, headers, body = await self._call_function(request, target, query, call_id, start)
        headers = {**headers, "X-Start-Time": start, "X-Served-By": SERVED_BY}
        if generated:
            headers["X-Call-Id"] = call_id  # echoed only when the gateway made it (``docs/openfaas.md#call-ids``)
        return Response(body, status, headers=headers)

    async def _call_function(
        self, request: RecordedRequest, target: str, query: str, call_id: str, start: str
    ) -> tuple[int, dict[str, str], bytes]:
        name, namespace, sub_path = split_target(target)
        with self._lock:
            fn = self._functions.get((namespace, name))
            upstream = self._upstreams.get((namespace, name))
        if fn is None or upstream is None:
            return 503, {"X-OpenFaaS-Internal": "proxy"}, f"No endpoints available for: {name}.\n".encode()
        if fn.spec.env_vars.get("jwt_auth") == "true":
            denied = self._check_function_token(request.headers, name, namespace)
            if denied is not None:
                return denied.status_code, {k: v for k, v in denied.headers.items()}, bytes(denied.body)
        headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
        headers.update({"x-call-id": call_id, "x-start-time": start})
        headers.setdefault("x-forwarded-host", request.headers.get("host", ""))
        try:
            response = await _forward(upstream, request.method, sub_path, query, headers, request.body)
        except httpx.TransportError:
            return 500, {"X-OpenFaaS-Internal": "proxy"}, f"Can't reach service for: {name}.".encode()
        with self._lock:
            fn.invocations += 1
        out = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP}
        out["X-Duration-Seconds"] = f"{response.elapsed.total_seconds():f}"
        return response.status_code, out, response.content

    async def _enqueue(self, request: RecordedRequest, target: str, query: str) -> Response:
        if not self.async_enabled:
            # no NATS: no async route (``docs/openfaas.md#q5-async-needs-nats``)
            return Response("404 page not found\n", 404)
        callback = request.headers.get("x-callback-url", "")
        if callback and not urlsplit(callback).scheme:
            # Go's lenient parser accepts it; the worker fails later, silently
            # (``docs/openfaas.md#enqueueing-an-async-call``)
            pass
        if len(request.body) > ASYNC_BODY_LIMIT:
            return Response(
                f"Error queuing request: request body too large for OpenFaaS CE ({len(request.body)} bytes), "
                f"maximum: {ASYNC_BODY_LIMIT} bytes",
                500,
            )
        call_id = request.headers.get("x-call-id")
        generated = call_id is None
        call_id = call_id or str(uuid.uuid4())
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._work())
        with self._lock:
            self._pending += 1
        await self._queue.put((request, target, query, call_id))
        headers = {"X-Start-Time": str(time.time_ns()), "X-Served-By": SERVED_BY}
        if generated:
            headers["X-Call-Id"] = call_id
        return Response(b"", 202, headers=headers)

    async def _work(self) -> None:
        """The CE queue-worker: one job at a time, always POST, no retries, callback once
        (``docs/openfaas.md#the-ce-queue-worker``)."""
        assert self._queue is not None
        while True:
            request, target, query, call_id = await self._queue.get()
            try:
                started = time.perf_counter()
                job = replace(request, method="POST")
                status, headers, body = await self._call_function(job, target, query, call_id, str(time.time_ns()))
                callback = request.headers.get("x-callback-url")
                if callback:
                    out = {k: v for k, v in headers.items() if k.lower() not in ("content-length",)}
                    out.update({"X-Call-Id": call_id, "X-Function-Status": str(status),
                                "X-Function-Name": target.partition("/")[0],
                                "X-Duration-Seconds": f"{time.perf_counter() - started:f}"})  # fmt: skip
                    try:
                        async with httpx.AsyncClient() as client:
                            await client.post(callback, content=body, headers=out, timeout=30.0)
                        with self._lock:
                            self.callbacks.append(Callback(callback, status, out, body))
                    except httpx.HTTPError:
                        pass  # logged and never retried by CE (``docs/openfaas.md#callbacks``)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()


async def _forward(
    upstream: ASGIApp | WSGIApplication | str,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
) -> httpx.Response:
    """One request to a function's upstream: a base URL, an ASGI app, or a WSGI app (called on a
    worker thread, as a WSGI server would)."""
    arguments: dict[str, Any] = {"params": query or None, "headers": headers, "content": body or None, "timeout": 60.0}
    if isinstance(upstream, str):
        async with httpx.AsyncClient(base_url=upstream) as client:
            return await client.request(method, path, **arguments)
    if inspect.iscoroutinefunction(upstream) or inspect.iscoroutinefunction(type(upstream).__call__):
        transport = httpx.ASGITransport(app=upstream)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://function") as client:
            return await client.request(method, path, **arguments)

    def call() -> httpx.Response:
        wsgi = httpx.WSGITransport(app=upstream)  # type: ignore[arg-type]
        with httpx.Client(transport=wsgi, base_url="http://function") as client:
            return client.request(method, path, **arguments)

    return await asyncio.get_running_loop().run_in_executor(None, call)
