"""Bounded retries with backoff and Retry-After; never for invocations unless asked."""

from __future__ import annotations

import asyncio
import email.utils
import socket

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from servey_faas.faas import (
    BasicAuth,
    FunctionDeployment,
    FunctionError,
    GatewayClient,
    GatewayConnectionError,
    GatewayServerError,
    GatewayTimeoutError,
    RetryPolicy,
)
from servey_faas.faas.client._retries import retry_after
from servey_faas.testing.fake_gateway import FakeGateway

from ..conftest import PASSWORD, USER


def make_client(url: str, sleeps: list[float], **kwargs: object) -> GatewayClient:
    return GatewayClient(
        url,
        BasicAuth(USER, PASSWORD),
        environ={},
        sleep=sleeps.append,
        rand=lambda: 1.0,
        **kwargs,  # type: ignore[arg-type]
    )


def test_idempotent_call_retries_honouring_retry_after(gateway_url: str, gateway: FakeGateway) -> None:
    gateway.inject("GET", "/system/functions", 503, times=2, headers={"Retry-After": "2"})
    sleeps: list[float] = []
    with make_client(gateway_url, sleeps) as c:
        assert c.list_functions() == []
    assert gateway.count("GET", "/system/functions") == 3
    assert sleeps == [2.0, 2.0]


def test_backoff_doubles_up_to_the_cap_then_gives_up(gateway_url: str, gateway: FakeGateway) -> None:
    gateway.inject("GET", "/system/info", 502, times=10)
    sleeps: list[float] = []
    policy = RetryPolicy(retries=4, backoff=0.5, max_backoff=2.0)
    with make_client(gateway_url, sleeps, retry=policy) as c, pytest.raises(GatewayServerError) as caught:
        c.info()
    assert caught.value.status_code == 502
    assert gateway.count("GET", "/system/info") == 5
    assert sleeps == [0.5, 1.0, 2.0, 2.0]  # rand() = 1.0: the top of each full-jitter window


def test_jitter_draws_within_the_window() -> None:
    policy = RetryPolicy(backoff=1.0, max_backoff=100.0)
    assert policy.delay(3, {}, rand=lambda: 0.25) == 1.0  # 0.25 * 1.0 * 2**2
    assert policy.delay(1, {"retry-after": "500"}, rand=lambda: 0.0) == 60.0  # capped at max_retry_after


def test_retry_after_http_date_uses_the_wall_clock() -> None:
    when = email.utils.formatdate(1_700_000_030, usegmt=True)
    assert retry_after(when, now=lambda: 1_700_000_000.0) == 30.0
    assert retry_after("garbage") is None and retry_after(None) is None


def test_non_idempotent_call_is_not_retried_after_sending(gateway_url: str, gateway: FakeGateway) -> None:
    gateway.inject("POST", "/system/functions", 503, times=1)
    sleeps: list[float] = []
    with make_client(gateway_url, sleeps) as c, pytest.raises(GatewayServerError):
        c.deploy_function(FunctionDeployment("f", "img:1"))
    assert gateway.count("POST", "/system/functions") == 1 and sleeps == []


def echo() -> Starlette:
    async def handle(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/", handle, methods=["POST"])])


def test_invocations_retry_only_when_asked(gateway_url: str, gateway: FakeGateway) -> None:
    gateway.attach("echo-fn", echo())
    path = "/function/echo-fn.openfaas-fn"
    gateway.inject("POST", path, 503, times=2)
    sleeps: list[float] = []
    with make_client(gateway_url, sleeps) as c:
        with pytest.raises(FunctionError):
            c.invoke("echo-fn")
        assert gateway.count("POST", path) == 1 and sleeps == []
        assert c.invoke("echo-fn", retries=2).json() == {"ok": True}
    assert gateway.count("POST", path) == 3 and len(sleeps) == 1


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_connection_errors_are_retried_then_raised() -> None:
    sleeps: list[float] = []
    with make_client(closed_port_url(), sleeps, retry=2) as c:
        with pytest.raises(GatewayConnectionError):
            c.list_functions()
        assert len(sleeps) == 2
        # A refused connection never sent the request: safe to retry even a POST.
        with pytest.raises(GatewayConnectionError):
            c.deploy_function(FunctionDeployment("f", "img:1"))
        assert len(sleeps) == 4
        # Invocations are never retried unless asked.
        with pytest.raises(GatewayConnectionError):
            c.invoke("f")
        assert len(sleeps) == 4


def test_timeout_raises_gateway_timeout(gateway_url: str, gateway: FakeGateway) -> None:
    release = asyncio.Event()

    async def slow(request: Request) -> JSONResponse:
        try:
            await asyncio.wait_for(release.wait(), 1)
        except TimeoutError:
            pass
        return JSONResponse({})

    gateway.attach("slow-fn", Starlette(routes=[Route("/", slow, methods=["POST"])]))
    with make_client(gateway_url, []) as c, pytest.raises(GatewayTimeoutError):
        c.invoke("slow-fn", timeout=0.1)
