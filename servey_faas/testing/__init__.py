"""The tools servey_faas tests itself with, shipped for its users (as Click ships ``CliRunner``).

- :class:`TestClient` / :class:`AsyncTestClient`: httpx clients over the app's ASGI interface,
  running its lifespan; ``client.call("say_hello", name="World")`` calls an action over REST.
- The pytest plugin :mod:`servey_faas.testing.pytest_plugin` (registered as the ``pytest11``
  entry point ``servey_faas``): one test per ``Example(include_in_tests=True)``, enabled by the
  ini option ``servey_examples = true`` or ``--servey-examples``.
- :class:`FakeGateway`: an in-process OpenFaaS gateway, the local gateway's own routes over
  functions kept in memory (ASGI or WSGI apps you attach), that checks every request against the
  official gateway spec (for ``GatewayClient`` and ``remote()`` tests).
- :func:`serve_app`: a real uvicorn server of any ASGI app (or ``ServeyApp``) in a thread on a free
  loopback port, as a context manager yielding its base URL.

The clients are imported on first use: pytest imports this package (for its plugin) in every
project where servey_faas is installed, and must not pay for httpx, Starlette or the app there.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from servey_faas.testing._lifespan import LifespanError
    from servey_faas.testing.client import AsyncTestClient, TestClient
    from servey_faas.testing.fake_gateway import FakeGateway
    from servey_faas.testing.server import serve_app

__all__ = ["AsyncTestClient", "FakeGateway", "LifespanError", "TestClient", "serve_app"]

_HOMES = {
    "AsyncTestClient": "servey_faas.testing.client",
    "FakeGateway": "servey_faas.testing.fake_gateway",
    "serve_app": "servey_faas.testing.server",
    "LifespanError": "servey_faas.testing._lifespan",
    "TestClient": "servey_faas.testing.client",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
