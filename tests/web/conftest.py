"""Fixtures of the web tests: the demo app (``actions/``), its ASGI app and a real uvicorn server.

The server binds a kernel-chosen free port on 127.0.0.1 and runs in a thread; it is stopped when
the fixture's scope ends (a server that does not stop fails the test run).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette

from servey_faas.app import ServeyApp
from servey_faas.settings import Settings
from servey_faas.web import create_app

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Safety nets for a hung server, not performance thresholds (seconds).
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def load_demo_app() -> ServeyApp:
    """The repository's demo actions, loaded as ``python -m servey_faas`` does from the repo root."""
    entry = str(REPO_ROOT)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        return ServeyApp.load(Settings.load(environ={}, project_dir=REPO_ROOT))
    finally:
        if added:
            sys.path.remove(entry)


@pytest.fixture(scope="session")
def demo_app() -> ServeyApp:
    return load_demo_app()


@pytest.fixture(scope="session")
def demo_asgi(demo_app: ServeyApp) -> Starlette:
    return create_app(demo_app)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve the ASGI ``app`` with uvicorn on a free 127.0.0.1 port; yield ``http://127.0.0.1:<port>``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"web-test-server-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server on port {port} did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(STOP_TIMEOUT)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"the test server on port {port} did not stop")


@pytest.fixture(scope="session")
def demo_server(demo_asgi: Starlette) -> Iterator[str]:
    """Base URL of a real uvicorn server of the demo app, shared by the session."""
    with serve(demo_asgi) as base_url:
        yield base_url
