"""Fixtures serving apps over a real uvicorn server on a free 127.0.0.1 port.

- ``live_server``: a factory, ``live_server(app, **uvicorn_options) -> base_url``; ``app`` is a
  ``ServeyApp`` (served through ``servey_faas.web.create_app``) or any ASGI app. Every server it
  started is stopped when the test ends.
- ``demo_app`` / ``demo_server`` / ``demo_client``: the repository's demo actions (``actions/``),
  served once per session, and an ``httpx.Client`` on that server.

For a server shared by a module or session, use :func:`tests.integration.live_server.serve`
(a context manager) from a fixture of that scope, as ``demo_server`` does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from servey_faas.app import ServeyApp
from tests.demo import load_demo_app

from .live_server import CLIENT_TIMEOUT, LiveServer, serve


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    """Start servers for this test: ``base_url = live_server(app, **uvicorn_options)``."""
    with contextlib.ExitStack() as stack:

        def start(app: Any, **options: Any) -> str:
            return stack.enter_context(serve(app, **options))

        yield start


@pytest.fixture(scope="session")
def demo_app() -> ServeyApp:
    """The app of the repository's demo actions."""
    return load_demo_app()


@pytest.fixture(scope="session")
def demo_server(demo_app: ServeyApp) -> Iterator[str]:
    """Base URL of a real server of the demo actions (one for the whole session)."""
    with serve(demo_app) as base_url:
        yield base_url


@pytest.fixture
def demo_client(demo_server: str) -> Iterator[httpx.Client]:
    """An HTTP client on :func:`demo_server`."""
    with httpx.Client(base_url=demo_server, timeout=CLIENT_TIMEOUT) as client:
        yield client
