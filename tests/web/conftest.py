"""Fixtures of the web tests: the demo app (``actions/``), its ASGI app and a real uvicorn server.

The server binds a kernel-chosen free port on 127.0.0.1 and runs in a thread; it is stopped when
the fixture's scope ends (a server that does not stop fails the test run).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from servey_faas.app import ServeyApp
from servey_faas.testing import serve_app
from servey_faas.web import create_app
from tests.demo import load_demo_app


@pytest.fixture(scope="session")
def demo_app() -> ServeyApp:
    return load_demo_app()


@pytest.fixture(scope="session")
def demo_asgi(demo_app: ServeyApp) -> Starlette:
    return create_app(demo_app)


#: Serve an ASGI app with uvicorn on a free 127.0.0.1 port (what servey_faas.testing ships).
serve = serve_app


@pytest.fixture(scope="session")
def demo_server(demo_asgi: Starlette) -> Iterator[str]:
    """Base URL of a real uvicorn server of the demo app, shared by the session."""
    with serve(demo_asgi) as base_url:
        yield base_url
