"""The tools servey_faas tests itself with, shipped for its users (as Click ships ``CliRunner``).

- :class:`TestClient` / :class:`AsyncTestClient`: httpx clients over the app's ASGI interface,
  running its lifespan; ``client.call("say_hello", name="World")`` calls an action over REST.
- The pytest plugin :mod:`servey_faas.testing.pytest_plugin` (registered as the ``pytest11``
  entry point ``servey_faas``): one test per ``Example(include_in_tests=True)``, enabled by the
  ini option ``servey_examples = true`` or ``--servey-examples``.
- :class:`FakeGateway` and :func:`serve_app`: an in-process OpenFaaS gateway that checks every
  request against the official gateway spec and answers as CONTRACTS.md describes, and a helper
  serving any ASGI app on a free loopback port (for ``GatewayClient`` and ``remote()`` tests).

The clients are imported on first use: pytest imports this package (for its plugin) in every
project where servey_faas is installed, and must not pay for httpx, Starlette or the app there.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from servey_faas.faas._fake_gateway import FakeGateway, serve_app
    from servey_faas.testing._lifespan import LifespanError
    from servey_faas.testing.client import AsyncTestClient, TestClient

__all__ = ["AsyncTestClient", "FakeGateway", "LifespanError", "TestClient", "serve_app"]

_HOMES = {
    "AsyncTestClient": "servey_faas.testing.client",
    "FakeGateway": "servey_faas.faas._fake_gateway",
    "serve_app": "servey_faas.faas._fake_gateway",
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
