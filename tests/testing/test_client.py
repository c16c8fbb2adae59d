"""servey_faas.testing.TestClient / AsyncTestClient: requests to the app in-process, lifespan, call()."""

from __future__ import annotations

import contextlib
import datetime
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from actions.orders import Currency, Order, OrderLine
from servey_faas import WEB_GET, WebTrigger, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ActionNotFoundError, ConfigurationError, ValidationError
from servey_faas.settings import Settings
from servey_faas.testing import AsyncTestClient, LifespanError, TestClient
from servey_faas.web import create_app

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def demo() -> ServeyApp:
    """The demo actions of the repository (actions/)."""
    return ServeyApp.load(Settings(project_dir=REPO, action_path="actions"))


# -- call(): the request is built from the action's first WebTrigger --------------------------------


def test_call_get_puts_params_in_the_query(demo: ServeyApp) -> None:
    with TestClient(demo) as client:
        response = client.call("say_hello", name="Wörld & co")
    assert response.request.method == "GET"
    assert response.request.url.path == "/actions/say-hello"
    assert response.request.url.params["name"] == "Wörld & co"
    assert response.request.content == b""
    assert response.status_code == 200
    assert response.json() == "Hello Wörld & co!"


def test_call_fills_path_params(demo: ServeyApp) -> None:
    with TestClient(demo) as client:
        response = client.call("get_order_line", order_number=42, line=3)
    assert response.request.url.path == "/orders/42/lines/3"
    assert response.request.url.query == b""
    assert response.json() == "order 42, line 3"


def test_call_delete_sends_other_params_as_json_literals_in_the_query(demo: ServeyApp) -> None:
    with TestClient(demo) as client:
        response = client.call("cancel_order", order_number=7, dry_run=True)
    assert response.request.method == "DELETE"
    assert str(response.request.url) == "http://testserver/orders/7?dry_run=true"
    assert response.json() == {"order_number": 7, "cancelled": False}


def test_call_put_sends_a_json_body(demo: ServeyApp) -> None:
    with TestClient(demo) as client:
        response = client.call("to_fahrenheit", reading={"station": "OSLO", "celsius": 100.0})
    assert response.request.method == "PUT"
    assert response.request.headers["content-type"] == "application/json"
    assert response.request.url.query == b""
    assert response.json() == {"station": "OSLO", "fahrenheit": 212.0}


def test_call_marshals_python_values_with_the_parameter_types(demo: ServeyApp) -> None:
    order = Order(
        customer="ada",
        lines=[OrderLine(sku="tea", quantity=2, unit_price=3.5)],
        currency=Currency.USD,
        deliver_on=datetime.date(2026, 12, 1),
    )
    with TestClient(demo) as client:
        response = client.call("quote_order", order=order)
    assert response.request.method == "POST"
    body = response.json()
    assert (body["customer"], body["total"], body["currency"], body["item_count"]) == ("ada", 7.0, "USD", 2)
    assert body["quoted_at"].startswith("2026-12-01T00:00:00")


def test_call_awaits_async_actions(demo: ServeyApp) -> None:
    with TestClient(demo) as client:
        assert client.call("current_temperature", city="Oslo").json() == {"station": "OSLO", "celsius": 4.0}


def test_call_accepts_the_dashed_name(demo: ServeyApp) -> None:
    with TestClient(demo) as client:
        assert client.call("say-hello", name="x").json() == "Hello x!"


def test_call_returns_validation_errors_as_responses(demo: ServeyApp) -> None:
    with TestClient(demo) as client:
        response = client.call("say_hello")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"location": ["query", "name"], "message": "field required"}]


def test_call_unknown_action_names_the_known_ones(demo: ServeyApp) -> None:
    with TestClient(demo) as client, pytest.raises(ActionNotFoundError, match="say_hello"):
        client.call("no_such_action")


def test_call_fills_a_left_out_path_param_with_its_default(demo: ServeyApp) -> None:
    with TestClient(demo) as client:
        response = client.call("get_order_line", order_number=9)
    assert response.request.url.path == "/orders/9/lines/1"


def test_call_requires_path_params(demo: ServeyApp) -> None:
    with TestClient(demo) as client, pytest.raises(ValidationError) as raised:
        client.call("get_order_line", line=1)
    assert [(e.location, e.message) for e in raised.value.errors] == [(("path", "order_number"), "field required")]


def test_action_request_takes_headers(demo: ServeyApp) -> None:
    with TestClient(demo) as client:
        request = client.action_request("say_hello", {"name": "a"}, headers={"X-Trace": "1"})
        assert request.headers["x-trace"] == "1"
        assert client.send(request).json() == "Hello a!"


@action(triggers=(WEB_GET,))
def count_tags(tags: list[str], limit: int | None = None) -> dict[str, Any]:
    """Lists travel as repeated query keys; None is left out."""
    return {"tags": tags, "limit": limit}


@action(triggers=(WebTrigger("POST", "/things/{thing_id}"), WEB_GET))
def rename_thing(thing_id: str, name: str) -> str:
    """Only the first trigger is used by call(); path params are not repeated in the body."""
    return f"{thing_id}={name}"


@action
def offline_only(x: int) -> int:
    """No WebTrigger: not reachable over HTTP."""
    return x


@pytest.fixture(scope="module")
def local() -> ServeyApp:
    found = [get_action(fn) for fn in (count_tags, rename_thing, offline_only)]
    return ServeyApp.from_registry(ActionRegistry(a for a in found if a is not None))


def test_call_repeats_query_keys_for_lists_and_leaves_none_out(local: ServeyApp) -> None:
    with TestClient(local) as client:
        response = client.call("count_tags", tags=["a", "b c"], limit=None)
    assert response.request.url.query == b"tags=a&tags=b+c"
    assert response.json() == {"tags": ["a", "b c"], "limit": None}


def test_call_uses_the_first_trigger_and_puts_path_params_only_in_the_path(local: ServeyApp) -> None:
    with TestClient(local) as client:
        response = client.call("rename_thing", thing_id="a b/c", name="n")
    assert response.request.method == "POST"
    assert response.request.url.raw_path == b"/things/a%20b%2Fc"
    assert response.request.content == b'{"name":"n"}'


def test_call_of_an_action_without_web_trigger_says_so(local: ServeyApp) -> None:
    with TestClient(local) as client, pytest.raises(ActionNotFoundError, match=r"offline_only.*no WebTrigger"):
        client.call("offline_only", x=1)


# -- what the client can be built over ----------------------------------------------------------


def test_client_loads_the_actions_from_settings() -> None:
    with TestClient(settings=Settings(project_dir=REPO, action_path="actions")) as client:
        assert client.servey_app is not None
        assert "say_hello" in client.servey_app.actions
        assert client.call("say_hello", name="s").json() == "Hello s!"


def test_client_over_an_app_from_create_app_can_call(demo: ServeyApp) -> None:
    with TestClient(create_app(demo)) as client:
        assert client.servey_app is demo
        assert client.call("say_hello", name="c").json() == "Hello c!"
        assert client.get("/openapi.json").json()["paths"]["/actions/say-hello"]


def test_client_over_a_plain_asgi_app_cannot_call() -> None:
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("plain"))])
    with TestClient(app) as client:
        assert client.get("/").text == "plain"
        with pytest.raises(ConfigurationError, match="plain ASGI app"):
            client.call("say_hello", name="x")


def test_requests_without_with_run_on_a_fresh_loop_each_and_skip_the_lifespan() -> None:
    events: list[str] = []
    client = TestClient(_lifespan_app(events))
    assert client.get("/state").json() == {"greeting": None}
    assert client.get("/state").status_code == 200
    assert events == ["request", "request"]
    client.close()


# -- lifespan -----------------------------------------------------------------------------------


def _lifespan_app(
    events: list[str], *, fail_startup: bool = False, fail_shutdown: bool = False, crash: bool = False
) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        if fail_startup:
            raise RuntimeError("database unreachable")
        yield {"greeting": "hi", "loop_thread": threading.get_ident()}
        events.append("shutdown")
        if fail_shutdown:
            raise RuntimeError("could not flush")

    async def state(request: Request) -> JSONResponse:
        events.append("request")
        if crash:
            raise ValueError("boom")
        greeting = getattr(request.state, "greeting", None)
        same_thread = getattr(request.state, "loop_thread", None) == threading.get_ident()
        return JSONResponse({"greeting": greeting, **({"same_loop_thread": same_thread} if greeting else {})})

    return Starlette(routes=[Route("/state", state)], lifespan=lifespan)


def test_with_runs_startup_before_requests_and_shutdown_after() -> None:
    events: list[str] = []
    with TestClient(_lifespan_app(events)) as client:
        assert events == ["startup"]
        response = client.get("/state")
        # the lifespan state reaches the request, which runs on the lifespan's event loop thread
        assert response.json() == {"greeting": "hi", "same_loop_thread": True}
        assert client.lifespan_state["greeting"] == "hi"
        assert events == ["startup", "request"]
    assert events == ["startup", "request", "shutdown"]


def test_a_startup_error_propagates_from_enter() -> None:
    events: list[str] = []
    client = TestClient(_lifespan_app(events, fail_startup=True))
    with pytest.raises(RuntimeError, match="database unreachable"):
        client.__enter__()
    assert events == ["startup"]


def test_a_shutdown_error_propagates_from_exit() -> None:
    events: list[str] = []
    with pytest.raises(RuntimeError, match="could not flush"), TestClient(_lifespan_app(events, fail_shutdown=True)):
        pass
    assert events == ["startup", "shutdown"]


def test_shutdown_runs_when_the_body_raises() -> None:
    events: list[str] = []
    with pytest.raises(KeyError), TestClient(_lifespan_app(events)):
        raise KeyError("in the test")
    assert events == ["startup", "shutdown"]


def test_a_failed_answer_without_exception_is_a_lifespan_error() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no config"})

    with pytest.raises(LifespanError, match="startup failed: no config"):
        TestClient(app).__enter__()


def test_an_app_without_lifespan_support_is_served_without_one() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with TestClient(app) as client:
        assert client.get("/").status_code == 204


def test_app_exceptions_are_raised_in_the_test_by_default() -> None:
    with TestClient(_lifespan_app([], crash=True)) as client, pytest.raises(ValueError, match="boom"):
        client.get("/state")


def test_app_exceptions_can_be_answered_as_500() -> None:
    with TestClient(_lifespan_app([], crash=True), raise_app_exceptions=False) as client:
        assert client.get("/state").status_code == 500


def test_the_client_is_a_real_httpx_client(demo: ServeyApp) -> None:
    with TestClient(demo, headers={"X-Test": "1"}) as client:
        assert isinstance(client, httpx.Client)
        response = client.get("/actions/say-hello", params={"name": "h"})
        assert response.request.headers["x-test"] == "1"
        assert response.headers["content-type"].startswith("application/json")


# -- the async client ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_client_runs_the_lifespan_and_calls_actions(demo: ServeyApp) -> None:
    events: list[str] = []
    async with AsyncTestClient(_lifespan_app(events)) as client:
        assert events == ["startup"]
        assert (await client.get("/state")).json()["greeting"] == "hi"
    assert events == ["startup", "request", "shutdown"]
    async with AsyncTestClient(demo) as client:
        response = await client.call("get_order_line", order_number=5)
        assert response.request.url.path == "/orders/5/lines/1"
        assert response.json() == "order 5, line 1"


@pytest.mark.anyio
async def test_async_client_startup_error_propagates() -> None:
    events: list[str] = []
    with pytest.raises(RuntimeError, match="database unreachable"):
        async with AsyncTestClient(_lifespan_app(events, fail_startup=True)):
            pass  # pragma: no cover - never entered
    assert events == ["startup"]


@pytest.mark.anyio
async def test_async_client_shutdown_error_propagates_unwrapped() -> None:
    events: list[str] = []
    with pytest.raises(RuntimeError, match="could not flush"):
        async with AsyncTestClient(_lifespan_app(events, fail_shutdown=True)):
            assert events == ["startup"]
    assert events == ["startup", "shutdown"]


def test_a_servey_app_is_served_without_its_schedules_unless_asked(tmp_path: Path) -> None:
    from servey_faas import FixedRateTrigger
    from servey_faas.testing import TestClient

    fired = threading.Event()

    @action(triggers=(FixedRateTrigger(0.01),))
    def tick() -> None:
        fired.set()

    app = ServeyApp.from_registry(ActionRegistry([get_action(tick)]), Settings(project_dir=tmp_path))  # type: ignore[list-item]
    with TestClient(app):
        assert not fired.wait(0.3)  # a hundred intervals: a user's test never sees a scheduled run
    with TestClient(app, schedules=True):
        assert fired.wait(10)
