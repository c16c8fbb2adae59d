"""servey_faas.threads: the worker threads sync actions run on."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable

import pytest

from servey_faas.threads import WorkerThreads

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


async def _until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` (a safety net of 30 s, never reached when the test passes)."""
    for _ in range(3000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the condition never held")


async def test_a_cancelled_call_that_has_not_started_never_runs() -> None:
    threads = WorkerThreads(max_workers=1)
    gate = threading.Event()
    ran: list[str] = []
    blocker = asyncio.ensure_future(threads.run(lambda: gate.wait(30)))
    queued = asyncio.ensure_future(threads.run(lambda: ran.append("queued")))
    await asyncio.sleep(0.05)

    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    gate.set()
    await blocker
    await threads.run(lambda: ran.append("later"))  # after the dropped call: the same thread
    threads.shutdown()

    assert ran == ["later"]
    assert threads.abandoned == 0


async def test_a_cancelled_running_call_is_abandoned_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    threads = WorkerThreads(max_workers=1)
    started, gate = threading.Event(), threading.Event()
    finished: list[str] = []

    def stuck() -> str:
        started.set()
        gate.wait(30)
        finished.append("stuck")
        return "never seen"

    call = asyncio.ensure_future(threads.run(stuck, "action 'stuck'"))
    await asyncio.to_thread(started.wait, 30)
    with caplog.at_level(logging.INFO, logger="servey_faas.threads"):
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert threads.abandoned == 1
        gate.set()
        await _until(lambda: threads.abandoned == 0)
    threads.shutdown()

    assert finished == ["stuck"]
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == (
        "action 'stuck': left running on its worker thread after its caller stopped waiting (1 such calls running)"
    )
    assert messages[1].startswith("action 'stuck': the abandoned call ended after ")
    assert messages[1].endswith(" s (0 still running)")


async def test_abandoned_calls_get_threads_of_their_own_up_to_max_abandoned(caplog: pytest.LogCaptureFixture) -> None:
    threads = WorkerThreads(max_workers=1, max_abandoned=1)
    gate = threading.Event()
    started: list[threading.Event] = [threading.Event(), threading.Event()]

    def stuck(i: int) -> None:
        started[i].set()
        gate.wait(30)

    first = asyncio.ensure_future(threads.run(lambda: stuck(0)))
    await asyncio.to_thread(started[0].wait, 30)
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    # one abandoned call: a thread is started for the next call, which runs at once
    assert await threads.run(threading.get_ident) != 0
    second = asyncio.ensure_future(threads.run(lambda: stuck(1)))
    await asyncio.to_thread(started[1].wait, 30)
    with caplog.at_level(logging.ERROR, logger="servey_faas.threads"):
        second.cancel()
        await asyncio.gather(second, return_exceptions=True)
    # two abandoned calls, one more than max_abandoned: both threads are stuck, a new call waits
    assert threads.threads == 2
    waiting = asyncio.ensure_future(threads.run(lambda: "ran"))
    await asyncio.sleep(0.1)
    assert not waiting.done()
    assert threads.threads == 2  # no thread was started for it
    gate.set()  # the stuck calls end: their threads take the queue again
    assert await waiting == "ran"
    threads.shutdown()

    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "a call: left running on its worker thread after its caller stopped waiting; 2 calls are stuck so, "
        "more than the 1 that get a thread of their own: sync actions now share 0 threads"
    ]


async def test_threads_are_daemons_so_a_stuck_call_never_holds_the_process() -> None:
    threads = WorkerThreads()
    assert await threads.run(lambda: threading.current_thread().daemon) is True
    threads.shutdown()


async def test_no_calls_after_shutdown() -> None:
    threads = WorkerThreads()
    await threads.run(lambda: None)
    threads.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        await threads.run(lambda: None)
