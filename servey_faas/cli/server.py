"""``--run=server`` (the default run): the development server on uvicorn."""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

import click

from servey_faas.cli._shared import CliError, RunCommand, load_app
from servey_faas.settings import Settings

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


def create_web_app() -> Starlette:
    """The ASGI app of the project in the current folder: ``Settings.load()``, its actions, its routes.

    The factory uvicorn calls with ``--reload`` (import string :data:`APP_FACTORY`, ``factory=True``),
    once per worker process it (re)starts.

    :raises ConfigurationError: as :meth:`Settings.load` and :meth:`ServeyApp.load` do.
    """
    from servey_faas.web import create_app

    return create_app(load_app(Settings.load()))


@click.command(
    "server",
    cls=RunCommand,
    short_help="Serve the actions over HTTP for development (the default run).",
    environment=(
        ("SERVER_HOST", "Interface to listen on (default 127.0.0.1; --host wins)."),
        ("SERVER_PORT", "Port to listen on (default 8000; --port wins)."),
    ),
)
@click.option("--host", metavar="HOST", help="Interface to listen on.  [default: SERVER_HOST, else 127.0.0.1]")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Port to listen on; 0 picks a free one.  [default: SERVER_PORT, else 8000]",
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
def server(host: str | None, port: int | None, reload: bool, log_level: str) -> None:
    """Serve the app's web actions for development on uvicorn: GET /actions/<name>?..., the
    OpenAPI document at /openapi.json and its docs page at /docs.

    The actions are found and the routes built once, before the server starts, so a broken
    actions module is reported as an error and nothing listens. With --reload uvicorn watches the
    current folder and rebuilds the app in a fresh worker process after each change.

    This is a development server: it listens on 127.0.0.1 unless told otherwise.
    """
    from servey_faas.web import create_app

    settings = Settings.load()
    host = settings.server_host if host is None else host
    port = settings.server_port if port is None else port
    log_level = log_level.lower()
    app = load_app(settings)
    web_app = create_app(app)
    if port == 0:
        port = _free_port(host)
    if LOG_LEVELS[log_level] <= logging.INFO:
        url = _base_url(host, port)
        count = len(app.actions)
        click.echo(f"INFO:     Serving {count} action{'' if count == 1 else 's'} at {url} (docs: {url}/docs)", err=True)
    if host in _ALL_INTERFACES and LOG_LEVELS[log_level] <= logging.WARNING:
        click.echo(
            f"WARNING:  --host {host or '(empty)'} listens on every interface: other machines can call these actions",
            err=True,
        )
    import uvicorn

    if reload:
        reload_dir = str(settings.project_dir.resolve())
        uvicorn.run(
            APP_FACTORY, factory=True, reload=True, reload_dirs=[reload_dir], host=host, port=port, log_level=log_level
        )
    else:
        uvicorn.run(web_app, host=host, port=port, log_level=log_level)


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
