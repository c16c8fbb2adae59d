"""The worker threads sync actions run on, so the event loop never waits on them.

asyncio and the executor are imported on first use: an action's function server (WSGI, no event
loop) imports this module through the invocation path and never needs them.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

R = TypeVar("R")

#: As many as anyio's default thread limiter (which Starlette uses for sync endpoints).
DEFAULT_MAX_WORKERS = 40


class WorkerThreads:
    """A pool of at most ``max_workers`` threads for one app, started at its first use, named
    ``<name>_<n>``.

    Dispatching through ``loop.run_in_executor`` costs about a third of
    ``anyio.to_thread.run_sync`` per call (bench/graphql.py), which matters on small actions.
    Context variables are copied into the call, as anyio does. Threads end with the process
    (or :meth:`shutdown`).
    """

    def __init__(self, max_workers: int = DEFAULT_MAX_WORKERS, name: str = "servey-action") -> None:
        self.max_workers = max_workers
        self.name = name
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    async def run(self, fn: Callable[[], R]) -> R:
        """Run ``fn()`` on a worker thread and return (or raise) what it did."""
        import asyncio  # already imported by the running loop: a dict lookup

        executor = self._executor or self._start()
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(executor, context.run, fn)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the threads (``wait``: after the calls already started)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=wait)

    def _start(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                from concurrent.futures import ThreadPoolExecutor

                self._executor = ThreadPoolExecutor(self.max_workers, thread_name_prefix=self.name)
            return self._executor
