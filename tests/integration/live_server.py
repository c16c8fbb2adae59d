"""A real uvicorn server for integration tests: :func:`servey_faas.testing.serve_app`, which the
package ships for its users too."""

from __future__ import annotations

from collections.abc import Callable

from servey_faas.testing.server import SHUTDOWN_TIMEOUT, STARTUP_TIMEOUT, ServerError, asgi_app_of
from servey_faas.testing.server import serve_app as serve

__all__ = ["CLIENT_TIMEOUT", "SHUTDOWN_TIMEOUT", "STARTUP_TIMEOUT", "LiveServer", "ServerError", "asgi_app_of", "serve"]

#: Seconds an HTTP request to a test server may take before the test fails (a safety net too).
CLIENT_TIMEOUT = 30.0

#: The ``live_server`` fixture: ``live_server(app, **uvicorn_options) -> base_url``.
LiveServer = Callable[..., str]
