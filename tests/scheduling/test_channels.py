"""Background action channels (local worker) and webhook channels against a real HTTP server."""

from __future__ import annotations

import datetime
import enum
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from servey_faas import action
from servey_faas.errors import ActionDefinitionError, ConfigurationError, ServeyFaasError, ValidationError
from servey_faas.scheduling import (
    CeleryBackgroundSender,
    CelerySettings,
    LocalBackgroundWorker,
    WebhookError,
    WebhookEventChannel,
    background_action_channel,
)
from servey_faas.scheduling.channels import default_backend

# --- background channels, local worker ---------------------------------------------------------


@dataclass(frozen=True)
class Parcel:
    recipient: str
    grams: int = 100


def test_each_publish_runs_the_action_once_in_the_background(tmp_path: Path) -> None:
    log = tmp_path / "runs.txt"
    caller = threading.get_ident()
    threads: set[int] = set()

    @action
    def ship(parcel: Parcel, express: bool = False) -> str:
        threads.add(threading.get_ident())
        with log.open("a") as f:
            f.write(f"{parcel.recipient}:{parcel.grams}:{express}\n")
        return parcel.recipient

    channel = background_action_channel(ship, celery=CelerySettings())
    ids = [
        channel.publish(Parcel("ada")),
        channel.publish(parcel=Parcel("bob", 250), express=True),
        channel.publish(Parcel("cy"), True),
    ]
    channel.close(wait=True)
    assert len(set(ids)) == 3
    assert sorted(log.read_text().splitlines()) == ["ada:100:False", "bob:250:True", "cy:100:True"]
    assert caller not in threads


def test_publish_validates_params_before_anything_runs(tmp_path: Path) -> None:
    runs: list[int] = []

    @action
    def count(n: int) -> int:
        runs.append(n)
        return n

    channel = background_action_channel(count, celery=CelerySettings())
    with pytest.raises(ValidationError) as caught:
        channel.publish("three")  # type: ignore[arg-type]
    assert caught.value.errors[0].location == ("n",)
    with pytest.raises(TypeError):
        channel.publish(n=1, m=2)  # type: ignore[call-arg]
    channel.close()
    assert runs == []


def test_a_failing_background_run_is_logged_with_the_action_name(caplog: pytest.LogCaptureFixture) -> None:
    @action
    def explode() -> None:
        raise RuntimeError("kaboom")

    channel = background_action_channel(explode, celery=CelerySettings())
    with caplog.at_level(logging.ERROR, logger="servey_faas.scheduling"):
        call_id = channel.publish()
        channel.close(wait=True)
    [record] = [r for r in caplog.records if "'explode' failed" in r.getMessage()]
    assert call_id in record.getMessage()
    assert record.exc_info is not None and "kaboom" in str(record.exc_info[1])


def test_creating_a_channel_starts_nothing() -> None:
    @action
    def idle() -> None:
        pass

    before = threading.active_count()
    channel = background_action_channel(idle)
    assert threading.active_count() == before
    channel.close()


def test_the_backend_follows_the_celery_settings() -> None:
    assert isinstance(default_backend(CelerySettings()), LocalBackgroundWorker)
    assert isinstance(default_backend(CelerySettings(broker_url="redis://127.0.0.1:6379/0")), CeleryBackgroundSender)


def test_a_plain_function_is_refused() -> None:
    def not_an_action() -> None:
        pass

    with pytest.raises(ActionDefinitionError, match="needs an @action function"):
        background_action_channel(not_an_action)


# --- webhooks -------------------------------------------------------------------------------------


@dataclass
class Received:
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    status: int = 204
    delay: float = 0.0


@pytest.fixture
def webhook_server() -> Iterator[tuple[str, Received]]:
    """A real HTTP server on 127.0.0.1 that records requests and answers ``received.status``."""
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.requests.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            time.sleep(received.delay)
            self.send_response(received.status)
            payload = b"" if received.status == 204 else b'{"error":"nope"}'
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_POST = do_PUT = do_PATCH = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class Status(enum.Enum):
    SHIPPED = "shipped"


@dataclass(frozen=True)
class Shipped:
    parcel: Parcel
    status: Status
    at: datetime.datetime


def test_webhook_posts_the_marshalled_event(webhook_server: tuple[str, Received]) -> None:
    url, received = webhook_server
    channel: WebhookEventChannel[Shipped] = WebhookEventChannel(
        "parcel_shipped", f"{url}/hooks/shipped", headers={"Authorization": "Bearer t0ken"}
    )
    channel.publish(Shipped(Parcel("ada", 250), Status.SHIPPED, datetime.datetime(2026, 1, 2, 3, 4, 5)))
    [(method, path, headers, body)] = received.requests
    assert (method, path) == ("POST", "/hooks/shipped")
    assert headers["content-type"] == "application/json"
    assert headers["authorization"] == "Bearer t0ken"
    assert headers["x-servey-event"] == "parcel_shipped"
    assert json.loads(body) == {
        "parcel": {"recipient": "ada", "grams": 250},
        "status": "SHIPPED",  # enums by name, as in action results
        "at": "2026-01-02T03:04:05",
    }


@pytest.mark.anyio
async def test_webhook_publish_async_with_put(webhook_server: tuple[str, Received]) -> None:
    url, received = webhook_server
    channel: WebhookEventChannel[dict[str, int]] = WebhookEventChannel("counts", url, method="put")
    await channel.publish_async({"a": 1})
    [(method, _, _, body)] = received.requests
    assert method == "PUT"
    assert json.loads(body) == {"a": 1}


def test_webhook_error_status_is_a_clear_error(webhook_server: tuple[str, Received]) -> None:
    url, received = webhook_server
    received.status = 500
    channel: WebhookEventChannel[str] = WebhookEventChannel("failing", url)
    with pytest.raises(WebhookError) as caught:
        channel.publish("hello")
    assert isinstance(caught.value, ServeyFaasError)
    assert caught.value.status_code == 500
    assert "webhook 'failing'" in str(caught.value) and "answered 500" in str(caught.value)


def test_webhook_timeout_is_a_clear_error(webhook_server: tuple[str, Received]) -> None:
    url, received = webhook_server
    received.delay = 1.0
    channel: WebhookEventChannel[str] = WebhookEventChannel("slow", url, timeout=0.1)
    with pytest.raises(WebhookError, match=r"no answer within 0.1s") as caught:
        channel.publish("hello")
    assert caught.value.status_code is None


def test_webhook_connection_refused_is_a_clear_error() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    channel: WebhookEventChannel[str] = WebhookEventChannel("nobody", f"http://127.0.0.1:{port}/")
    with pytest.raises(WebhookError, match="ConnectError"):
        channel.publish("hello")


def test_webhook_configuration_is_checked_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="method"):
        WebhookEventChannel("x", "http://127.0.0.1/", method="GET")
    with pytest.raises(ConfigurationError, match="url"):
        WebhookEventChannel("x", "ftp://127.0.0.1/")
