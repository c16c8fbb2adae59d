"""A fake OpenFaaS gateway for tests: the local gateway's own routes
(:class:`~servey_faas.faas.gateway.app.GatewayApp`, the community-edition behaviour of the
OpenFaaS gateway, plus Enterprise IAM when asked) over functions kept in memory, with every request
checked against the official gateway spec.

Its functions are upstreams you attach (an ASGI or a WSGI app, in-process, or a URL); deployments,
secrets, logs and the async queue live in memory; failures can be injected for retry tests. Unlike
the local gateway (``--run=gateway``), it runs no build contexts; it is for client tests::

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
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servey_faas.faas.client.models import FunctionDeployment, ProviderInfo, Secret, VersionInfo
from servey_faas.faas.gateway.app import GatewayApp
from servey_faas.faas.gateway.credentials import BasicCredentials
from servey_faas.faas.gateway.iam import Admin, LocalIAM
from servey_faas.faas.gateway.logs import LogBook
from servey_faas.faas.gateway.protocol import exchange_form
from servey_faas.faas.gateway.provider import Deployed, Upstream
from servey_faas.faas.wire import DEFAULT_NAMESPACE
from servey_faas.testing.spec_check import SpecChecker

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication

#: The base URL of an in-process function (its requests never leave the process).
_IN_PROCESS = "http://function"


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


@dataclass(frozen=True)
class Callback:
    """A callback the queue-worker POSTed: its ``url``, the function's ``status``
    (``X-Function-Status``), the headers and body sent (``docs/openfaas.md#callbacks``)."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes


class MemoryProvider:
    """The fake gateway's :class:`~servey_faas.faas.gateway.provider.Provider`: deployments and
    secrets in memory, invocations sent to attached upstreams. Every replica of a deployed function
    counts as available; one with no upstream attached has no endpoint (503). Thread-safe."""

    info = ProviderInfo("fake-provider", "memory", VersionInfo(sha="0" * 40, release="0.1.0"))

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._functions: dict[tuple[str, str], Deployed] = {}
        self._secrets: dict[tuple[str, str], Secret] = {}
        self._upstreams: dict[tuple[str, str], httpx.AsyncClient | str] = {}
        self._http: httpx.AsyncClient | None = None

    def attach(self, namespace: str, name: str, upstream: ASGIApp | WSGIApplication | str) -> None:
        """Send the invocations of ``name.namespace`` to ``upstream`` (see :meth:`FakeGateway.attach`)."""
        target: httpx.AsyncClient | str
        if isinstance(upstream, str):
            target = upstream.rstrip("/")
        elif inspect.iscoroutinefunction(upstream) or inspect.iscoroutinefunction(type(upstream).__call__):
            asgi = httpx.ASGITransport(app=upstream, raise_app_exceptions=False)  # type: ignore[arg-type]
            target = httpx.AsyncClient(transport=asgi)
        else:
            target = httpx.AsyncClient(transport=_ThreadedWSGITransport(upstream))  # type: ignore[arg-type]
        with self._lock:
            self._upstreams[(namespace, name)] = target

    def put(self, deployed: Deployed) -> None:
        with self._lock:
            self._functions[deployed.key] = deployed

    def secret(self, namespace: str, name: str) -> Secret | None:
        with self._lock:
            return self._secrets.get((namespace, name))

    # --- the Provider protocol -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self) -> AsyncIterator[None]:
        # functions attached by URL are on loopback: never through the user's HTTP_PROXY
        async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as self._http:
            yield

    def check(self, spec: FunctionDeployment) -> None:
        """Any image will do: nothing is pulled."""

    def functions(self, namespace: str) -> list[Deployed]:
        with self._lock:
            return [d for (ns, _), d in sorted(self._functions.items()) if ns == namespace]

    def get(self, namespace: str, name: str) -> Deployed | None:
        with self._lock:
            return self._functions.get((namespace, name))

    async def deploy(self, deployed: Deployed) -> None:
        self.put(deployed)

    async def scale(self, deployed: Deployed) -> None:
        self.put(deployed)

    async def remove(self, namespace: str, name: str) -> bool:
        with self._lock:
            self._upstreams.pop((namespace, name), None)
            return self._functions.pop((namespace, name), None) is not None

    def available(self, namespace: str, name: str) -> int:
        deployed = self.get(namespace, name)
        return 0 if deployed is None else deployed.replicas

    def upstream(self, namespace: str, name: str) -> Upstream | None:
        with self._lock:
            target = self._upstreams.get((namespace, name))
        if isinstance(target, httpx.AsyncClient):
            return Upstream(target, _IN_PROCESS)
        if target is None or self._http is None:
            return None
        return Upstream(self._http, target)

    def secret_names(self, namespace: str) -> list[str]:
        with self._lock:
            return sorted(name for ns, name in self._secrets if ns == namespace)

    def set_secret(self, namespace: str, secret: Secret) -> None:
        with self._lock:
            self._secrets[(namespace, secret.name)] = secret

    def delete_secret(self, namespace: str, name: str) -> bool:
        with self._lock:
            return self._secrets.pop((namespace, name), None) is not None


class _ThreadedWSGITransport(httpx.AsyncBaseTransport):
    """httpx's :class:`~httpx.WSGITransport` for an async client: the WSGI app runs on a worker
    thread, as a WSGI server would run it, its request body given whole (with a ``Content-Length``)."""

    def __init__(self, app: WSGIApplication) -> None:
        self._wsgi = httpx.WSGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "transfer-encoding"]
        whole = httpx.Request(request.method, request.url, headers=headers, content=body)

        def call() -> httpx.Response:
            response = self._wsgi.handle_request(whole)
            content = httpx.ByteStream(response.read())  # a stream, as the proxy streams the answer
            return httpx.Response(response.status_code, headers=response.headers, stream=content)

        return await asyncio.to_thread(call)


class FakeGateway:
    """An ASGI app: the gateway's routes over a :class:`MemoryProvider`, behind the spec check, the
    recording of requests and the injected faults (see the module docstring).

    ``basic_auth`` ``(user, password)`` protects ``/system/*``
    (``docs/openfaas.md#basic-auth-on-ce``). ``iam`` serves the Enterprise IAM routes
    (``/oauth/token``, OIDC discovery, JWKS; CE answers 404, ``docs/openfaas.md#token-exchange``):
    ``subject_tokens`` are the upstream tokens it accepts, and it issues ES256 tokens living
    ``token_ttl`` seconds (``expires_in``), checked by functions deployed with ``jwt_auth=true``;
    with IAM on, ``/system/*`` takes a gateway token (and basic auth when it is set), and needs one
    of them when there are subject tokens. ``async_enabled``: NATS configured
    (``docs/openfaas.md#q5-async-needs-nats``). ``namespaces`` are the managed namespaces;
    ``enterprise_namespaces`` turns on namespace management (``docs/openfaas.md#routes``). These
    three and ``subject_tokens`` may change at any time. ``clock`` is Unix seconds (token expiry);
    ``checker`` checks each request.

    Served without a lifespan (as ``httpx.ASGITransport`` does), it starts on its first request, and
    its queue-worker runs until that event loop ends.
    """

    def __init__(
        self,
        basic_auth: tuple[str, str] | None = None,
        iam: bool = False,
        subject_tokens: set[str] | None = None,
        token_ttl: int = 3600,
        async_enabled: bool = True,
        namespaces: list[str] | None = None,
        enterprise_namespaces: bool = False,
        clock: Callable[[], float] = time.time,
        checker: SpecChecker | None = None,
    ) -> None:
        self.basic_auth = basic_auth
        self.iam = iam
        self.checker = checker or SpecChecker()
        self.requests: list[RecordedRequest] = []
        self.violations: list[str] = []
        self.exchanges: list[dict[str, list[str]]] = []
        self.callbacks: list[Callback] = []
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._logs = LogBook()
        self._provider = MemoryProvider()
        admin = None if basic_auth is None else Admin(*basic_auth)
        self._iam = LocalIAM(
            ec.generate_private_key(ec.SECP256R1()),
            admin,
            token_ttl=token_ttl,
            clock=clock,
            subject_tokens=set() if subject_tokens is None else subject_tokens,
        )
        self._core = GatewayApp(
            self._provider,
            logs=self._logs,
            iam=self._iam,
            queue_path=":memory:",
            credentials=None if basic_auth is None else BasicCredentials(*basic_auth),
            iam_routes=iam,
            cron=False,
            callback_hooks=[self._record_callback],
        )
        self.async_enabled = async_enabled
        self.namespaces = [DEFAULT_NAMESPACE] if namespaces is None else namespaces
        self.enterprise_namespaces = enterprise_namespaces

    # --- switches that may change while it serves ----------------------------------------------

    @property
    def async_enabled(self) -> bool:
        return self._core.async_enabled

    @async_enabled.setter
    def async_enabled(self, value: bool) -> None:
        self._core.async_enabled = value

    @property
    def namespaces(self) -> list[str]:
        return self._core.namespaces

    @namespaces.setter
    def namespaces(self, value: list[str]) -> None:
        self._core.namespaces = value

    @property
    def enterprise_namespaces(self) -> bool:
        return self._core.namespace_management

    @enterprise_namespaces.setter
    def enterprise_namespaces(self, value: bool) -> None:
        self._core.namespace_management = value

    @property
    def subject_tokens(self) -> set[str]:
        tokens = self._iam.subject_tokens
        assert isinstance(tokens, set)
        return tokens

    @subject_tokens.setter
    def subject_tokens(self, value: set[str]) -> None:
        self._iam.subject_tokens = value

    # --- test controls -------------------------------------------------------------------------

    def attach(
        self,
        name: str,
        upstream: ASGIApp | WSGIApplication | str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        deploy: bool = True,
    ) -> None:
        """Serve function ``name.namespace`` with ``upstream``: an ASGI app (an async callable),
        a WSGI app (a sync callable, such as an action's
        :func:`~servey_faas.faas.runtime.function_app`, run on a worker thread), both in-process,
        or a base URL. With ``deploy``, the function is also deployed (image ``fake/<name>``) if
        missing. Removing the function detaches it."""
        self._provider.attach(namespace, name, upstream)
        if deploy and self._provider.get(namespace, name) is None:
            spec = FunctionDeployment(name, f"fake/{name}:latest", namespace=namespace)
            self._provider.put(Deployed(spec, datetime.datetime.now(datetime.UTC).replace(microsecond=0)))

    def add_log(self, name: str, text: str, *, namespace: str = DEFAULT_NAMESPACE, instance: str = "") -> None:
        """Append a log line for ``name`` (seen by followers of its log stream)."""
        self._logs.append(name, namespace, instance or f"{name}-6b7c9d-x1", text)

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
        """Invalidate every issued token (a new signing key): the next request with one gets 401."""
        self._iam.rotate_key(ec.generate_private_key(ec.SECP256R1()))

    def count(self, method: str, path: str) -> int:
        """How many ``method path`` requests arrived."""
        return sum(1 for r in list(self.requests) if r.method == method and r.path == path)

    def function(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> FunctionDeployment | None:
        """The deployed spec of ``name`` (its namespace filled in), or None."""
        found = self._provider.get(namespace, name)
        return None if found is None else found.spec

    def secret_value(self, name: str, namespace: str = DEFAULT_NAMESPACE) -> Secret | None:
        """The stored secret (with its value), for assertions."""
        return self._provider.secret(namespace, name)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until the async queue is empty and no job runs (its callback sent); False on timeout."""
        deadline = time.monotonic() + timeout
        while self._core.pending():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    async def _record_callback(self, response: httpx.Response) -> None:
        sent = response.request
        status = int(sent.headers.get("x-function-status", "0"))
        with self._lock:
            self.callbacks.append(Callback(str(sent.url), status, dict(sent.headers), sent.content))

    # --- serving -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve on a free port of ``host`` with uvicorn in a thread; yields the base URL. The
        server is stopped (and the thread joined) on exit."""
        from servey_faas.testing.server import serve_app

        with serve_app(self, host, lifespan="on") as url:
            try:
                yield url
            finally:
                self._core.end_streams()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._core.app(scope, receive, send)
            return
        if self._core.loop is not asyncio.get_running_loop():
            await self._core.start()  # no lifespan: started by the first request
        request = Request(scope, receive)
        body = await request.body()
        path = request.url.path
        query = tuple(parse_qsl(request.url.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self.requests.append(RecordedRequest(request.method, path, query, headers, body))
        problems = self.checker.check(request.method, path, query, headers, body)
        response: Response | None
        if problems:
            with self._lock:
                self.violations.extend(problems)
            response = Response("\n".join(problems), 400, headers={"X-Fake-Gateway": "spec-violation"})
        else:
            response = self._fault(request.method, path)
        if response is not None:
            await response(scope, receive, send)
            return
        if self.iam and path == "/oauth/token":
            with self._lock:
                self.exchanges.append(exchange_form(body))
        await self._core.app(scope, _replay(body, receive), send)

    def _fault(self, method: str, path: str) -> Response | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.path == path and fault.times > 0:
                    fault.times -= 1
                    return Response(fault.body, fault.status, headers=dict(fault.headers))
        return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` for an app after the request ``body`` was read: the body first, then what comes."""
    replayed = False

    async def again() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again
