"""The tools servey_faas tests itself with, shipped for its users (as Click ships ``CliRunner``).

- :class:`TestClient` / :class:`AsyncTestClient`: httpx clients over the app's ASGI interface,
  running its lifespan; ``client.call("say_hello", name="World")`` calls an action over REST.
- The pytest plugin :mod:`servey_faas.testing.pytest_plugin` (registered as the ``pytest11``
  entry point ``servey_faas``): one test per ``Example(include_in_tests=True)``, enabled by the
  ini option ``servey_examples = true`` or ``--servey-examples``.
"""

from servey_faas.testing._lifespan import LifespanError
from servey_faas.testing.client import AsyncTestClient, TestClient

__all__ = ["AsyncTestClient", "LifespanError", "TestClient"]
