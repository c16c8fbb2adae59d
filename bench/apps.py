"""The ASGI apps bench/rest.py compares, as uvicorn factories (``uvicorn bench.apps:servey --factory``).

Every app answers ``GET /actions/say-hello?name=World`` with the JSON string ``"Hello World!"``:

- sync handlers (``servey``, ``plain``, ``fastapi_sync``) run in a worker thread (servey_faas's
  own pool; Starlette's and FastAPI's anyio threadpool);
- async handlers (``servey_async``, ``plain_async``, ``fastapi_async``) run on the event loop.
"""

from __future__ import annotations

from typing import Any

from servey_faas import WEB_GET, action


@action(name="say_hello", triggers=(WEB_GET,))
async def say_hello_async(name: str) -> str:
    """``actions.greetings.say_hello`` as an ``async def`` action."""
    return f"Hello {name}!"


def servey() -> Any:
    """The demo actions (``actions/``) through servey_faas, as ``python -m servey_faas`` serves them."""
    from servey_faas.app import ServeyApp
    from servey_faas.web import create_app

    return create_app(ServeyApp.load())


def servey_async() -> Any:
    """:func:`say_hello_async` through servey_faas (``create_app``, as the dev server builds it)."""
    from servey_faas import get_action
    from servey_faas.app import ServeyApp
    from servey_faas.discovery import ActionRegistry
    from servey_faas.web import create_app

    found = get_action(say_hello_async)
    assert found is not None
    return create_app(ServeyApp.from_registry(ActionRegistry([found])))


def plain() -> Any:
    """The same handler written in plain Starlette: a sync endpoint, run in the threadpool."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    def say_hello(request: Request) -> JSONResponse:
        return JSONResponse(f"Hello {request.query_params['name']}!")

    return Starlette(routes=[Route("/actions/say-hello", say_hello, methods=["GET"])])


def plain_async() -> Any:
    """The same handler as an ``async def`` Starlette endpoint, run on the event loop."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def say_hello(request: Request) -> JSONResponse:
        return JSONResponse(f"Hello {request.query_params['name']}!")

    return Starlette(routes=[Route("/actions/say-hello", say_hello, methods=["GET"])])


def fastapi_sync() -> Any:
    """The same handler in FastAPI: a ``def`` path operation (``name`` a required query
    parameter, validated by pydantic), run in the threadpool."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/actions/say-hello")
    def say_hello(name: str) -> str:
        return f"Hello {name}!"

    return app


def fastapi_async() -> Any:
    """The same handler in FastAPI as an ``async def`` path operation, run on the event loop."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/actions/say-hello")
    async def say_hello(name: str) -> str:
        return f"Hello {name}!"

    return app
