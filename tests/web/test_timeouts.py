"""Action timeouts, disconnects and server cancellation over REST and GraphQL, in process over ASGI
(servey_faas/web/rest.py, handling.py, graphql/resolvers.py). The real server: tests/integration/
test_hostile_shutdown.py."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from servey_faas import WEB_GET, WEB_POST, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.web import create_app
from servey_faas.web.rest import DISCONNECT_WATCH_AFTER

pytestmark = pytest.mark.anyio


class Probe:
    """What the test actions saw, and the gate that keeps the sync one stuck."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.started = asyncio.Event()
        self.release = threading.Event()


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def web(probe: Probe) -> Starlette:
    @action(triggers=(WEB_GET,), timeout=0.05)
    def stuck() -> str:
        probe.release.wait(30)
        probe.events.append("stuck ended")
        return "late"

    @action(triggers=(WEB_GET, WEB_POST), timeout=0.05)
    async def stuck_async() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            probe.events.append("stuck_async cancelled")
            raise
        return "never"

    @action(triggers=(WEB_GET, WEB_POST))
    async def waits(label: str) -> str:
        probe.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            probe.events.append(f"{label} cancelled")
            raise
        return "never"

    found = [get_action(f) for f in (stuck, stuck_async, waits)]
    app = ServeyApp.from_registry(ActionRegistry([a for a in found if a is not None]))
    return create_app(app, schedules=False)


@pytest.fixture
async def client(web: Starlette, probe: Probe) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://testserver") as c:
        yield c
    probe.release.set()


@pytest.mark.parametrize(("path", "name"), [("/actions/stuck", "stuck"), ("/actions/stuck-async", "stuck_async")])
async def test_past_its_timeout_an_action_answers_504(client: httpx.AsyncClient, path: str, name: str) -> None:
    response = await client.get(path)

    assert response.status_code == 504
    assert response.headers["content-type"] == "application/json"
    assert response.content == (
        b'{"error":"gateway_timeout","message":"action '
        + f"'{name}'".encode()
        + b' did not finish within its timeout of 0.05 s"}'
    )


async def test_the_async_action_is_cancelled_and_the_sync_one_left_to_finish(
    client: httpx.AsyncClient, probe: Probe
) -> None:
    await client.get("/actions/stuck-async")
    await client.get("/actions/stuck")
    assert probe.events == ["stuck_async cancelled"]

    probe.release.set()
    for _ in range(3000):
        if "stuck ended" in probe.events:
            break
        await asyncio.sleep(0.01)
    assert probe.events == ["stuck_async cancelled", "stuck ended"]


async def test_a_graphql_field_past_its_timeout(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ stuck }"})

    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "action 'stuck' did not finish within its timeout of 0.05 s",
                "locations": [{"line": 1, "column": 3}],
                "path": ["stuck"],
                "extensions": {"code": "GATEWAY_TIMEOUT"},
            }
        ],
    }


# --- driven by hand over ASGI: disconnects and the server's own cancellation ---------------------


class Exchange:
    """One request over ASGI: the client's messages, what the app sent back, a disconnect to trigger."""

    def __init__(self, method: str, path: str, body: bytes = b"", query: bytes = b"") -> None:
        headers = [(b"host", b"testserver")]
        if body:
            headers.append((b"content-type", b"application/json"))
        self.scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("testserver", 80),
        }
        self._body: bytes | None = body
        self.gone = asyncio.Event()
        self.sent: list[dict[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    def answer(self) -> tuple[int, Any]:
        start, body = self.sent[0], b"".join(m.get("body", b"") for m in self.sent[1:])
        return start["status"], json.loads(body)


@pytest.mark.parametrize(
    ("method", "body", "query"), [("GET", b"", b"label=get"), ("POST", b'{"label": "post"}', b"")], ids=["GET", "POST"]
)
async def test_a_client_that_disconnects_cancels_its_async_action(
    web: Starlette, probe: Probe, method: str, body: bytes, query: bytes
) -> None:
    exchange = Exchange(method, "/actions/waits", body, query)
    served = asyncio.ensure_future(web(exchange.scope, exchange.receive, exchange.send))
    await probe.started.wait()
    await asyncio.sleep(DISCONNECT_WATCH_AFTER + 0.05)  # the watch has started: the disconnect ends it at once
    exchange.gone.set()

    await asyncio.wait_for(served, 30)  # the request ends without an error

    assert probe.events == [f"{method.lower()} cancelled"]


async def test_a_client_that_disconnects_early_is_noticed_once_the_watch_starts(web: Starlette, probe: Probe) -> None:
    exchange = Exchange("GET", "/actions/waits", query=b"label=early")
    served = asyncio.ensure_future(web(exchange.scope, exchange.receive, exchange.send))
    await probe.started.wait()
    exchange.gone.set()

    await asyncio.wait_for(served, 30)

    assert probe.events == ["early cancelled"]


async def test_a_request_the_server_cancels_is_answered_503(web: Starlette, probe: Probe) -> None:
    exchange = Exchange("GET", "/actions/waits", query=b"label=cut")
    served = asyncio.ensure_future(web(exchange.scope, exchange.receive, exchange.send))
    await probe.started.wait()

    served.cancel()  # as uvicorn does past its shutdown grace
    await asyncio.wait_for(served, 30)

    assert probe.events == ["cut cancelled"]
    assert exchange.answer() == (503, {"error": "unavailable", "message": "the server is stopping"})
