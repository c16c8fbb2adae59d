"""The worker threads sync actions run on, so the event loop never waits on them.

A thread cannot be interrupted. When the caller stops waiting (its task is cancelled: the action's
timeout, a client that went away, the server stopping), a call still queued is dropped and never
runs, and a call already running is *abandoned*: it runs to its end on its thread, its result is
thrown away, and it is counted (:attr:`WorkerThreads.abandoned`, and logged). So that abandoned
calls do not starve the others, each one makes room for one more thread, up to ``max_abandoned``
of them; past that, sync actions share whatever threads are not stuck, and calls wait in the queue
until a thread is free or their own timeout drops them (an error is logged once). Threads are
daemons: a call that never ends does not keep the process from exiting.

asyncio is imported on first use: an action's function server (WSGI, no event loop) imports this
module through the invocation path and never needs it.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    import asyncio

R = TypeVar("R")

logger = logging.getLogger("servey_faas.threads")

#: As many as anyio's default thread limiter (which Starlette uses for sync endpoints).
DEFAULT_MAX_WORKERS = 40
#: Abandoned calls that get a thread of their own before they eat into ``max_workers``.
DEFAULT_MAX_ABANDONED = 40

_QUEUED, _RUNNING, _DONE, _DROPPED, _ABANDONED = range(5)


class _Call(Generic[R]):
    """One call of ``fn`` in ``context``, answered on ``future`` (of ``loop``)."""

    __slots__ = ("context", "fn", "future", "label", "loop", "started", "state", "thread")

    def __init__(
        self, fn: Callable[[], R], label: str, loop: asyncio.AbstractEventLoop, future: asyncio.Future[R]
    ) -> None:
        self.fn = fn
        self.label = label
        self.context = contextvars.copy_context()
        self.loop = loop
        self.future = future
        self.state = _QUEUED
        self.started = 0.0
        self.thread: threading.Thread | None = None


class WorkerThreads:
    """A pool of ``max_workers`` daemon threads named ``name``, started as calls need them.

    A round trip to a thread and back (one future on the loop, one queue, one ``call_soon_threadsafe``)
    takes about half as long as through ``loop.run_in_executor`` and 40% of
    ``anyio.to_thread.run_sync`` (20 µs, 37 µs and 49 µs on uvloop on the development machine),
    which matters on small actions. Context variables are copied into the call, as anyio does. See
    the module docstring for cancelled calls and ``max_abandoned``.
    """

    def __init__(
        self,
        max_workers: int = DEFAULT_MAX_WORKERS,
        name: str = "servey-action",
        *,
        max_abandoned: int = DEFAULT_MAX_ABANDONED,
    ) -> None:
        if max_workers < 1 or max_abandoned < 0:
            raise ValueError(f"max_workers must be >= 1 and max_abandoned >= 0, not {max_workers}, {max_abandoned}")
        self.max_workers = max_workers
        self.name = name
        self.max_abandoned = max_abandoned
        self._queue: queue.SimpleQueue[_Call[Any] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._live = 0  # threads started and not ended
        self._waiting = 0  # threads waiting for a call
        self._pending = 0  # calls in the queue, not yet taken by a thread
        self._abandoned = 0
        self._closed = False
        self._threads: set[threading.Thread] = set()
        self._stuck: set[threading.Thread] = set()  # running an abandoned call

    @property
    def abandoned(self) -> int:
        """Calls still running whose callers stopped waiting (a gauge: it drops as they end)."""
        return self._abandoned

    @property
    def threads(self) -> int:
        """Threads alive now."""
        return self._live

    async def run(self, fn: Callable[[], R], label: str = "") -> R:
        """Run ``fn()`` on a worker thread and return (or raise) what it did.

        ``label`` names the call in log lines (e.g. ``action 'say_hello'``). When the awaiting
        task is cancelled, the call is dropped if it has not started and abandoned if it has (see
        the module docstring); the CancelledError propagates.

        :raises RuntimeError: after :meth:`shutdown`.
        """
        import asyncio  # already imported by the running loop: a dict lookup

        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        call = _Call(fn, label, loop, future)
        self._submit(call)
        try:
            return await future
        except asyncio.CancelledError:
            self._give_up(call)
            raise

    def shutdown(self, wait: bool = True) -> None:
        """Stop the threads once the calls already queued are done (``wait``: wait for that;
        abandoned calls are never waited for). The pool takes no calls afterwards."""
        with self._lock:
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        if wait:
            for thread in threads:
                with self._lock:
                    stuck = thread in self._stuck
                if not stuck and thread is not threading.current_thread():
                    thread.join()

    def _capacity(self) -> int:
        return self.max_workers + min(self._abandoned, self.max_abandoned)

    def _submit(self, call: _Call[Any]) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("these worker threads are shut down")
            self._pending += 1
            self._start_if_needed()
        self._queue.put(call)

    def _start_if_needed(self) -> None:
        """Start a thread when a queued call has none to take it and there is room (lock held)."""
        if self._pending > self._waiting and self._live < self._capacity():
            self._live += 1
            self._waiting += 1  # until it takes a call
            thread = threading.Thread(target=self._work, name=self.name, daemon=True)
            self._threads.add(thread)
            thread.start()

    def _give_up(self, call: _Call[Any]) -> None:
        """The caller stopped waiting: drop the call if it is queued, abandon it if it runs."""
        with self._lock:
            if call.state == _QUEUED:
                call.state = _DROPPED
                return
            if call.state != _RUNNING:
                return
            call.state = _ABANDONED
            self._abandoned += 1
            if call.thread is not None:
                self._stuck.add(call.thread)
            abandoned, capacity = self._abandoned, self._capacity()
            self._start_if_needed()
        if abandoned > self.max_abandoned:
            logger.error(
                "%s: left running on its worker thread after its caller stopped waiting; %d calls are stuck so, "
                "more than the %d that get a thread of their own: sync actions now share %d threads",
                call.label or "a call",
                abandoned,
                self.max_abandoned,
                max(capacity - abandoned, 0),
            )
        else:
            logger.warning(
                "%s: left running on its worker thread after its caller stopped waiting (%d such calls running)",
                call.label or "a call",
                abandoned,
            )

    def _work(self) -> None:
        lock, calls, me = self._lock, self._queue, threading.current_thread()
        while True:
            call = calls.get()
            with lock:
                self._waiting -= 1
                if call is None:  # shutdown
                    self._live -= 1
                    self._threads.discard(me)
                    return
                self._pending -= 1
                if call.state == _DROPPED:
                    self._waiting += 1
                    continue
                call.state = _RUNNING
                call.thread = me
                call.started = time.monotonic()
            try:
                result, error = call.context.run(call.fn), None
            except BaseException as e:  # handed to the caller, as concurrent.futures does
                result, error = None, e
            with lock:
                abandoned = call.state == _ABANDONED
                call.state = _DONE
                self._abandoned -= abandoned
                self._stuck.discard(me)
                still = self._abandoned
                retire = self._live > self._capacity()  # made room for an abandoned call that has ended
                if retire:
                    self._live -= 1
                    self._threads.discard(me)
                else:
                    self._waiting += 1
            if abandoned:
                logger.info(
                    "%s: the abandoned call ended after %.1f s (%d still running)",
                    call.label or "a call",
                    time.monotonic() - call.started,
                    still,
                )
            else:
                try:
                    call.loop.call_soon_threadsafe(_answer, call.future, result, error)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    pass
            del call, result, error  # not kept alive while waiting for the next call
            if retire:
                return


def _answer(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
