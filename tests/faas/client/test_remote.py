"""remote(): deployed actions called like local ones, through the fake gateway, with the params
and results marshalled by the action's own schema (ActionInvoker)."""

from __future__ import annotations

import datetime
import enum
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from servey_faas import action
from servey_faas.errors import ValidationError
from servey_faas.faas import AsyncGatewayClient, BasicAuth, FunctionError, GatewayClient, remote
from servey_faas.testing import serve_app
from servey_faas.testing.fake_gateway import FakeGateway

from ..conftest import PASSWORD, USER
from .function_server import function_app


class Shape(enum.Enum):
    SQUARE = "square"
    ROUND = "round"


@dataclass(frozen=True)
class Point:
    x: float
    y: float


@dataclass(frozen=True)
class Box:
    corners: list[Point]
    label: str
    shape: Shape
    made_at: datetime.datetime
    note: str | None = None


@action
def make_box(corners: list[Point], label: str = "box", shape: Shape = Shape.SQUARE) -> Box:
    """Wrap points in a box."""
    return Box(corners, label, shape, datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC))


@action
async def double(n: int) -> int:
    return n * 2


@action(name="always_fails")
def always_fails(reason: str) -> str:
    raise RuntimeError(reason)


@pytest.fixture
def functions(gateway: FakeGateway) -> FakeGateway:
    gateway.attach("make-box", function_app(make_box))
    gateway.attach("always-fails", function_app(always_fails))
    return gateway


def test_round_trips_dataclasses(client: GatewayClient, functions: FakeGateway) -> None:
    proxy = remote(make_box, client, prefix="")
    box = proxy([Point(0, 0), Point(1.5, 2)], label="crate", shape=Shape.ROUND)
    assert box == Box([Point(0.0, 0.0), Point(1.5, 2.0)], "crate", Shape.ROUND,
                      datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC))  # fmt: skip
    sent = [r for r in functions.requests if r.path.startswith("/function/")][-1]
    assert sent.path == "/function/make-box.openfaas-fn"
    assert sent.body == b'{"corners":[{"x":0,"y":0},{"x":1.5,"y":2}],"label":"crate","shape":"ROUND"}'


def test_params_are_validated_before_sending(client: GatewayClient, functions: FakeGateway) -> None:
    proxy = remote(make_box, client, prefix="")
    before = len(functions.requests)
    with pytest.raises(ValidationError) as caught:
        proxy(corners=[{"x": "not a number", "y": 1}])  # type: ignore[list-item]
    assert caught.value.errors[0].location == ("corners", 0, "x")
    with pytest.raises(TypeError):
        proxy([Point(0, 0)], corners=[])  # type: ignore[misc]
    assert len(functions.requests) == before  # nothing was sent


def test_function_errors_carry_status_and_body(client: GatewayClient, functions: FakeGateway) -> None:
    with pytest.raises(FunctionError) as caught:
        remote(always_fails, client, prefix="")("disk full")
    assert caught.value.status_code == 500 and "disk full" in caught.value.body


def test_prefix_and_namespace_name_the_function(client: GatewayClient, functions: FakeGateway) -> None:
    functions.attach("shop-double", function_app(double), namespace="openfaas-fn")
    proxy = remote(double, client, prefix="shop-", namespace="openfaas-fn")
    assert proxy.function == "shop-double" and proxy(21) == 42


@pytest.mark.anyio
async def test_call_async_with_an_async_client(gateway_url: str, functions: FakeGateway) -> None:
    functions.attach("double", function_app(double))
    async with AsyncGatewayClient(gateway_url, BasicAuth(USER, PASSWORD), environ={}) as c:
        proxy = remote(double, c, prefix="")
        assert await proxy.call_async(n=4) == 8
        assert await proxy.spawn_async(n=1)


@pytest.mark.anyio
async def test_call_async_with_a_sync_client_runs_in_a_thread(client: GatewayClient, functions: FakeGateway) -> None:
    proxy = remote(make_box, client, prefix="")
    box = await proxy.call_async([Point(1, 1)])
    assert box.label == "box" and box.shape is Shape.SQUARE


@pytest.fixture
def callback() -> Iterator[tuple[str, list[bytes], threading.Event]]:
    bodies: list[bytes] = []
    done = threading.Event()

    async def hook(request: Request) -> Response:
        bodies.append(await request.body())
        done.set()
        return Response(status_code=204)

    with serve_app(Starlette(routes=[Route("/done", hook, methods=["POST"])])) as url:
        yield f"{url}/done", bodies, done


def test_spawn_queues_and_the_callback_gets_the_json_result(
    client: GatewayClient, functions: FakeGateway, callback: tuple[str, list[bytes], threading.Event]
) -> None:
    url, bodies, done = callback
    proxy = remote(make_box, client, prefix="")
    call_id = proxy.spawn([Point(2, 3)], callback_url=url, label="later")
    assert done.wait(10)
    sent = next(r for r in functions.requests if r.path == "/async-function/make-box.openfaas-fn")
    assert sent.headers["x-call-id"] == call_id
    box = proxy.invoker.codec.load(Box, __import__("json").loads(bodies[0]))
    assert box.label == "later" and box.corners == [Point(2.0, 3.0)]


def test_remote_by_action_name_uses_the_apps_actions(client: GatewayClient, gateway: FakeGateway) -> None:
    from servey_faas.settings import Settings

    proxy = remote("say-hello", client, settings=Settings(action_path="actions"))
    assert proxy.function == "say-hello"
    gateway.attach("say-hello", function_app(proxy.action.fn))
    assert proxy(name="World") == "Hello World!"


def test_default_client_comes_from_openfaas_url(monkeypatch: pytest.MonkeyPatch, gateway_url: str) -> None:
    monkeypatch.setenv("OPENFAAS_URL", gateway_url)
    monkeypatch.setenv("OPENFAAS_CONFIG", "/nonexistent-servey-faas-test")
    with remote(double, prefix="") as proxy:
        assert proxy._clients.sync().gateway_url == gateway_url


def test_with_token_calls_on_behalf_of_an_end_user_and_shares_the_client() -> None:
    import httpx

    seen: list[httpx.Request] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.startswith("/async-function/"):
            return httpx.Response(202, headers={"X-Call-Id": "gw-1"})
        return httpx.Response(200, json=42)

    with GatewayClient("http://gw.invalid:8080", None, transport=httpx.MockTransport(gateway), environ={}) as client:
        anonymous = remote(double, client, prefix="")
        as_ann = anonymous.with_token("ann.jwt.sig")
        assert as_ann(n=21) == 42 and anonymous(n=21) == 42
        assert as_ann.spawn(n=1) == "gw-1"
        assert remote(double, client, prefix="", token="bob.jwt.sig")(n=1) == 42
    assert [r.headers.get("authorization") for r in seen] == [
        "Bearer ann.jwt.sig", None, "Bearer ann.jwt.sig", "Bearer bob.jwt.sig"]  # fmt: skip
    assert as_ann._clients is anonymous._clients and anonymous.token is None
