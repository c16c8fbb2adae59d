"""``--run=server`` (the default run): the development server on uvicorn."""

from __future__ import annotations

import copy
import logging
import os
import secrets
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from servey_faas.cli._shared import CliError, RunCommand, ensure_port_free, load_app
from servey_faas.errors import ConfigurationError
from servey_faas.settings import Settings, shutdown_grace

if TYPE_CHECKING:
    from starlette.applications import Starlette

#: The import string uvicorn loads (in its worker process) when serving with --reload.
APP_FACTORY = "servey_faas.cli.server:create_web_app"

#: Uvicorn's log levels, by name.
LOG_LEVELS = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": 5,
}

_ALL_INTERFACES = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 - compared with, never bound by default

#: The settings that configure a JWT key; --generate-jwt-key refuses to run when one is set.
_JWT_KEY_VARIABLES = ("JWT_SECRET_KEY", "JWT_SECRET_KEY_FILE", "JWT_PUBLIC_KEY", "JWT_PUBLIC_KEY_FILE")


def create_web_app() -> Starlette:
    """The ASGI app of the project in the current folder: ``Settings.load()``, its actions, its routes.

    The factory uvicorn calls with ``--reload`` (import string :data:`APP_FACTORY`, ``factory=True``),
    once per worker process it (re)starts.

    :raises ConfigurationError: as :meth:`Settings.load` and :meth:`ServeyApp.load` do.
    """
    from servey_faas.web import create_app

    return create_app(load_app(Settings.load(), verify_tokens=True), schedules=True)


@click.command(
    "server",
    cls=RunCommand,
    short_help="Serve the actions over HTTP for development (the default run).",
    environment=(
        ("SERVER_HOST", "Interface to listen on (default 127.0.0.1; --host wins)."),
        ("SERVER_PORT", "Port to listen on (default 8000; --port wins)."),
        ("SERVER_SHUTDOWN_GRACE", "Seconds requests may take to finish once told to stop (default 10)."),
        ("JWT_SECRET_KEY[_FILE]", "HS256 secret (>= 32 bytes) verifying end users' bearer tokens (or its file)."),
        ("JWT_PUBLIC_KEY[_FILE]", "PEM public key or certificate (RS256/ES256/EdDSA) instead of a secret."),
        ("JWT_ALGORITHMS", "Comma-separated accepted algorithms (default: the one the key implies)."),
        ("JWT_ISSUER, JWT_AUDIENCE", "Required iss / aud claims (checked only when set)."),
        ("JWT_LEEWAY", "Clock skew allowed on exp/nbf/iat, in seconds (default 0)."),
        ("SERVEY_DEBUG_AUTHENTICATOR=1", "Serve POST /debug/token, signing tokens for anyone (development only)."),
    ),
)
@click.option("--host", metavar="HOST", help="Interface to listen on.  [default: SERVER_HOST, else 127.0.0.1]")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Port to listen on; 0 picks a free one.  [default: SERVER_PORT, else 8000]",
)
@click.option(
    "--shutdown-grace",
    callback=lambda _ctx, _param, value: None if value is None else _grace(value),
    metavar="SECONDS",
    help="Seconds requests in flight may take to finish on SIGTERM/SIGINT (schedules stop at once; "
    "a second signal stops at once).  [default: SERVER_SHUTDOWN_GRACE, else 10]",
)
@click.option("--reload", is_flag=True, help="Restart the server when a file in the current folder changes.")
@click.option(
    "--log-level",
    type=click.Choice(list(LOG_LEVELS), case_sensitive=False),
    default="info",
    show_default=True,
    metavar="LEVEL",
    help=f"Uvicorn's log level: {', '.join(LOG_LEVELS)}.",
)
@click.option(
    "--generate-jwt-key",
    is_flag=True,
    help="Generate a fresh HS256 key for this run only, print it, and verify bearer tokens with it "
    "(development: protected actions need a key). Refused when a JWT key is already configured.",
)
def server(
    host: str | None,
    port: int | None,
    shutdown_grace: float | None,
    reload: bool,
    log_level: str,
    generate_jwt_key: bool,
) -> None:
    """Serve the app's web actions for development on uvicorn: GET /actions/<name>?..., the
    OpenAPI document at /openapi.json and its docs page at /docs.

    The actions are found and the routes built once, before the server starts, so a broken
    actions module is reported as an error and nothing listens. With --reload uvicorn watches the
    current folder and rebuilds the app in a fresh worker process after each change.

    Actions with an access control need a JWT key (JWT_SECRET_KEY or a public key): without one
    the server refuses to start. --generate-jwt-key makes a key for one run and prints it; it is
    never made silently.

    On SIGTERM or SIGINT the schedules stop first, requests in flight get the shutdown grace to
    finish, then the server exits (a second signal: at once).

    This is a development server: it listens on 127.0.0.1 unless told otherwise.
    """
    from servey_faas.web import create_app

    environ: Mapping[str, str] = os.environ
    if generate_jwt_key:
        environ = _with_generated_jwt_key(environ)
        if reload:  # uvicorn's reload worker is a new process: it reads its settings from the environment
            os.environ.update({k: environ[k] for k in ("JWT_SECRET_KEY", "JWT_ALGORITHMS")})
    settings = Settings.load(environ)
    host = settings.server_host if host is None else host
    port = settings.server_port if port is None else port
    log_level = log_level.lower()
    app = load_app(settings, verify_tokens=True)
    web_app = create_app(app, schedules=True)
    if port == 0:
        port = _free_port(host)
    else:
        ensure_port_free(host, port, "give --port or SERVER_PORT")
    if LOG_LEVELS[log_level] <= logging.INFO:
        url = _base_url(host, port)
        count = len(app.actions)
        click.echo(f"INFO:     Serving {count} action{'' if count == 1 else 's'} at {url} (docs: {url}/docs)", err=True)
    if host in _ALL_INTERFACES and LOG_LEVELS[log_level] <= logging.WARNING:
        click.echo(
            f"WARNING:  --host {host or '(empty)'} listens on every interface: other machines can call these actions",
            err=True,
        )
    from servey_faas.cli import _dev_server

    log_config = logging_config(LOG_LEVELS[log_level])
    grace = settings.server_shutdown_grace if shutdown_grace is None else shutdown_grace
    if reload:
        reload_dir = str(settings.project_dir.resolve())
        _dev_server.run(
            APP_FACTORY,
            factory=True,
            reload=True,
            reload_dirs=[reload_dir],
            host=host,
            port=port,
            log_level=log_level,
            log_config=log_config,
            timeout_graceful_shutdown=grace,
        )
    else:
        _dev_server.run(
            web_app, host=host, port=port, log_level=log_level, log_config=log_config, timeout_graceful_shutdown=grace
        )


def logging_config(level: int) -> dict[str, Any]:
    """Uvicorn's logging configuration plus the ``servey_faas`` logger at ``level``, written as
    uvicorn writes its own lines (``INFO:     scheduler started: ...``): the schedules the server
    runs, missed and failed runs, actions that raised."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["servey_faas"] = {"handlers": ["default"], "level": level, "propagate": False}
    return config


def _grace(text: str) -> float:
    try:
        return shutdown_grace(text)
    except ConfigurationError as e:
        raise click.BadParameter(f"must be seconds >= 0, not {text!r}") from e


def _with_generated_jwt_key(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` plus a fresh ``JWT_SECRET_KEY`` (HS256, 256 random bits), which is printed.

    :raises click.UsageError: when a JWT key is already configured.
    """
    configured = [name for name in _JWT_KEY_VARIABLES if environ.get(name)]
    if configured:
        raise click.UsageError(
            f"--generate-jwt-key: a JWT key is already configured ({', '.join(configured)}); unset it or drop the flag"
        )
    key = secrets.token_urlsafe(32)
    click.echo(
        "WARNING:  --generate-jwt-key: bearer tokens are verified with a fresh HS256 key for this run only.\n"
        "WARNING:  Sign tokens with it, and set it to keep it across runs and workers:\n"
        f"export JWT_SECRET_KEY={key}",
        err=True,
    )
    return {**environ, "JWT_SECRET_KEY": key, "JWT_ALGORITHMS": "HS256"}


def _base_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _free_port(host: str) -> int:
    """A port the system reports free on ``host`` right now (for ``--port 0``).

    :raises CliError: when ``host`` cannot be bound at all.
    """
    try:
        family, type_, proto, _, address = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, type_, proto) as probe:
            probe.bind(address)
            return int(probe.getsockname()[1])
    except OSError as e:
        raise CliError(f"cannot listen on {host!r}: {e.strerror or e}") from e
