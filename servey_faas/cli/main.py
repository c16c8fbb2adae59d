"""The command line: ``python -m servey_faas`` and ``servey-faas``, in servey's ``--run=`` style.

``--run=NAME`` picks one run (default ``server``); every other option belongs to that run, so
``servey-faas --run=openapi --output openapi.json`` and ``servey-faas --output openapi.json
--run=openapi`` are the same call. Each run is a :class:`~servey_faas.cli._shared.RunCommand`
in its own module, listed in :data:`RUNS` and imported only when it runs (or for ``--help``).
A new run is one module plus one row of :data:`RUNS`.

Exit codes: 0 success; 1 a failure (an error of the app, an action that raised); 2 a usage
error, invalid params or an unknown action (``ServeyFaasError.exit_code``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import click

from servey_faas import __version__
from servey_faas.cli._shared import COMMON_ENVIRONMENT, debug_enabled, echo_traceback, format_environment
from servey_faas.errors import ServeyFaasError

#: Every run, in help order: name → ``"module:attribute"`` of its click command.
RUNS: Mapping[str, str] = MappingProxyType(
    {
        "server": "servey_faas.cli.server:server",
        "action": "servey_faas.cli.action:run_action",
        "openapi": "servey_faas.cli.openapi:openapi",
        "graphql-schema": "servey_faas.cli.graphql_schema:graphql_schema",
        "celery-worker": "servey_faas.cli.celery:celery_worker",
        "celery-beat": "servey_faas.cli.celery:celery_beat",
        "build": "servey_faas.cli.build:build",
        "deploy": "servey_faas.cli.deploy:deploy",
        "invoke": "servey_faas.cli.invoke:invoke",
        "remove": "servey_faas.cli.remove:remove",
        "login": "servey_faas.cli.login:login",
        "gateway": "servey_faas.cli.gateway:gateway",
    }
)

#: The run used when no ``--run`` is given.
DEFAULT_RUN = "server"

_RUN_OPTION = "--run"


class RunGroup(click.Group):
    """A click group whose sub-command is chosen by ``--run=NAME`` instead of a positional name.

    ``runs`` maps each run name to the ``"module:attribute"`` of its command (imported lazily);
    ``default_run`` is used when ``--run`` is absent and other options are given. Arguments made
    only of ``--help``/``-h``/``--version`` show the group's own help or version.

    A :class:`~servey_faas.errors.ServeyFaasError` escaping a run is shown as ``Error: <message>``
    on stderr (its traceback too when ``SERVEY_DEBUG=1``) and exits with its ``exit_code``.
    """

    def __init__(self, *args: Any, runs: Mapping[str, str], default_run: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if default_run not in runs:
            raise ValueError(f"default run {default_run!r} is not one of {', '.join(runs)}")
        self.runs = runs
        self.default_run = default_run
        self.params.insert(
            0,
            click.Option(
                [_RUN_OPTION],
                type=click.Choice(list(runs)),
                default=default_run,
                show_default=True,
                metavar="RUN",
                expose_value=False,
                help="What to do: one of the runs below. Each run has its own options: --run=RUN --help.",
            ),
        )

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.runs)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self.runs.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"run {cmd_name!r}: {target} is not a click command")
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        run, rest = _take_run(ctx, args)
        if run is None:
            own_flags = {*ctx.help_option_names, "--version"}
            if args and all(a in own_flags for a in args):
                return super().parse_args(ctx, args)
            run = self.default_run
        # "--run RUN" is validated by the group's own option (a usage error naming the valid runs);
        # the second RUN is the sub-command click dispatches to.
        return super().parse_args(ctx, [_RUN_OPTION, run, run, *rest])

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return ["[--run=RUN]", "[OPTIONS]"]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows: list[tuple[str, str]] = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(formatter.width - 6 - max(map(len, self.runs)))))
        if rows:
            with formatter.section("Runs"):
                formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        format_environment(formatter, COMMON_ENVIRONMENT)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ServeyFaasError as e:
            if debug_enabled():
                echo_traceback(e)
            click.echo(f"Error: {e}", err=True)
            ctx.exit(e.exit_code)


def _take_run(ctx: click.Context, args: Sequence[str]) -> tuple[str | None, list[str]]:
    """Pull ``--run=NAME`` / ``--run NAME`` out of ``args`` (before any ``--``).

    :raises click.UsageError: when ``--run`` has no value or is given twice.
    """
    run: str | None = None
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        value: str | None = None
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg == _RUN_OPTION:
            if i + 1 >= len(args):
                raise click.UsageError(f"Option '{_RUN_OPTION}' requires an argument.", ctx)
            value = args[i + 1]
            i += 1
        elif arg.startswith(_RUN_OPTION + "="):
            value = arg.partition("=")[2]
        else:
            rest.append(arg)
        if value is not None:
            if run is not None:
                raise click.UsageError(f"{_RUN_OPTION} is given twice ({run!r} and {value!r}); give one run.", ctx)
            run = value
        i += 1
    return run, rest


@click.group(
    cls=RunGroup,
    runs=RUNS,
    default_run=DEFAULT_RUN,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="servey_faas", message="%(prog)s %(version)s")
def cli() -> None:
    """Serve, inspect and run the @action functions of a servey_faas app.

    Without --run, the dev server starts (--run=server). Every run finds the app's actions in
    the module named by SERVEY_ACTION_PATH or [tool.servey_faas] actions, from the current folder.

    Exit codes: 0 done; 1 an error of the app or of an action; 2 a usage error or invalid input
    (bad --event, invalid params, unknown action).
    """


def main(argv: Sequence[str] | None = None) -> None:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and exit the process.

    The entry point of ``python -m servey_faas`` and of the ``servey-faas`` console script.
    """
    cli.main(args=None if argv is None else list(argv))
