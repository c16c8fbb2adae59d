"""``GatewayClient`` and ``AsyncGatewayClient``: the OpenFaaS gateway REST API on httpx.

Both build their calls with the pure functions of ``_api`` and parse the answers the same way;
they differ only in how a request is sent and how a retry waits. See ``docs/openfaas.md#gateway-rest-api``,
``docs/openfaas.md#synchronous-invocation``, ``docs/openfaas.md#asynchronous-invocation-and-callbacks``,
``docs/openfaas.md#iam-and-function-tokens``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import enum
import random
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from servey_faas.faas.client import _api
from servey_faas.faas.client._api import Call, Payload, Query
from servey_faas.faas.client._credentials import gateway_url_from_env, normalize_gateway_url, saved_auth
from servey_faas.faas.client._debug import async_hooks, debug_enabled, log_response_body, sync_hooks
from servey_faas.faas.client._errors import GatewayUnauthorizedError, OAuthError, transport_error
from servey_faas.faas.client._retries import NO_RETRIES, RetryPolicy, is_unsent
from servey_faas.faas.client._tokens import (
    MemoryTokenCache,
    TokenCache,
    TokenSource,
    exchange_form,
    parse_token_response,
    source_token_async,
    token_request,
)
from servey_faas.faas.wire import DEFAULT_NAMESPACE, USER_AUTHORIZATION_HEADER

if TYPE_CHECKING:  # the models are imported where a call parses them (_api)
    from servey_faas.faas.client.models import (
        FunctionDeployment,
        FunctionNamespace,
        FunctionStatus,
        GatewayInfo,
        LogEntry,
        Secret,
    )

T = TypeVar("T")


class _Saved(enum.Enum):
    SAVED_CREDENTIALS = "saved credentials"


#: ``auth=`` default: use the credentials ``faas-cli login`` saved for the gateway, if any.
SAVED_CREDENTIALS = _Saved.SAVED_CREDENTIALS


def _user_agent() -> str:
    from servey_faas import __version__

    return f"servey-faas/{__version__}"


class _ClientConfig:
    """What both clients share: the gateway URL, credentials, invocation defaults and retry
    policy. Resolved once at construction (environment and faas-cli credentials included)."""

    def __init__(
        self,
        gateway_url: str | None,
        auth: httpx.Auth | _Saved | None,
        *,
        namespace: str,
        timeout: float | httpx.Timeout,
        retry: RetryPolicy | int,
        function_auth: bool,
        function_token_source: TokenSource | None,
        token_cache: TokenCache | None,
        debug: bool | None,
        environ: Mapping[str, str] | None,
        rand: Callable[[], float],
        wall_clock: Callable[[], float],
        clock: Callable[[], float],
    ) -> None:
        self.gateway_url = normalize_gateway_url(gateway_url) if gateway_url else gateway_url_from_env(environ)
        self.auth: httpx.Auth | None = (
            saved_auth(self.gateway_url, environ=environ) if isinstance(auth, _Saved) else auth
        )
        self.namespace = _api.check_name(namespace, "namespace")
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.retry = retry if isinstance(retry, RetryPolicy) else RetryPolicy(retries=retry)
        self.function_auth = function_auth
        if function_token_source is None and isinstance(self.auth, TokenSource):
            # as the python-sdk does (``docs/openfaas.md#gateway-tokens-and-function-tokens``)
            function_token_source = self.auth
        self.function_token_source = function_token_source
        self.token_cache: TokenCache = token_cache if token_cache is not None else MemoryTokenCache(clock=clock)
        self.token_url = f"{self.gateway_url}/oauth/token"
        self.debug = debug_enabled(environ) if debug is None else debug
        self.rand = rand
        self.wall_clock = wall_clock
        self.clock = clock

    def http_options(self) -> dict[str, Any]:
        return {
            "base_url": self.gateway_url,
            "timeout": self.timeout,
            "headers": {"User-Agent": _user_agent()},
            "follow_redirects": False,  # the gateway returns 3xx as is (``docs/openfaas.md#gateway-headers``)
            "verify": _tls_verify(self.gateway_url),
        }

    def policy_for(self, call: Call[Any], retries: int | None) -> tuple[RetryPolicy, bool]:
        """The retry policy of ``call`` and whether it may retry after the request was sent."""
        if call.auth == "function":
            if not retries:
                return NO_RETRIES, False
            return RetryPolicy(retries, self.retry.backoff, self.retry.max_backoff, self.retry.max_retry_after), True
        return self.retry, call.idempotent

    def function_auth_on(self, call: Call[Any], override: bool | None) -> bool:
        return call.auth == "function" and (self.function_auth if override is None else override)

    def place_bearer(self, request: httpx.Request, call: Call[Any], function_token: bool) -> None:
        """Put the end user's token of ``call`` on ``request``: ``Authorization: Bearer``, or the
        header servey_faas functions read it from when ``Authorization`` carries a function token."""
        if call.bearer is not None:
            header = USER_AUTHORIZATION_HEADER if function_token else "Authorization"
            request.headers[header] = f"Bearer {call.bearer}"

    def function_source(self) -> TokenSource:
        if self.function_token_source is None:
            from servey_faas.errors import ConfigurationError

            raise ConfigurationError(
                "function auth needs a token source: pass function_token_source= or auth=TokenAuth(...)"
            )
        return self.function_token_source

    def function_token_call(self, subject: str, name: str, namespace: str) -> httpx.Request:
        """The exchange for a scoped function token: ``scope=function``, ``audience=ns:name``
        (``docs/openfaas.md#gateway-tokens-and-function-tokens``)."""
        return token_request(
            self.token_url, exchange_form(subject, audience=[f"{namespace}:{name}"], scope=["function"])
        )

    def logs_timeout(self, follow: bool) -> httpx.Timeout:
        # A followed stream may stay silent for long: no read timeout (the gateway's write_timeout ends it,
        # ``docs/openfaas.md#q6-log-errors-are-remapped``).
        return (
            httpx.Timeout(self.timeout.connect, read=None, write=self.timeout.write, pool=self.timeout.pool)
            if follow
            else self.timeout
        )


def _tls_verify(gateway_url: str) -> ssl.SSLContext | bool:
    """httpx's ``verify=`` for a client of ``gateway_url``: its default (certifi's CA bundle,
    loaded when the client is built) for an ``https://`` gateway; for an ``http://`` one, which never
    speaks TLS (every call is a path under it, redirects are not followed), a context that verifies
    certificates and host names but trusts no CA, so that building the client loads no certificates
    (tens of milliseconds of the api router's cold start) and any https URL would still be refused."""
    if gateway_url.startswith("https://"):
        return True
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


_DEFAULT_RETRY = RetryPolicy()


class GatewayClient:
    """A synchronous OpenFaaS gateway client (``docs/openfaas.md#gateway-rest-api``,
    ``docs/openfaas.md#synchronous-invocation``, ``docs/openfaas.md#asynchronous-invocation-and-callbacks``,
    ``docs/openfaas.md#iam-and-function-tokens``).

    ``gateway_url`` defaults to ``OPENFAAS_URL``, then ``http://127.0.0.1:8080``; ``auth`` to
    the credentials ``faas-cli login`` saved for it (``None`` for none; any ``httpx.Auth``, e.g.
    :class:`BasicAuth` or :class:`TokenAuth`). Gateway credentials go on ``/system/*`` calls
    only. ``namespace`` is the one invocations use when none is given (``openfaas-fn``, as the
    SDKs, ``docs/openfaas.md#passing-namespaces``); management calls without a namespace use the provider's default.

    ``timeout`` is in seconds (or an ``httpx.Timeout``). ``retry`` (a :class:`RetryPolicy` or a
    number of retries) applies to idempotent calls on 502/503/504 and connection errors, and to
    any management call whose connection failed before sending; invocations retry only when
    called with ``retries=``. ``function_auth=True`` invokes with scoped function tokens
    (``scope=function``, ``audience=ns:name``, ``docs/openfaas.md#gateway-tokens-and-function-tokens``) from
    ``function_token_source`` (default: ``auth`` when it is a token source), cached in ``token_cache`` — never with the
    gateway's credentials. ``FAAS_DEBUG=1`` (or ``debug=True``) logs requests with secrets redacted. ``transport``
    replaces the network (``httpx.MockTransport``, ``httpx.WSGITransport``…); ``sleep``, ``rand``, ``wall_clock`` and
    ``clock`` are injectable for tests.

    Use it as a context manager, or call :meth:`close`, to close its connections.
    """

    def __init__(
        self,
        gateway_url: str | None = None,
        auth: httpx.Auth | _Saved | None = SAVED_CREDENTIALS,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | int = _DEFAULT_RETRY,
        function_auth: bool = False,
        function_token_source: TokenSource | None = None,
        token_cache: TokenCache | None = None,
        transport: httpx.BaseTransport | None = None,
        debug: bool | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = _ClientConfig(
            gateway_url,
            auth,
            namespace=namespace,
            timeout=timeout,
            retry=retry,
            function_auth=function_auth,
            function_token_source=function_token_source,
            token_cache=token_cache,
            debug=debug,
            environ=environ,
            rand=rand,
            wall_clock=wall_clock,
            clock=clock,
        )
        self._sleep = sleep
        self._http = httpx.Client(
            transport=transport, event_hooks=sync_hooks() if self._config.debug else None, **self._config.http_options()
        )
        self._key_locks: dict[str, threading.Lock] = {}
        self._key_locks_guard = threading.Lock()

    @property
    def gateway_url(self) -> str:
        return self._config.gateway_url

    @property
    def namespace(self) -> str:
        """The namespace invocations use when none is given."""
        return self._config.namespace

    @property
    def auth(self) -> httpx.Auth | None:
        """The gateway credentials (``/system/*``)."""
        return self._config.auth

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"GatewayClient({self.gateway_url!r}, auth={self.auth!r})"

    # --- sending -------------------------------------------------------------------------------

    def _run(
        self,
        call: Call[T],
        *,
        timeout: float | None = None,
        retries: int | None = None,
        function_auth: bool | None = None,
    ) -> T:
        response = self._send(call, timeout=timeout, retries=retries, function_auth=function_auth)
        if self._config.debug:
            log_response_body(response)
        return call.parse(response)

    def _send(
        self,
        call: Call[Any],
        *,
        stream: bool = False,
        timeout: float | httpx.Timeout | None = None,
        retries: int | None = None,
        function_auth: bool | None = None,
    ) -> httpx.Response:
        config = self._config
        request = self._http.build_request(
            call.method,
            call.path,
            params=call.params,
            json=call.json,
            content=call.content,
            headers=call.headers,
            timeout=config.timeout if timeout is None else timeout,
        )
        auth = config.auth if call.auth == "system" else None
        use_fn_token = config.function_auth_on(call, function_auth)
        config.place_bearer(request, call, use_fn_token)
        fn_token = self._set_function_token(request, call) if use_fn_token else None
        policy, resend = config.policy_for(call, retries)
        attempt = 0
        while True:
            try:
                response = self._http.send(request, auth=auth, stream=stream)
            except httpx.TransportError as e:
                if attempt < policy.retries and (resend or is_unsent(e)):
                    attempt += 1
                    self._sleep(policy.delay(attempt, None, rand=config.rand, now=config.wall_clock))
                    continue
                raise transport_error(e) from e
            if fn_token is not None and _token_refused(response):
                # A rejected function token (faas-middleware, ``docs/openfaas.md#token-checks-in-of-watchdog``): drop it
                # and retry once with a fresh one.
                response.close()
                assert call.function is not None
                _forget(config.token_cache, call.function, fn_token)
                fn_token = None
                self._set_function_token(request, call)
                continue
            if resend and attempt < policy.retries and response.status_code in policy.statuses:
                response.read() if not stream else response.close()
                attempt += 1
                self._sleep(policy.delay(attempt, response.headers, rand=config.rand, now=config.wall_clock))
                continue
            return response

    def _key_lock(self, key: str) -> threading.Lock:
        with self._key_locks_guard:
            lock = self._key_locks.get(key)
            if lock is None:
                lock = self._key_locks[key] = threading.Lock()
            return lock

    def _set_function_token(self, request: httpx.Request, call: Call[Any]) -> str:
        assert call.function is not None
        token = self.get_function_token(*call.function)
        request.headers["Authorization"] = f"Bearer {token}"
        return token

    # --- API -----------------------------------------------------------------------------------

    def get_function_token(self, name: str, namespace: str | None = None) -> str:
        """A scoped function token for ``name`` in ``namespace`` (default: the client's), from the
        cache or by exchanging the gateway token at ``/oauth/token`` with ``scope=function`` and
        ``audience=<ns>:<name>`` (``docs/openfaas.md#gateway-tokens-and-function-tokens``). One exchange per function at
        a time. When the token endpoint refuses a cached subject token (revoked or rotated), the subject is invalidated
        and the exchange retried once.

        :raises ConfigurationError: without a token source. :raises OAuthError: on a 400.
        """
        namespace = namespace or self.namespace
        config = self._config
        key = f"{_api.check_name(name)}.{_api.check_name(namespace, 'namespace')}"
        cached = config.token_cache.get(key)
        if cached is not None:
            return cached.value
        with self._key_lock(key):
            cached = config.token_cache.get(key)
            if cached is not None:
                return cached.value
            source = config.function_source()
            for attempt in (1, 2):
                subject = source.token()
                request = config.function_token_call(subject, name, namespace)
                try:
                    response = self._http.send(request, auth=None)
                except httpx.TransportError as e:
                    raise transport_error(e) from e
                try:
                    token = parse_token_response(response, config.clock())
                except (OAuthError, GatewayUnauthorizedError):
                    if attempt == 2 or not _drop_subject(source, subject):
                        raise
                    continue
                config.token_cache.set(key, token)
                return token.value
            raise AssertionError("unreachable")

    def info(self) -> GatewayInfo:
        """GET ``/system/info``."""
        return self._run(_api.info())

    def list_namespaces(self) -> list[str]:
        """GET ``/system/namespaces``: the namespaces functions may be deployed to."""
        return self._run(_api.list_namespaces())

    def get_namespace(self, namespace: str) -> FunctionNamespace:
        """GET ``/system/namespace/{NS}`` (Enterprise)."""
        return self._run(_api.get_namespace(namespace))

    def create_namespace(self, namespace: FunctionNamespace) -> int:
        """POST ``/system/namespace/`` (Enterprise); returns the status code."""
        return self._run(_api.create_namespace(namespace))

    def update_namespace(self, namespace: FunctionNamespace) -> int:
        """PUT ``/system/namespace/{NS}`` (Enterprise); returns the status code."""
        return self._run(_api.update_namespace(namespace))

    def delete_namespace(self, namespace: str) -> None:
        """DELETE ``/system/namespace/{NS}`` (Enterprise)."""
        self._run(_api.delete_namespace(namespace))

    def list_functions(self, namespace: str | None = None) -> list[FunctionStatus]:
        """GET ``/system/functions[?namespace=NS]``."""
        return self._run(_api.list_functions(namespace))

    def get_function(self, name: str, namespace: str | None = None) -> FunctionStatus:
        """GET ``/system/function/{NAME}``. :raises NotFoundError: when it does not exist."""
        return self._run(_api.get_function(name, namespace))

    def deploy_function(self, spec: FunctionDeployment) -> int:
        """POST ``/system/functions``: deploy a new function; returns the status code (202, 200 or 201)."""
        return self._run(_api.deploy_function(spec))

    def update_function(self, spec: FunctionDeployment) -> int:
        """PUT ``/system/functions``: replace a function's whole spec; returns the status code.

        :raises NotFoundError: when it does not exist (faas-cli then POSTs,
        ``docs/openfaas.md#what-faas-cli-deploy-sends``).
        """
        return self._run(_api.update_function(spec))

    def delete_function(self, name: str, namespace: str | None = None) -> None:
        """DELETE ``/system/functions``. :raises NotFoundError: when it does not exist."""
        self._run(_api.delete_function(name, namespace))

    def scale_function(self, name: str, replicas: int, namespace: str | None = None) -> None:
        """POST ``/system/scale-function/{NAME}`` (CE clamps to [1, 5],
        ``docs/openfaas.md#q3-scaling-is-clamped-between-1-and-5``)."""
        self._run(_api.scale_function(name, replicas, namespace))

    def list_secrets(self, namespace: str | None = None) -> list[Secret]:
        """GET ``/system/secrets``: names and namespaces only."""
        return self._run(_api.list_secrets(namespace))

    def create_secret(self, secret: Secret) -> int:
        """POST ``/system/secrets``. :raises ConflictError: when it exists."""
        return self._run(_api.create_secret(secret))

    def update_secret(self, secret: Secret) -> int:
        """PUT ``/system/secrets``. :raises NotFoundError: when it does not exist."""
        return self._run(_api.update_secret(secret))

    def delete_secret(self, name: str, namespace: str | None = None) -> None:
        """DELETE ``/system/secrets``. :raises NotFoundError: when it does not exist."""
        self._run(_api.delete_secret(name, namespace))

    def logs(
        self,
        name: str,
        namespace: str | None = None,
        *,
        instance: str | None = None,
        tail: int | None = None,
        follow: bool = False,
        since: datetime.datetime | None = None,
    ) -> Iterator[LogEntry]:
        """Stream GET ``/system/logs`` as :class:`LogEntry` values, one per NDJSON line
        (``docs/openfaas.md#logentry-and-log-query-parameters``).

        ``tail`` ≤ 0 means all; ``follow`` keeps the stream open (no read timeout); ``since`` must
        be aware. The request is sent at the first ``next()``; close the iterator (or leave the
        ``for`` loop) to close the stream. Unparseable lines are skipped.

        :raises InvalidArgumentError: at once, for bad arguments. Status errors come at the first
            ``next()`` (the gateway answers 501 when the provider has no logs,
            ``docs/openfaas.md#q6-log-errors-are-remapped``).
        """
        call = _api.logs(name, namespace, instance=instance, tail=tail, follow=follow, since=since)
        return self._stream_logs(call, self._config.logs_timeout(follow))

    def _stream_logs(self, call: Call[None], timeout: httpx.Timeout) -> Iterator[LogEntry]:
        response = self._send(call, stream=True, timeout=timeout)
        try:
            if not response.is_success:
                response.read()
                call.parse(response)
            for line in response.iter_lines():
                entry = _api.parse_log_line(line)
                if entry is not None:
                    yield entry
        except httpx.TransportError as e:
            raise transport_error(e) from e
        finally:
            response.close()

    def invoke(
        self,
        name: str,
        payload: Payload = None,
        *,
        namespace: str | None = None,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        query: Query | None = None,
        path: str = "",
        call_id: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        function_auth: bool | None = None,
        raise_for_status: bool = True,
        token: str | None = None,
    ) -> httpx.Response:
        """Call ``{method} /function/NAME.NS[/path][?query]`` and return the read response
        (``docs/openfaas.md#synchronous-invocation``). ``payload``: bytes and text are sent as is, a mapping or list as
        JSON. An ``X-Call-Id`` is generated unless given. ``timeout`` (seconds) overrides the client's; ``retries`` opts
        in to retries (502/503/504 and connection errors; off by default, since a function call may not be idempotent).
        ``function_auth`` overrides the client's setting. ``token`` is the end user's bearer token for this call (a
        servey_faas function verifies it as the dev server does): sent as ``Authorization: Bearer <token>``, or as
        ``X-Servey-Authorization`` when the call carries a scoped function token.

        :raises FunctionError: for a non-2xx answer (unless ``raise_for_status=False``).
        :raises GatewayConnectionError: / :class:`GatewayTimeoutError` when nothing answered.
        :raises InvalidArgumentError: for a ``token`` that is not one RFC 6750 b64token.
        """
        call = _api.invoke(
            name,
            payload,
            namespace=namespace or self.namespace,
            method=method,
            headers=headers,
            query=query,
            path=path,
            call_id=call_id,
            raise_for_status=raise_for_status,
            token=token,
        )
        return self._run(call, timeout=timeout, retries=retries, function_auth=function_auth)

    def invoke_async(
        self,
        name: str,
        payload: Payload = None,
        *,
        namespace: str | None = None,
        callback_url: str | None = None,
        call_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        query: Query | None = None,
        path: str = "",
        function_auth: bool | None = None,
        token: str | None = None,
    ) -> str:
        """Queue ``POST /async-function/NAME.NS`` (``docs/openfaas.md#asynchronous-invocation-and-callbacks``) and
        return the call id: the ``X-Call-Id`` the gateway answered, else the one sent (generated unless given). The
        result, if any, is POSTed to the absolute ``callback_url`` with ``X-Call-Id`` and ``X-Function-Status``
        (``docs/openfaas.md#callbacks``). ``token`` as for :meth:`invoke` (the queue replays it when the call runs).
        Never retried.

        :raises InvalidArgumentError: for a relative ``callback_url`` or a malformed ``token``.
        :raises NotFoundError: when the gateway has no async queue (``docs/openfaas.md#q5-async-needs-nats``).
        """
        call = _api.invoke_async(
            name,
            payload,
            namespace=namespace or self.namespace,
            callback_url=callback_url,
            call_id=call_id,
            headers=headers,
            query=query,
            path=path,
            token=token,
        )
        return self._run(call, function_auth=function_auth)


def _drop_subject(source: TokenSource, subject: str) -> bool:
    """Invalidate a cached subject token the token endpoint refused (it may have been revoked or
    rotated); True when the source can fetch a fresh one, so the exchange is worth one retry."""
    invalidate = getattr(source, "invalidate", None)
    if invalidate is None:
        return False
    invalidate(subject)
    return True


def _token_refused(response: httpx.Response) -> bool:
    """True when the watchdog refused the function token (401 with ``X-OpenFaaS-Internal``,
    ``docs/openfaas.md#token-rejections``); a 401 without it is the function's own answer (a
    servey_faas function refusing the end user's token) and is returned as it is."""
    return response.status_code == 401 and "x-openfaas-internal" in response.headers


def _forget(cache: TokenCache, function: tuple[str, str], value: str) -> None:
    key = f"{function[0]}.{function[1]}"
    delete = getattr(cache, "delete", None)
    if delete is not None:
        delete(key, value)
    else:  # a cache without delete: overwrite with an already-expired token
        from servey_faas.faas.client._tokens import Token

        cache.set(key, Token(value, expires_at=float("-inf")))


class AsyncGatewayClient:
    """The asyncio twin of :class:`GatewayClient`: same arguments (``transport`` is an
    ``httpx.AsyncBaseTransport``, ``sleep`` a coroutine function), same methods, awaited; logs
    are an async iterator. Use ``async with`` or ``await client.aclose()``."""

    def __init__(
        self,
        gateway_url: str | None = None,
        auth: httpx.Auth | _Saved | None = SAVED_CREDENTIALS,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | int = _DEFAULT_RETRY,
        function_auth: bool = False,
        function_token_source: TokenSource | None = None,
        token_cache: TokenCache | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        debug: bool | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        wall_clock: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = _ClientConfig(
            gateway_url,
            auth,
            namespace=namespace,
            timeout=timeout,
            retry=retry,
            function_auth=function_auth,
            function_token_source=function_token_source,
            token_cache=token_cache,
            debug=debug,
            environ=environ,
            rand=rand,
            wall_clock=wall_clock,
            clock=clock,
        )
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            transport=transport,
            event_hooks=async_hooks() if self._config.debug else None,
            **self._config.http_options(),
        )
        self._key_locks: dict[str, asyncio.Lock] = {}

    @property
    def gateway_url(self) -> str:
        return self._config.gateway_url

    @property
    def namespace(self) -> str:
        """The namespace invocations use when none is given."""
        return self._config.namespace

    @property
    def auth(self) -> httpx.Auth | None:
        """The gateway credentials (``/system/*``)."""
        return self._config.auth

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def __aenter__(self) -> AsyncGatewayClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"AsyncGatewayClient({self.gateway_url!r}, auth={self.auth!r})"

    # --- sending -------------------------------------------------------------------------------

    async def _run(
        self,
        call: Call[T],
        *,
        timeout: float | None = None,
        retries: int | None = None,
        function_auth: bool | None = None,
    ) -> T:
        response = await self._send(call, timeout=timeout, retries=retries, function_auth=function_auth)
        if self._config.debug:
            log_response_body(response)
        return call.parse(response)

    async def _send(
        self,
        call: Call[Any],
        *,
        stream: bool = False,
        timeout: float | httpx.Timeout | None = None,
        retries: int | None = None,
        function_auth: bool | None = None,
    ) -> httpx.Response:
        config = self._config
        request = self._http.build_request(
            call.method,
            call.path,
            params=call.params,
            json=call.json,
            content=call.content,
            headers=call.headers,
            timeout=config.timeout if timeout is None else timeout,
        )
        auth = config.auth if call.auth == "system" else None
        use_fn_token = config.function_auth_on(call, function_auth)
        config.place_bearer(request, call, use_fn_token)
        fn_token = await self._set_function_token(request, call) if use_fn_token else None
        policy, resend = config.policy_for(call, retries)
        attempt = 0
        while True:
            try:
                response = await self._http.send(request, auth=auth, stream=stream)
            except httpx.TransportError as e:
                if attempt < policy.retries and (resend or is_unsent(e)):
                    attempt += 1
                    await self._sleep(policy.delay(attempt, None, rand=config.rand, now=config.wall_clock))
                    continue
                raise transport_error(e) from e
            if fn_token is not None and _token_refused(response):
                await response.aclose()
                assert call.function is not None
                _forget(config.token_cache, call.function, fn_token)
                fn_token = None
                await self._set_function_token(request, call)
                continue
            if resend and attempt < policy.retries and response.status_code in policy.statuses:
                await (response.aread() if not stream else response.aclose())
                attempt += 1
                await self._sleep(policy.delay(attempt, response.headers, rand=config.rand, now=config.wall_clock))
                continue
            return response

    async def _set_function_token(self, request: httpx.Request, call: Call[Any]) -> str:
        assert call.function is not None
        token = await self.get_function_token(*call.function)
        request.headers["Authorization"] = f"Bearer {token}"
        return token

    # --- API -----------------------------------------------------------------------------------

    async def get_function_token(self, name: str, namespace: str | None = None) -> str:
        """See :meth:`GatewayClient.get_function_token`."""
        namespace = namespace or self.namespace
        config = self._config
        key = f"{_api.check_name(name)}.{_api.check_name(namespace, 'namespace')}"
        cached = config.token_cache.get(key)
        if cached is not None:
            return cached.value
        lock = self._key_locks.setdefault(key, asyncio.Lock())
        async with lock:
            cached = config.token_cache.get(key)
            if cached is not None:
                return cached.value
            source = config.function_source()
            for attempt in (1, 2):
                subject = await source_token_async(source)
                request = config.function_token_call(subject, name, namespace)
                try:
                    response = await self._http.send(request, auth=None)
                except httpx.TransportError as e:
                    raise transport_error(e) from e
                try:
                    token = parse_token_response(response, config.clock())
                except (OAuthError, GatewayUnauthorizedError):
                    if attempt == 2 or not _drop_subject(source, subject):
                        raise
                    continue
                config.token_cache.set(key, token)
                return token.value
            raise AssertionError("unreachable")

    async def info(self) -> GatewayInfo:
        """See :meth:`GatewayClient.info`."""
        return await self._run(_api.info())

    async def list_namespaces(self) -> list[str]:
        """See :meth:`GatewayClient.list_namespaces`."""
        return await self._run(_api.list_namespaces())

    async def get_namespace(self, namespace: str) -> FunctionNamespace:
        """See :meth:`GatewayClient.get_namespace`."""
        return await self._run(_api.get_namespace(namespace))

    async def create_namespace(self, namespace: FunctionNamespace) -> int:
        """See :meth:`GatewayClient.create_namespace`."""
        return await self._run(_api.create_namespace(namespace))

    async def update_namespace(self, namespace: FunctionNamespace) -> int:
        """See :meth:`GatewayClient.update_namespace`."""
        return await self._run(_api.update_namespace(namespace))

    async def delete_namespace(self, namespace: str) -> None:
        """See :meth:`GatewayClient.delete_namespace`."""
        await self._run(_api.delete_namespace(namespace))

    async def list_functions(self, namespace: str | None = None) -> list[FunctionStatus]:
        """See :meth:`GatewayClient.list_functions`."""
        return await self._run(_api.list_functions(namespace))

    async def get_function(self, name: str, namespace: str | None = None) -> FunctionStatus:
        """See :meth:`GatewayClient.get_function`."""
        return await self._run(_api.get_function(name, namespace))

    async def deploy_function(self, spec: FunctionDeployment) -> int:
        """See :meth:`GatewayClient.deploy_function`."""
        return await self._run(_api.deploy_function(spec))

    async def update_function(self, spec: FunctionDeployment) -> int:
        """See :meth:`GatewayClient.update_function`."""
        return await self._run(_api.update_function(spec))

    async def delete_function(self, name: str, namespace: str | None = None) -> None:
        """See :meth:`GatewayClient.delete_function`."""
        await self._run(_api.delete_function(name, namespace))

    async def scale_function(self, name: str, replicas: int, namespace: str | None = None) -> None:
        """See :meth:`GatewayClient.scale_function`."""
        await self._run(_api.scale_function(name, replicas, namespace))

    async def list_secrets(self, namespace: str | None = None) -> list[Secret]:
        """See :meth:`GatewayClient.list_secrets`."""
        return await self._run(_api.list_secrets(namespace))

    async def create_secret(self, secret: Secret) -> int:
        """See :meth:`GatewayClient.create_secret`."""
        return await self._run(_api.create_secret(secret))

    async def update_secret(self, secret: Secret) -> int:
        """See :meth:`GatewayClient.update_secret`."""
        return await self._run(_api.update_secret(secret))

    async def delete_secret(self, name: str, namespace: str | None = None) -> None:
        """See :meth:`GatewayClient.delete_secret`."""
        await self._run(_api.delete_secret(name, namespace))

    def logs(
        self,
        name: str,
        namespace: str | None = None,
        *,
        instance: str | None = None,
        tail: int | None = None,
        follow: bool = False,
        since: datetime.datetime | None = None,
    ) -> AsyncIterator[LogEntry]:
        """See :meth:`GatewayClient.logs`; an async iterator (close it with ``aclose()``, e.g.
        through ``contextlib.aclosing``, when leaving a followed stream early)."""
        call = _api.logs(name, namespace, instance=instance, tail=tail, follow=follow, since=since)
        return self._stream_logs(call, self._config.logs_timeout(follow))

    async def _stream_logs(self, call: Call[None], timeout: httpx.Timeout) -> AsyncIterator[LogEntry]:
        response = await self._send(call, stream=True, timeout=timeout)
        try:
            if not response.is_success:
                await response.aread()
                call.parse(response)
            async for line in response.aiter_lines():
                entry = _api.parse_log_line(line)
                if entry is not None:
                    yield entry
        except httpx.TransportError as e:
            raise transport_error(e) from e
        finally:
            await response.aclose()

    async def invoke(
        self,
        name: str,
        payload: Payload = None,
        *,
        namespace: str | None = None,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        query: Query | None = None,
        path: str = "",
        call_id: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        function_auth: bool | None = None,
        raise_for_status: bool = True,
        token: str | None = None,
    ) -> httpx.Response:
        """See :meth:`GatewayClient.invoke`."""
        call = _api.invoke(
            name,
            payload,
            namespace=namespace or self.namespace,
            method=method,
            headers=headers,
            query=query,
            path=path,
            call_id=call_id,
            raise_for_status=raise_for_status,
            token=token,
        )
        return await self._run(call, timeout=timeout, retries=retries, function_auth=function_auth)

    @contextlib.asynccontextmanager
    async def stream_invoke(
        self,
        name: str,
        payload: Payload = None,
        *,
        namespace: str | None = None,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        query: Query | None = None,
        path: str = "",
        timeout: float | None = None,
        function_auth: bool | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Like :meth:`invoke` (``raise_for_status=False``, no retries), as an async context
        manager giving the response with its body not read yet (``aiter_bytes()``), so that the
        caller bounds what it reads; the response is closed on exit, as httpx's ``stream()`` does.

        :raises GatewayConnectionError: / :class:`GatewayTimeoutError` when nothing answered
            (also while the body is read).
        """
        call = _api.invoke(
            name,
            payload,
            namespace=namespace or self.namespace,
            method=method,
            headers=headers,
            query=query,
            path=path,
            raise_for_status=False,
        )
        response = await self._send(call, stream=True, timeout=timeout, function_auth=function_auth)
        try:
            yield response
        except httpx.TransportError as e:
            raise transport_error(e) from e
        finally:
            await response.aclose()

    async def invoke_async(
        self,
        name: str,
        payload: Payload = None,
        *,
        namespace: str | None = None,
        callback_url: str | None = None,
        call_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        query: Query | None = None,
        path: str = "",
        function_auth: bool | None = None,
        token: str | None = None,
    ) -> str:
        """See :meth:`GatewayClient.invoke_async`."""
        call = _api.invoke_async(
            name,
            payload,
            namespace=namespace or self.namespace,
            callback_url=callback_url,
            call_id=call_id,
            headers=headers,
            query=query,
            path=path,
            token=token,
        )
        return await self._run(call, function_auth=function_auth)
