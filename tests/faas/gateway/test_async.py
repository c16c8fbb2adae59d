"""Async invocation through the local gateway (``docs/openfaas.md#asynchronous-invocation-and-callbacks``): 202 and a
call id, a durable SQLite queue run one job at a time, callbacks with the CE headers, work kept across a restart."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

from .conftest import CallbackReceiver, RunningGateway, serve_gateway, wait_until

MakeContext = Callable[[str], Path]


def test_accepted_then_called_back_with_the_ce_headers(
    running: RunningGateway, function_context: MakeContext, callbacks: CallbackReceiver
) -> None:
    running.deploy("echo", function_context("echo"))
    accepted = httpx.post(f"{running.url}/async-function/echo.openfaas-fn/a/b?x=1", content=b"job-body",
                          headers={"X-Callback-Url": callbacks.url, "Content-Type": "text/plain"})  # fmt: skip
    assert (accepted.status_code, accepted.content) == (202, b"")
    call_id = accepted.headers["x-call-id"]
    assert uuid.UUID(call_id).version == 4 and int(accepted.headers["x-start-time"]) > 0
    [callback] = callbacks.wait(1)
    assert callback.headers["x-call-id"] == call_id
    assert callback.headers["x-function-status"] == "200"
    assert callback.headers["x-function-name"] == "echo.openfaas-fn"
    assert float(callback.headers["x-duration-seconds"]) >= 0
    assert callback.headers["x-function"] == "echo"  # the function's own headers are copied
    assert callback.headers["user-agent"] == "Go-http-client/1.1"
    seen = httpx.Response(200, content=callback.body).json()
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == ("POST", "/a/b", "x=1", "job-body")
    assert seen["headers"]["x-call-id"] == call_id
    assert seen["headers"]["user-agent"] == "openfaas-ce/nats-queue-worker"
    assert seen["headers"]["x-callback-url"] == callbacks.url


def test_enqueue_rules(running: RunningGateway, callbacks: CallbackReceiver) -> None:
    url = f"{running.url}/async-function/ghost"
    assert httpx.get(url).status_code == 405
    bad = httpx.post(url, headers={"X-Callback-Url": "http://[::1"})
    assert bad.status_code == 400
    too_big = httpx.post(url, content=b"x" * 256_001)
    assert too_big.status_code == 500
    assert too_big.text == (
        "Error queuing request: request body too large for OpenFaaS CE (256001 bytes), maximum: 256000 bytes"
    )
    # sent chunked, without a Content-Length: counted as it streams, and only the limit is kept
    chunked = httpx.post(url, content=iter([b"x" * 100_000] * 3))
    assert (chunked.status_code, chunked.text) == (
        500,
        "Error queuing request: request body too large for OpenFaaS CE (300000 bytes), maximum: 256000 bytes",
    )
    mine = httpx.post(url, content=b"x" * 256_000, headers={"X-Call-Id": "mine", "X-Callback-Url": callbacks.url})
    # a caller's id is not echoed (``docs/openfaas.md#call-ids``)
    assert mine.status_code == 202 and "x-call-id" not in mine.headers
    # an unknown function is accepted, and fails in the callback
    # (``docs/openfaas.md#q7-async-does-not-check-the-function-exists``)
    [callback] = callbacks.wait(1)
    assert callback.headers["x-call-id"] == "mine"
    assert callback.headers["x-function-status"] == "404"
    assert callback.body == b"No endpoints available for: ghost.\n"


def test_one_job_at_a_time_in_order(
    running: RunningGateway, function_context: MakeContext, callbacks: CallbackReceiver
) -> None:
    running.deploy("echo", function_context("echo"))
    ids = []
    for i in range(4):
        response = httpx.post(f"{running.url}/async-function/echo/sleep?s=0.{i}",
                              headers={"X-Callback-Url": callbacks.url})  # fmt: skip
        ids.append(response.headers["x-call-id"])
    received = callbacks.wait(4)
    # FIFO, max_inflight 1 (``docs/openfaas.md#the-ce-queue-worker``)
    assert [c.headers["x-call-id"] for c in received] == ids


def test_accepted_work_survives_a_restart(
    state_dir: Path, function_context: MakeContext, callbacks: CallbackReceiver
) -> None:
    first = serve_gateway(state_dir)
    running = next(first)
    running.deploy("echo", function_context("echo"))
    ids = []
    restarted = state_dir.parent / "restarted"
    for seconds in ("60", "0", "0"):  # the first job is still running when the gateway stops
        response = httpx.post(f"{running.url}/async-function/echo/sleep", params={"s": seconds, "unless": restarted},
                              headers={"X-Callback-Url": callbacks.url})  # fmt: skip
        assert response.status_code == 202
        ids.append(response.headers["x-call-id"])
    wait_until(lambda: "sleeping 60" in running.http.get("/system/logs", params={"name": "echo"}).text,
               "the first job runs")  # fmt: skip
    next(first, None)
    assert callbacks.received == []
    restarted.touch()  # the first job runs again, and is quick this time
    second = serve_gateway(state_dir)
    next(second)
    try:
        assert sorted(c.headers["x-call-id"] for c in callbacks.wait(3)) == sorted(ids)
    finally:
        next(second, None)


def test_the_queue_is_fifo_durable_and_requeues_running_jobs(tmp_path: Path) -> None:
    from servey_faas.faas.gateway.queue import AsyncQueue, QueuedRequest

    path = tmp_path / "queue.sqlite3"
    queue = AsyncQueue(path)
    for n in range(3):
        queue.put(QueuedRequest(f"id-{n}", "echo", "/p" if n else "", "q=1", (("X-A", "1"),), bytes([n]), ""))
    first = queue.claim()
    assert first is not None and (first.call_id, first.path, first.body) == ("id-0", "", b"\x00")
    assert first.headers == (("X-A", "1"),) and first.enqueued_ns > 0
    queue.close()
    reopened = AsyncQueue(path)  # "running" when the gateway stopped: queued again, first in line
    assert reopened.pending() == 3 and reopened.recover() == 1
    claimed = [reopened.claim() for _ in range(4)]
    assert [c.call_id if c else None for c in claimed] == ["id-0", "id-1", "id-2", None]
    for job in claimed:
        if job is not None:
            reopened.done(job.id)
    assert reopened.pending() == 0
    reopened.close()
