"""The two ASGI apps bench/rest.py compares, as uvicorn factories (``uvicorn apps:servey --factory``).

Both answer ``GET /actions/say-hello?name=World`` with the JSON string ``"Hello World!"`` from a
sync handler run in Starlette's/anyio's threadpool.
"""

from __future__ import annotations

from typing import Any


def servey() -> Any:
    """The demo actions (``actions/``) through servey_faas, as ``python -m servey_faas`` serves them."""
    from servey_faas.app import ServeyApp
    from servey_faas.web import create_app

    return create_app(ServeyApp.load())


def plain() -> Any:
    """The same handler written in plain Starlette: a sync endpoint, run in the threadpool."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def say_hello(request: Request) -> JSONResponse:
        return JSONResponse(f"Hello {request.query_params['name']}!")

    return Starlette(routes=[Route("/actions/say-hello", say_hello, methods=["GET"])])
