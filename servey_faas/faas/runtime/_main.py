"""Starting a function: load its one action, then serve it with waitress where the watchdog's
``upstream_url`` points (``docs/openfaas.md#ports``), or run the action's examples (the image's test stage).

The generated ``index.py`` of a build context calls :func:`run`; nothing here runs at import.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from servey_faas.action import Action, get_action
from servey_faas.errors import ConfigurationError, ServeyFaasError
from servey_faas.heap import freeze_start_up_heap

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from servey_faas.app import ServeyApp

#: The file beside an action function's ``index.py`` with its params and result schemas, written by
#: the packager (:func:`schemas_json`) and read at start-up (:func:`read_schemas`) instead of
#: generating them.
SCHEMAS_FILE = "schemas.json"
#: The file beside the API router's ``index.py`` with the OpenAPI document it serves, written by the
#: packager (the bytes ``GET /openapi.json`` answers) and read at start-up instead of building it.
OPENAPI_FILE = "openapi.json"
#: The upstream address of the python3-http template (``docs/openfaas.md#ports``).
DEFAULT_UPSTREAM_URL = "http://127.0.0.1:5000"


def load_action(module: str, attribute: str) -> Action:
    """Import ``module`` (only it and what it imports, not the whole actions package) and return
    the :class:`~servey_faas.Action` of its attribute ``attribute``.

    :raises ConfigurationError: when the module cannot be imported or the attribute is not an action.
    """
    try:
        found = importlib.import_module(module)
    except Exception as e:
        raise ConfigurationError(f"cannot import the action module {module!r}: {type(e).__name__}: {e}") from e
    value = getattr(found, attribute, None)
    action = get_action(value)
    if action is None:
        raise ConfigurationError(f"{module}:{attribute} is not an @action")
    return action


def load_app(
    module: str,
    attribute: str,
    environ: Mapping[str, str] | None = None,
    *,
    schemas_file: str | os.PathLike[str] | None = None,
) -> ServeyApp:
    """The :class:`~servey_faas.app.ServeyApp` of the one action at ``module:attribute``, with the
    settings read from ``environ`` (default ``os.environ``): the same invoker as the dev server.

    ``schemas_file`` is the ``schemas.json`` that ``--run=build`` writes beside ``index.py`` (see
    :func:`read_schemas`): the invoker takes its schemas from it instead of generating them, so
    that the function starts without schemey and marshy (cold start).

    :raises ConfigurationError: as :func:`load_action` and :func:`read_schemas`, or when the action
        cannot be served (its settings or its definition are wrong, or the schemas file is stale).
    """
    from servey_faas.app import ServeyApp
    from servey_faas.discovery import ActionRegistry
    from servey_faas.settings import Settings

    action = load_action(module, attribute)
    schemas = None if schemas_file is None else {action.name: read_schemas(schemas_file, action.name)}
    return ServeyApp.from_registry(ActionRegistry([action]), Settings.load(environ), schemas=schemas)


def schemas_json(action_name: str, document: Mapping[str, Any]) -> bytes:
    """The bytes of an action function's :data:`SCHEMAS_FILE`: ``{"action": action_name, "params":
    ..., "result": ...}`` from ``document`` (an invoker's ``schema_document``), as UTF-8 JSON with
    sorted keys, an indent of 2 and a trailing newline, so that the same schemas give the same bytes.
    """
    body = {"action": action_name, "params": document["params"], "result": document["result"]}
    return (json.dumps(body, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def app_schemas_json(documents: Mapping[str, Mapping[str, Any]]) -> bytes:
    """The bytes of the API router's :data:`SCHEMAS_FILE`: ``{"actions": {<action name>: {"params":
    ..., "result": ...}}}`` from ``documents`` (each an invoker's ``schema_document``, by action
    name), written as :func:`schemas_json` writes one action's."""
    body = {"actions": {name: {"params": d["params"], "result": d["result"]} for name, d in documents.items()}}
    return (json.dumps(body, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def read_app_schemas(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The schema documents by action name in the API router's JSON file ``path`` (see
    :func:`app_schemas_json`), each ``{"params": ..., "result": ...}``.

    :raises ConfigurationError: naming ``path``, when it is missing or unreadable, or is not such
        a JSON object.
    """
    document = _read_json(path)
    actions = document.get("actions") if isinstance(document, dict) else None
    if not isinstance(actions, dict) or not all(
        isinstance(d, dict) and isinstance(d.get("params"), dict) and isinstance(d.get("result"), dict)
        for d in actions.values()
    ):
        raise ConfigurationError(
            f"the schemas file {os.fspath(path)} is not an object with the params and result schemas of each action"
        )
    return {str(name): {"params": d["params"], "result": d["result"]} for name, d in actions.items()}


def _read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON value in the file ``path``.

    :raises ConfigurationError: naming ``path``, when it is missing, unreadable or not JSON."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except OSError as e:
        raise ConfigurationError(f"cannot read the schemas file {path}: {e.strerror or e}") from e
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError
        raise ConfigurationError(f"the schemas file {path} is not JSON: {e}") from e


def read_schemas(path: str | os.PathLike[str], action_name: str) -> dict[str, Any]:
    """The schema document of ``action_name`` in the JSON file ``path``: the file holds
    ``{"action": <name>, "params": <params schema>, "result": <result schema>}``; returns
    ``{"params": ..., "result": ...}`` (:attr:`~servey_faas.invocation.ActionInvoker.schema_document`).

    :raises ConfigurationError: naming ``path``, when it is missing or unreadable, is not such a
        JSON object, or names another action.
    """
    document = _read_json(path)
    path = os.fspath(path)
    if (
        not isinstance(document, dict)
        or not isinstance(document.get("action"), str)
        or not isinstance(document.get("params"), dict)
        or not isinstance(document.get("result"), dict)
    ):
        raise ConfigurationError(
            f"the schemas file {path} is not an object with an action name and params and result schemas"
        )
    if document["action"] != action_name:
        raise ConfigurationError(
            f"the schemas file {path} is for action {document['action']!r}, not {action_name!r}: "
            "rebuild the function (servey-faas --run=build)"
        )
    return {"params": document["params"], "result": document["result"]}


def upstream_address(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """``(host, port)`` to listen on: those of the watchdog's ``upstream_url`` (or its alias
    ``http_upstream_url``), default ``http://127.0.0.1:5000`` (``docs/openfaas.md#ports``).

    :raises ConfigurationError: when the URL is not ``http://host:port``.
    """
    env = os.environ if environ is None else environ
    url = env.get("upstream_url") or env.get("http_upstream_url") or DEFAULT_UPSTREAM_URL
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        port, parts = None, None
    if parts is None or parts.scheme != "http" or not parts.hostname or port is None:
        raise ConfigurationError(f"upstream_url must be http://HOST:PORT, not {url!r}")
    return parts.hostname, port


def serve(app: ServeyApp, action_name: str, environ: Mapping[str, str] | None = None) -> None:
    """Serve :func:`~servey_faas.faas.runtime.function_app` of ``action_name`` with waitress at
    :func:`upstream_address` until SIGTERM or SIGINT, draining in-flight requests first (the
    watchdog forwards SIGTERM at once and exits with this process, ``docs/openfaas.md#shutdown``; see
    :func:`~servey_faas.faas.runtime._server.serve_wsgi`). ``jwt_auth`` in ``environ`` (default
    ``os.environ``) turns on the function auth handling (``docs/openfaas.md#token-checks-in-of-watchdog``). Errors go to
    stderr, the function's log; no access log.

    The drain lasts at most the action's ``timeout``, the function's ``exec_timeout``: by then the
    watchdog has answered 504 to every request that was in flight at SIGTERM (it does not wait
    for the upstream past ``exec_timeout``), so no answer is left to deliver; a call still running
    is left to its (daemon) worker thread and ends with the process.

    :raises ConfigurationError: for an ``upstream_url`` that is not ``http://HOST:PORT``.
    """
    from servey_faas.faas.runtime._app import function_app
    from servey_faas.faas.runtime._server import serve_wsgi

    env = os.environ if environ is None else environ
    host, port = upstream_address(env)
    function_auth = env.get("jwt_auth", "").strip().lower() in ("1", "t", "true")
    _log_to_stderr()
    wsgi = function_app(app, action_name, function_auth=function_auth)
    freeze_start_up_heap()
    try:
        serve_wsgi(wsgi, host, port, max_body_bytes=wsgi.max_body_bytes, drain_timeout=wsgi.invoker.action.timeout)
    finally:
        wsgi.close()


def serve_asgi(asgi_app: ASGIApp, environ: Mapping[str, str] | None = None, *, lifespan: str = "auto") -> None:
    """Serve ``asgi_app`` (the API router function's Starlette app) with uvicorn at
    :func:`upstream_address` until SIGTERM or SIGINT; in-flight requests are drained before the
    process exits (the watchdog forwards SIGTERM at once, ``docs/openfaas.md#shutdown``). No access log; errors go to
    stderr, the function's log. ``lifespan`` is uvicorn's setting."""
    import uvicorn

    host, port = upstream_address(environ)
    _log_to_stderr()
    config = uvicorn.Config(
        asgi_app,
        host=host,
        port=port,
        lifespan=lifespan,  # type: ignore[arg-type]
        ws="none",
        access_log=False,
        log_config=None,
        log_level="info",
        server_header=False,
        timeout_graceful_shutdown=None,
    )
    freeze_start_up_heap()
    uvicorn.Server(config).run()


def _log_to_stderr() -> None:
    """One plain handler on the root logger (uvicorn's dictConfig would cost logging.config's import)."""
    import logging

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


def self_test(app: ServeyApp, action_name: str, out: TextIO) -> int:
    """Run the action's examples (those with ``include_in_tests``) through its invoker and compare
    each JSON result with the example's, as the generated pytest tests do; one line per example on
    ``out``. Returns the exit status: 0 when all match, 1 otherwise."""
    invoker = app.invoker(action_name)
    failures = 0
    examples = [e for e in invoker.action.examples if e.include_in_tests]
    for example in examples:
        params = invoker.example_params(example.params)
        expected = invoker.example_result(example.result)
        try:
            actual = invoker.invoke_sync(params)
        except Exception as e:
            failures += 1
            out.write(f"FAIL {action_name}::{example.name}: raised {type(e).__name__}: {e}\n")
            continue
        if actual != expected:
            failures += 1
            out.write(
                f"FAIL {action_name}::{example.name}: expected {json.dumps(expected)}, got {json.dumps(actual)}\n"
            )
        else:
            out.write(f"ok   {action_name}::{example.name}\n")
    out.write(f"{len(examples) - failures} of {len(examples)} examples passed\n")
    return 1 if failures else 0


def run(
    module: str, attribute: str, argv: Sequence[str] = (), *, schemas_file: str | os.PathLike[str] | None = None
) -> int:
    """The entrypoint of a function's ``index.py``: serve the action ``module:attribute``
    (``fprocess``: ``python index.py``), or with ``--self-test`` run its examples. ``schemas_file``
    is passed to :func:`load_app` (``index.py`` passes its ``schemas.json``).

    Returns the exit status; a :class:`~servey_faas.errors.ServeyFaasError` at startup is printed
    as ``Error: ...`` on stderr with status 1 (the watchdog then exits too, ``docs/openfaas.md#shutdown``).
    """
    args = list(argv)
    if args not in ([], ["--self-test"]):
        sys.stderr.write(f"usage: python index.py [--self-test] (got {' '.join(args)})\n")
        return 2
    try:
        app = load_app(module, attribute, schemas_file=schemas_file)
        action_name = next(iter(app.invokers))
        if args:
            return self_test(app, action_name, sys.stdout)
        serve(app, action_name)
    except ServeyFaasError as e:
        sys.stderr.write(f"Error: {e}\n")
        return 1
    return 0
