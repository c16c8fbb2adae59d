"""One slow action never stalls the server: sync actions run in a threadpool, async ones on the loop.

Proved without timing: the slow action blocks until the test lets it go, so any other request that
completes meanwhile completed while it was in flight. If the server waited on the slow action,
the other request could never complete and the test would fail at the client's safety timeout.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator

import httpx
import pytest

from servey_faas.app import ServeyApp
from servey_faas.types import ActionFn

from .actions_for_tests import GATE_TIMEOUT, AsyncGate, SyncGate, app_with, async_gate, sync_gate
from .live_server import CLIENT_TIMEOUT, LiveServer


@pytest.fixture
def pool() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    """Threads sending the requests that stay in flight."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="test-client") as executor:
        yield executor


@pytest.fixture
def gate() -> Iterator[SyncGate]:
    made = sync_gate()
    try:
        yield made
    finally:
        made.gate.set()  # never leave a worker thread blocked, even when the test failed


def _get(base_url: str, path: str, **params: str) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=CLIENT_TIMEOUT) as client:
        return client.get(path, params=params)


@pytest.fixture
def say_hello(demo_app: ServeyApp) -> ActionFn:
    """The demo ``say_hello`` action: the request that must get through meanwhile."""
    return demo_app.actions["say_hello"].fn


@pytest.mark.parametrize("options", [{}, {"loop": "asyncio", "http": "h11"}], ids=["auto", "asyncio-h11"])
def test_a_blocked_sync_action_does_not_stall_other_requests(
    live_server: LiveServer,
    pool: concurrent.futures.ThreadPoolExecutor,
    gate: SyncGate,
    say_hello: ActionFn,
    options: dict[str, str],
) -> None:
    base_url = live_server(app_with(gate.fn, say_hello), **options)

    slow = pool.submit(_get, base_url, "/actions/wait-for-gate", label="slow")
    assert gate.arrivals.get(timeout=GATE_TIMEOUT) == "slow"  # the action is running, and blocked

    other = _get(base_url, "/actions/say-hello", name="meanwhile")
    assert other.status_code == 200
    assert other.json() == "Hello meanwhile!"
    assert not slow.done()  # it cannot finish before the gate opens

    gate.gate.set()
    response = slow.result(timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200
    assert response.json() == "slow passed"


def test_two_blocked_sync_actions_run_at_once(
    live_server: LiveServer, pool: concurrent.futures.ThreadPoolExecutor, gate: SyncGate
) -> None:
    base_url = live_server(app_with(gate.fn))

    first = pool.submit(_get, base_url, "/actions/wait-for-gate", label="first")
    second = pool.submit(_get, base_url, "/actions/wait-for-gate", label="second")
    # Both calls are blocked in the action at the same time: two worker threads.
    arrived = {gate.arrivals.get(timeout=GATE_TIMEOUT), gate.arrivals.get(timeout=GATE_TIMEOUT)}
    assert arrived == {"first", "second"}
    assert not first.done() and not second.done()

    gate.gate.set()
    assert first.result(timeout=CLIENT_TIMEOUT).json() == "first passed"
    assert second.result(timeout=CLIENT_TIMEOUT).json() == "second passed"


def test_an_awaiting_async_action_does_not_stall_other_requests(
    live_server: LiveServer, pool: concurrent.futures.ThreadPoolExecutor, say_hello: ActionFn
) -> None:
    made: AsyncGate = async_gate()
    base_url = live_server(app_with(made.await_release, made.release, say_hello))
    with httpx.Client(base_url=base_url, timeout=CLIENT_TIMEOUT) as client:
        waiting = pool.submit(_get, base_url, "/actions/await-release", label="waiting")
        try:
            assert made.arrivals.get(timeout=GATE_TIMEOUT) == "waiting"

            other = client.get("/actions/say-hello", params={"name": "meanwhile"})
            assert other.status_code == 200
            assert other.json() == "Hello meanwhile!"
            assert not waiting.done()
        finally:
            released = client.post("/actions/release")
        assert released.json() is True

        response = waiting.result(timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200
    assert response.json() == "waiting released"
