"""What runs inside an action's OpenFaaS function: the entrypoint and its helpers.

A build context's ``index.py`` (the watchdog's ``fprocess``, ``docs/openfaas.md#the-python3-http-template``) calls
:func:`run`, which loads the one action it serves and serves it where the watchdog's
``upstream_url`` points (``docs/openfaas.md#ports``): the action at ``/`` and under its REST paths
(:func:`function_app`, a WSGI app answering through the dev server's route handlers), with waitress, the python3-http
template's server, draining in-flight requests on SIGTERM. Action code reads the function's secrets with
:func:`read_secret` (``docs/openfaas.md#secrets-as-files``); a JWT public key for end users' tokens can be a secret too:
``JWT_PUBLIC_KEY_FILE=/var/openfaas/secrets/<name>`` in the function's environment.

The import path is kept small for cold start (``bench/coldstart.py``): the core and
waitress; never asyncio (unless the action is async), Starlette, uvicorn, GraphQL, Celery, the docs
pages or the OpenAPI builder. The API router function is an ASGI app served by uvicorn (:func:`serve_asgi`);
the names here are imported on first use, so that the router does not import the function app.
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from servey_faas.faas.runtime._app import FunctionApp, function_app
    from servey_faas.faas.runtime._main import (
        DEFAULT_UPSTREAM_URL,
        OPENAPI_FILE,
        SCHEMAS_FILE,
        app_schemas_json,
        load_action,
        load_app,
        read_app_schemas,
        run,
        schemas_json,
        self_test,
        serve,
        serve_asgi,
        upstream_address,
    )
    from servey_faas.faas.runtime._secrets import DEFAULT_SECRET_MOUNT_PATH, read_secret, secret_path
    from servey_faas.faas.wire import READY_PATH

__all__ = [
    "DEFAULT_SECRET_MOUNT_PATH",
    "DEFAULT_UPSTREAM_URL",
    "OPENAPI_FILE",
    "READY_PATH",
    "SCHEMAS_FILE",
    "FunctionApp",
    "app_schemas_json",
    "function_app",
    "load_action",
    "load_app",
    "read_app_schemas",
    "read_secret",
    "run",
    "schemas_json",
    "secret_path",
    "self_test",
    "serve",
    "serve_asgi",
    "upstream_address",
]

#: Where each name lives: imported on first use (PEP 562), so that the API router, which only
#: serves with :func:`serve_asgi`, does not import the function app and what it needs.
_HOMES = {
    "FunctionApp": "servey_faas.faas.runtime._app",
    "function_app": "servey_faas.faas.runtime._app",
    "DEFAULT_SECRET_MOUNT_PATH": "servey_faas.faas.runtime._secrets",
    "read_secret": "servey_faas.faas.runtime._secrets",
    "secret_path": "servey_faas.faas.runtime._secrets",
    "READY_PATH": "servey_faas.faas.wire",
}


def __getattr__(name: str) -> object:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(_HOMES.get(name, "servey_faas.faas.runtime._main")), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
