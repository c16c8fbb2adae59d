"""What every run shares: the command class, user errors, loading the app, writing output."""

from __future__ import annotations

import errno
import os
import socket
import sys
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from servey_faas.errors import ServeyFaasError

if TYPE_CHECKING:
    from servey_faas.app import ServeyApp
    from servey_faas.settings import Settings

#: Environment variables every run reads, as ``(name, what)`` rows for the help texts.
COMMON_ENVIRONMENT: tuple[tuple[str, str], ...] = (
    (
        "SERVEY_ACTION_PATH",
        "Module holding the actions (default: [tool.servey_faas] actions in pyproject.toml, else 'actions').",
    ),
    ("SERVEY_DEBUG=1", "Print the traceback of an error, not only its message."),
)

_TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


class CliError(ServeyFaasError):
    """An error only the command line meets (an unwritable output file, an action that raised).

    Shown as ``Error: <message>`` on stderr; the process exits with ``exit_code``.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class RunCommand(click.Command):
    """The click command of one ``--run=NAME``.

    Its usage and error hints read ``servey-faas --run=NAME [OPTIONS]`` (not a sub-command
    name), and its help ends with an "Environment" section: ``environment`` rows of
    ``(variable, what)`` first, then :data:`COMMON_ENVIRONMENT`.
    """

    def __init__(self, *args: Any, environment: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.environment: tuple[tuple[str, str], ...] = (*environment, *COMMON_ENVIRONMENT)

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        if parent is not None:
            info_name = f"--run={self.name}"
        return super().make_context(info_name, args, parent=parent, **extra)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        format_environment(formatter, self.environment)


def format_environment(formatter: click.HelpFormatter, rows: Sequence[tuple[str, str]]) -> None:
    """Write an "Environment" help section of ``(variable, what)`` rows."""
    if rows:
        with formatter.section("Environment"):
            formatter.write_dl(rows)


def debug_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``SERVEY_DEBUG`` (in ``environ``, default ``os.environ``) asks for tracebacks:
    ``1``, ``true``, ``yes`` or ``on``, in any case."""
    env = os.environ if environ is None else environ
    return env.get("SERVEY_DEBUG", "").strip().lower() in _TRUE_WORDS


def echo_traceback(error: BaseException) -> None:
    """Print ``error``'s traceback (with its causes) on stderr."""
    click.echo("".join(traceback.format_exception(error)).rstrip("\n"), err=True)


def load_app(settings: Settings, *, verify_tokens: bool) -> ServeyApp:
    """Find the actions named by ``settings`` and build the app, as the command line does.

    ``verify_tokens`` is for the runs that serve requests (the dev server): it needs the JWT key
    when an action needs bearer tokens. Runs that only package, deploy, call or describe the
    actions pass False and need no key (see :meth:`ServeyApp.from_registry`).

    The console script ``servey-faas`` does not put the current folder on ``sys.path`` the way
    ``python -m`` does, so ``settings.project_dir`` is put first on ``sys.path`` when no entry
    names it (the command line only; the library never touches ``sys.path``).

    :raises DiscoveryError: when the actions cannot be imported or two share a name.
    :raises ActionDefinitionError: when an action cannot be served as declared.
    :raises ConfigurationError: with ``verify_tokens``, when the JWT key is missing or wrong.
    """
    from servey_faas.app import ServeyApp

    _put_on_sys_path(settings.project_dir)
    app = ServeyApp.load(settings, verify_tokens=verify_tokens)
    warn_if_no_actions(app)
    return app


def _put_on_sys_path(folder: Path) -> None:
    root = _resolved(folder)
    if root is not None and not any(_resolved(Path(entry or ".")) == root for entry in sys.path):
        sys.path.insert(0, str(root))


def _resolved(path: Path) -> Path | None:
    try:
        return path.resolve()
    except OSError:
        return None


def write_output(text: str, output: Path | None, what: str) -> None:
    """Write ``text`` to ``output`` (UTF-8, replacing the file), or to stdout when it is None.

    A line ``wrote <what> to <output>`` goes to stderr, so stdout only ever carries the document.

    :raises CliError: when the file cannot be written (exit code 1).
    """
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as e:
        raise CliError(f"cannot write {what} to {output}: {e.strerror or e}") from e
    click.echo(f"wrote {what} to {output}", err=True)


def ensure_port_free(host: str, port: int, hint: str, exit_code: int = 1) -> None:
    """Check, before anything is printed or started, that a server can listen on ``host:port``
    (bound with ``SO_REUSEADDR``, as uvicorn binds, then released at once).

    :raises CliError: ``port N is in use (<hint>)``, or that ``host:port`` cannot be bound.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise CliError(f"cannot listen on {host}:{port}: {e.strerror or e}", exit_code) from e
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise CliError(f"port {port} is in use ({hint})", exit_code) from e
            raise CliError(f"cannot listen on {host}:{port}: {e.strerror or e}", exit_code) from e


def warn_if_no_actions(app: ServeyApp) -> None:
    """Say on stderr when the actions module holds no ``@action`` (a wrong module, or a typo)."""
    if not app.actions:
        click.echo(
            f"warning: no @action functions found in module {app.settings.action_path!r} "
            "(SERVEY_ACTION_PATH or [tool.servey_faas] actions names the module holding them)",
            err=True,
        )
