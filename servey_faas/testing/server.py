"""A real uvicorn server in a background thread, for tests that talk HTTP to an app.

The listening socket is bound here (port 0, so the kernel picks a free port) and handed to
``uvicorn.Server.run(sockets=[...])``: no port is guessed, so two servers never race for one.
Signals are left alone (uvicorn only installs handlers on the main thread), logging is left
alone (``log_config=None``: records go to the root logger, where pytest's ``caplog`` sees them).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

from servey_faas.errors import ServeyFaasError

#: Seconds to wait for the server to start or stop (a safety net for a hung server, not a
#: performance threshold).
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 30.0


class ServerError(ServeyFaasError):
    """The test server did not start or did not stop."""


def asgi_app_of(app: Any, *, schedules: bool = False) -> Any:
    """The ASGI application to serve: ``app`` itself, or ``create_app(app, schedules=schedules)``
    for a ``ServeyApp`` (by default without its schedules: they do not fire during tests)."""
    from servey_faas.app import ServeyApp

    if isinstance(app, ServeyApp):
        from servey_faas.web import create_app

        return create_app(app, schedules=schedules)
    return app


@contextlib.contextmanager
def serve_app(app: Any, host: str = "127.0.0.1", *, schedules: bool = False, **options: Any) -> Iterator[str]:
    """Serve ``app`` (an ASGI app or a ``ServeyApp``) with uvicorn in a thread on a free port of
    ``host`` (loopback by default); yield its base URL once it accepts connections.

    ``options`` are passed to :class:`uvicorn.Config` (e.g. ``loop="asyncio"``, ``http="h11"``);
    by default the access log is off and logging is not configured. The base URL has no trailing
    slash: ``http://<host>:<port>``. On exit the server is asked to stop (``should_exit``) and
    its thread joined; a server that does not stop is forced (``force_exit``) and reported.

    :raises ServerError: when the server does not start within :data:`STARTUP_TIMEOUT` seconds or
        does not stop within :data:`SHUTDOWN_TIMEOUT` seconds.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    options = {"log_config": None, "access_log": False, "lifespan": "auto", **options}
    config = uvicorn.Config(asgi_app_of(app, schedules=schedules), host=host, port=port, **options)
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as e:  # SystemExit on a startup failure, or any crash: report it
            failure.append(e)

    thread = threading.Thread(target=run, name=f"uvicorn-test-server-{port}", daemon=True)
    thread.start()
    try:
        _wait_started(server, thread, failure)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(SHUTDOWN_TIMEOUT)
        sock.close()
        if thread.is_alive():
            raise ServerError(f"the test server on port {port} did not stop within {2 * SHUTDOWN_TIMEOUT} s")


def _wait_started(server: uvicorn.Server, thread: threading.Thread, failure: list[BaseException]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            cause = failure[0] if failure else None
            raise ServerError(f"the test server stopped before it started: {cause!r}") from cause
        if time.monotonic() > deadline:
            raise ServerError(f"the test server did not start within {STARTUP_TIMEOUT} s")
        time.sleep(0.01)
