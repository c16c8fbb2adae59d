"""servey_faas._threads: the worker threads sync actions run on."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from servey_faas._threads import WorkerThreads

pytestmark = pytest.mark.anyio

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


async def test_runs_off_the_event_loop_thread_with_the_callers_context() -> None:
    threads = WorkerThreads()
    REQUEST_ID.set("r-1")
    try:
        ident, seen = await threads.run(lambda: (threading.get_ident(), REQUEST_ID.get()))
    finally:
        threads.shutdown()
    assert ident != threading.get_ident()
    assert seen == "r-1"


async def test_exceptions_reach_the_caller() -> None:
    threads = WorkerThreads()

    def fail() -> None:
        raise LookupError("no such row")

    try:
        with pytest.raises(LookupError, match="no such row"):
            await threads.run(fail)
    finally:
        threads.shutdown()


async def test_at_most_max_workers_calls_run_at_once() -> None:
    threads = WorkerThreads(max_workers=2)
    gate = threading.Event()
    running: list[int] = []
    lock = threading.Lock()
    peak = 0

    def blocked() -> None:
        nonlocal peak
        with lock:
            running.append(1)
            peak = max(peak, len(running))
        gate.wait(30)
        with lock:
            running.pop()

    tasks = [asyncio.ensure_future(threads.run(blocked)) for _ in range(4)]
    while True:  # until two calls are in, and give the others every chance to start
        with lock:
            if len(running) == 2:
                break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    with lock:
        assert len(running) == 2
    gate.set()
    await asyncio.gather(*tasks)
    threads.shutdown()
    assert peak == 2
