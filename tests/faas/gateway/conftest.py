"""Fixtures of the local gateway tests: a real gateway (uvicorn on a free loopback port, in a
thread) with a state folder under ``tmp_path``, and build contexts of a small echo function
(``echo_function.py`` as ``index.py``)."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from servey_faas.faas.gateway import BasicCredentials, Gateway, GatewayConfig
from servey_faas.testing import serve_app

USER, PASSWORD = "admin", "gw-s3cr3t"
#: A bound on waits for processes (a safety net for a hung test, not a performance threshold).
WAIT = 60.0


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``condition`` until it returns something truthy (returned); fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.05)


@dataclass
class RunningGateway:
    gateway: Gateway
    url: str
    http: httpx.Client

    def deployment(self, name: str, context: Path, **fields: Any) -> dict[str, Any]:
        return {"service": name, "image": context.resolve().as_uri(), "envProcess": "python index.py", **fields}

    def deploy(self, name: str, context: Path, **fields: Any) -> None:
        response = self.http.post("/system/functions", json=self.deployment(name, context, **fields))
        assert response.status_code == 202, response.text
        self.wait_available(name)

    def status(self, name: str) -> dict[str, Any]:
        response = self.http.get(f"/system/function/{name}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_available(self, name: str, replicas: int = 1) -> None:
        wait_until(lambda: self.status(name).get("availableReplicas", 0) == replicas, f"{name} has {replicas} ready")

    def logs(self, name: str) -> list[dict[str, Any]]:
        """The function's log entries (``/system/logs``), each ``{"instance", "text", ...}``."""
        response = self.http.get("/system/logs", params={"name": name})
        assert response.status_code == 200, response.text
        return [json.loads(line) for line in response.text.splitlines() if line]

    def echo(self, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(kwargs.pop("method", "POST"), path, **kwargs)
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
def function_context(tmp_path: Path) -> Callable[[str], Path]:
    """``function_context("name")``: a build context folder holding the echo function as ``index.py``."""

    def make(name: str) -> Path:
        context = tmp_path / "build" / name
        context.mkdir(parents=True, exist_ok=True)
        shutil.copy(Path(__file__).with_name("echo_function.py"), context / "index.py")
        return context

    return make


@dataclass(frozen=True)
class Callback:
    headers: httpx.Headers
    body: bytes


@dataclass
class CallbackReceiver:
    """A callback endpoint on real loopback HTTP, recording every POST it gets."""

    url: str
    received: list[Callback]

    def wait(self, count: int) -> list[Callback]:
        wait_until(lambda: len(self.received) >= count, f"{count} callbacks arrived")
        return list(self.received)


@pytest.fixture
def callbacks() -> Iterator[CallbackReceiver]:
    from starlette.requests import Request
    from starlette.responses import Response

    received: list[Callback] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        received.append(Callback(httpx.Headers(list(request.headers.items())), await request.body()))
        await Response(b"", 204)(scope, receive, send)

    with serve_app(app, lifespan="off") as url:
        yield CallbackReceiver(f"{url}/hook", received)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def running(state_dir: Path) -> Iterator[RunningGateway]:
    """A local gateway with basic auth on a free loopback port; after it stops, no function
    process it started is left."""
    yield from serve_gateway(state_dir)


def serve_gateway(
    state_dir: Path, credentials: BasicCredentials | None = None, ready_timeout: float = WAIT
) -> Iterator[RunningGateway]:
    credentials = credentials or BasicCredentials(USER, PASSWORD)
    gateway = Gateway(GatewayConfig(state_dir, credentials, ready_timeout=ready_timeout, stop_timeout=2.0))
    seen: set[int] = set()
    try:
        with serve_app(gateway.app) as url, httpx.Client(base_url=url, auth=(USER, PASSWORD), timeout=WAIT) as http:
            running = RunningGateway(gateway, url, http)
            try:
                yield running
            finally:
                seen.update(gateway.supervisor.pids())
    finally:
        gateway.kill_all()
    left = [pid for pid in seen if pid_alive(pid)]
    assert left == [], f"function processes left after the gateway stopped: {left}"
    assert os.path.isdir(state_dir)
