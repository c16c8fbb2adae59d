"""The dev server's uvicorn, which always stops: schedules first, then a bounded drain, then exit.

On SIGTERM or SIGINT uvicorn stops listening, waits for the requests in flight, and only then runs
the application's lifespan shutdown, so schedules would go on firing while it drains, a request
that never ends would keep it alive for ever, and a second SIGTERM would change nothing (uvicorn
forces its exit on a second SIGINT only). :class:`DevServer` changes that:

1. the first signal stops the app's schedules (``app.state.schedules``, see
   :func:`servey_faas.web.create_app`) before anything else;
2. requests in flight then have ``timeout_graceful_shutdown`` seconds (the grace) to finish, after
   which uvicorn cancels them (an async action is cancelled; a sync action's thread is left to
   finish, see :mod:`servey_faas.threads`, and does not hold the process: its threads are daemons);
3. the process exits. Should anything still hold it (an action that ignores cancellation, a
   non-daemon thread), it is ended :data:`HARD_STOP_MARGIN` seconds after the grace, with exit
   status 128 + the signal's number (as a shell reports a process the signal ended);
4. a second SIGTERM or SIGINT skips the rest of the drain (uvicorn's ``force_exit``) and ends the
   process within :data:`SECOND_SIGNAL_MARGIN` seconds at most.

With ``--reload`` uvicorn's supervisor forwards the first signal to the worker process, which
stops as above; :class:`_Reloader` forwards a second one too.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.supervisors import ChangeReload

from servey_faas.heap import freeze_start_up_heap

logger = logging.getLogger("uvicorn.error")  # where uvicorn.Server logs its own start and stop

#: Seconds past the grace after which a process that has not exited is ended by its signal.
HARD_STOP_MARGIN = 2.0
#: Seconds a process may take to exit after a second signal before it is ended so.
SECOND_SIGNAL_MARGIN = 1.0


class DevServer(uvicorn.Server):
    """``uvicorn.Server`` stopping as the module docstring says; ``config.timeout_graceful_shutdown``
    is the grace in seconds (None: no bound, and no hard stop either)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        # Made on the first signal: a server is pickled whole into a --reload worker process.
        self._hard_stop: _HardStop | None = None

    async def startup(self, sockets: list[Any] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:  # started: the app and its lifespan are built
            freeze_start_up_heap()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        grace = self.config.timeout_graceful_shutdown
        if self.should_exit:  # a second signal
            self.force_exit = True
            self._arm_hard_stop(sig, SECOND_SIGNAL_MARGIN)
        elif grace is not None:
            self._arm_hard_stop(sig, grace + HARD_STOP_MARGIN)
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[Any] | None = None) -> None:
        schedules = _schedules_of(self.config.loaded_app)
        if schedules is not None:
            try:
                await schedules.stop()
            except Exception:  # stopping must go on
                logger.exception("The schedules did not stop cleanly")
        grace = self.config.timeout_graceful_shutdown
        if grace is not None and self.server_state.tasks:
            logger.info("Letting %d request(s) finish for up to %g s", len(self.server_state.tasks), grace)
        await super().shutdown(sockets)

    def _arm_hard_stop(self, sig: int, seconds: float) -> None:
        if self._hard_stop is None:
            self._hard_stop = _HardStop()
        self._hard_stop.arm(sig, seconds)


def _schedules_of(app: Any) -> Any:
    """``state.schedules`` of the Starlette app inside uvicorn's middleware (each holds the next as
    ``.app``, as ASGI middleware does), or None."""
    for _ in range(8):
        if app is None:
            return None
        schedules = getattr(getattr(app, "state", None), "schedules", None)
        if schedules is not None:
            return schedules
        app = getattr(app, "app", None)
    return None


class _HardStop:
    """A daemon thread ending the process (``os._exit``) once its deadline passes."""

    def __init__(self) -> None:
        self._deadline = float("inf")
        self._sig = signal.SIGTERM
        self._changed = threading.Event()
        self._thread: threading.Thread | None = None

    def arm(self, sig: int, seconds: float) -> None:
        """End the process ``seconds`` from now unless it exits first (an earlier deadline stays)."""
        deadline = time.monotonic() + seconds
        if deadline < self._deadline:
            self._deadline, self._sig = deadline, signal.Signals(sig)
            self._changed.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._wait, name="servey-hard-stop", daemon=True)
            self._thread.start()

    def _wait(self) -> None:
        while (remaining := self._deadline - time.monotonic()) > 0:
            self._changed.wait(remaining)
            self._changed.clear()
        logger.error("Still running after %s: ending the process now", self._sig.name)
        # Not by the signal itself: only the main thread may reset its handler, and it is stuck.
        os._exit(128 + self._sig)  # the status a shell gives a process ended by that signal


class _Reloader(ChangeReload):  # type: ignore[misc,valid-type]
    """uvicorn's reload supervisor, forwarding a second SIGTERM/SIGINT to its worker as well."""

    def signal_handler(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit.is_set() and self.process.pid is not None:
            os.kill(self.process.pid, sig)
        super().signal_handler(sig, frame)


def run(
    app: Any,
    *,
    host: str,
    port: int,
    log_level: str,
    timeout_graceful_shutdown: float | None,
    log_config: dict[str, Any],
    factory: bool = False,
    reload: bool = False,
    reload_dirs: list[str] | None = None,
) -> None:
    """Serve ``app`` (an ASGI app, or with ``factory`` the import string of a function making one)
    with :class:`DevServer`, as ``uvicorn.run`` would (``log_config`` is its logging dictConfig);
    with ``reload`` (``app`` must then be an import string) in a worker process
    restarted when a file in ``reload_dirs`` changes.

    :raises SystemExit: 3 when the server did not start (e.g. the app's startup failed), as uvicorn.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=log_config,
        factory=factory,
        reload=reload,
        reload_dirs=reload_dirs,
        timeout_graceful_shutdown=timeout_graceful_shutdown,  # type: ignore[arg-type]  # asyncio.timeout: float
    )
    server = DevServer(config)
    try:
        if reload:
            _Reloader(config, target=server.run, sockets=[config.bind_socket()]).run()
            return
        server.run()
    except KeyboardInterrupt:  # SIGINT, raised again once the server has stopped (as uvicorn.run)
        return
    if not server.started:
        raise SystemExit(3)  # uvicorn's STARTUP_FAILURE
