"""Synchronous invocation through the gateway: ``/function/NAME[.NS][/path][?query]`` is forwarded
to a ready replica of the function, streaming both ways (``docs/openfaas.md#gateway-headers``,
``docs/openfaas.md#synchronous-invocation``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from servey_faas.faas.gateway.protocol import (
    GATEWAY_VERSION,
    HOP_BY_HOP,
    INVOKE_METHODS,
    SERVED_BY,
    forwarded_headers,
    split_target,
)
from servey_faas.faas.gateway.provider import Provider

#: Response headers the serving HTTP server writes itself (uvicorn would send them twice).
_SERVER_OWN = frozenset({"date", "server"})
#: A check before forwarding: ``(request, namespace, name, sub_path)`` → a refusal, or headers to add.
Guard = Callable[[Request, str, str, str], Response | Mapping[str, str]]


class InvocationProxy:
    """Forwards invocations to the replicas of ``provider`` (:meth:`~.provider.Provider.upstream`),
    with ``upstream_timeout`` seconds for the function's answer to start. ``count(namespace, name)``
    is called once per forwarded invocation. ``guard(request, namespace, name, sub_path)``, when
    given, runs before forwarding (the watchdog's ``jwt_auth``,
    ``docs/openfaas.md#token-checks-in-of-watchdog``): its ``Response`` is the answer, or its
    headers (lower-case) are added to the forwarded request."""

    def __init__(
        self,
        provider: Provider,
        *,
        upstream_timeout: float = 60.0,
        count: Callable[[str, str], None] = lambda namespace, name: None,
        guard: Guard | None = None,
    ) -> None:
        self.provider = provider
        self.upstream_timeout = upstream_timeout
        self._count = count
        self._guard = guard

    async def __call__(self, request: Request) -> Response:
        """Answer one ``/function/...`` request (route parameter ``target`` = ``NAME[.NS][/path]``).

        Adds ``X-Start-Time`` (Unix nanoseconds), ``X-Served-By`` and, when the caller sent none,
        a new UUID v4 ``X-Call-Id`` to the forwarded request and to the response (``docs/openfaas.md#call-ids``); the
        replica's answer gets ``X-Duration-Seconds`` (``%f`` seconds until its headers, as the
        watchdog adds it). The body is streamed to the replica chunked, without ``Content-Length``,
        as of-watchdog forwards it (of-watchdog: ``executor/http_runner.go``): a function's server
        must read chunked request bodies (waitress and uvicorn do; ``http.server`` does not, and
        one that closes the connection with the body unread may reset it before its answer
        arrives). Platform errors (``docs/openfaas.md#responses-and-platform-errors``): 405 (empty) for a method the
        provider does not pass; 404 ``No endpoints available for: NAME.`` with ``X-OpenFaaS-Internal: proxy`` for an
        unknown function, 503 with the same body while no replica is ready; 500 ``Can't reach service for: NAME.`` when
        the replica does not answer; an empty 502 when its answer does not start within ``upstream_timeout``.
        """
        start = str(time.time_ns())
        given_call_id = request.headers.get("x-call-id")
        call_id = given_call_id or str(uuid.uuid4())
        added = {"X-Start-Time": start, "X-Served-By": SERVED_BY}
        if given_call_id is None:
            added["X-Call-Id"] = call_id  # echoed only when the gateway made it (``docs/openfaas.md#call-ids``)
        if request.method not in INVOKE_METHODS:
            return Response(b"", 405, headers=added)
        name, namespace, sub_path = split_target(request.path_params["target"])
        internal = {**added, "X-OpenFaaS-Internal": "proxy"}
        if self.provider.get(namespace, name) is None:
            return Response(f"No endpoints available for: {name}.\n", 404, headers=internal)
        replica = self.provider.upstream(namespace, name)
        if replica is None:
            return Response(f"No endpoints available for: {name}.\n", 503, headers=internal)
        passed: Mapping[str, str] = {}
        if self._guard is not None:
            checked = self._guard(request, namespace, name, sub_path)
            if isinstance(checked, Response):
                for key, value in added.items():
                    checked.headers[key] = value
                return checked
            passed = checked
        client = request.client
        headers = forwarded_headers(
            {k.lower(): v for k, v in request.headers.items()}, f"{client.host}:{client.port}" if client else ""
        )
        headers.update({"x-call-id": call_id, "x-start-time": start, **passed})
        headers.setdefault("user-agent", f"openfaas-ce-gateway/{GATEWAY_VERSION}")
        query = request.url.query
        url = replica.url + sub_path + (f"?{query}" if query else "")
        body = request.stream() if request.method not in ("GET", "HEAD", "OPTIONS") else None
        timeout = httpx.Timeout(self.upstream_timeout, connect=5.0)
        outgoing = replica.client.build_request(request.method, url, headers=headers, content=body, timeout=timeout)
        forwarded_at = time.perf_counter()
        try:
            upstream = await replica.client.send(outgoing, stream=True)
        except httpx.TimeoutException:
            return Response(b"", 502, headers=added)
        except httpx.TransportError:
            return Response(f"Can't reach service for: {name}.", 500, headers=internal)
        duration = time.perf_counter() - forwarded_at
        self._count(namespace, name)
        closing = BackgroundTask(upstream.aclose)
        response = StreamingResponse(upstream.aiter_raw(), upstream.status_code, background=closing)
        response.raw_headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in upstream.headers.multi_items()
            if k.lower() not in HOP_BY_HOP and k.lower() not in _SERVER_OWN
        ]
        for key, value in {**added, "X-Duration-Seconds": f"{duration:f}"}.items():
            response.headers[key] = value
        return response
