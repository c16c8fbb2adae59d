"""``--run=celery-worker`` and ``--run=celery-beat``: the app's Celery worker and beat.

Both read ``CELERY_BROKER`` (required) and ``CELERY_RESULT_BACKEND`` (optional), find the app's
actions as every run does, and build the Celery app once (:func:`create_celery_app`), in this
process, before Celery starts: no ``celery -A module`` import string, no app built at import.

The commands are registered in :data:`servey_faas.cli.main.RUNS`; ``python -m
servey_faas.cli.celery celery-worker|celery-beat [OPTIONS]`` runs them too.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from servey_faas.cli._shared import CliError, RunCommand, load_app
from servey_faas.errors import ConfigurationError
from servey_faas.scheduling.settings import CELERY_ENVIRONMENT, CELERY_MISSING, CelerySettings
from servey_faas.settings import Settings

if TYPE_CHECKING:
    from celery import Celery

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_POOLS = ("prefork", "solo", "threads")


def _celery_app() -> Celery:
    """Settings → app → Celery app, with user errors as :class:`ConfigurationError`."""
    celery_settings = CelerySettings.load()
    if not celery_settings.enabled:
        raise ConfigurationError(
            "CELERY_BROKER is not set: give the broker URL, e.g. CELERY_BROKER=redis://127.0.0.1:6379/0"
        )
    try:
        from servey_faas.scheduling.celery_app import create_celery_app
    except ImportError as e:
        raise ConfigurationError(CELERY_MISSING) from e
    return create_celery_app(load_app(Settings.load(), verify_tokens=False), celery_settings)


@click.command(
    "celery-worker",
    cls=RunCommand,
    short_help="Run the actions as Celery tasks (needs CELERY_BROKER).",
    environment=CELERY_ENVIRONMENT,
)
@click.option(
    "--pool",
    type=click.Choice(_POOLS),
    default="prefork",
    show_default=True,
    help="Celery execution pool: prefork (processes), threads, or solo (one task at a time, in this process).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Tasks run at once.  [default: the number of CPUs; 1 for solo]",
)
@click.option(
    "--loglevel",
    type=click.Choice(_LOG_LEVELS, case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Celery's log level.",
)
@click.option("--hostname", metavar="NAME", default=None, help="Worker node name.  [default: celery@<host>]")
def celery_worker(pool: str, concurrency: int | None, loglevel: str, hostname: str | None) -> None:
    """Run a Celery worker that serves every action of the app as the task
    servey_faas.<action name>: JSON params in (kwarg "params"), the JSON result out, through the
    same validation and invocation as the dev server.

    Scheduled actions are sent by --run=celery-beat; background channels send the others. Stop
    with Ctrl+C or SIGTERM (running tasks finish first).
    """
    from servey_faas.scheduling.celery_app import run_worker

    celery = _celery_app()
    code = run_worker(celery, pool=pool, concurrency=concurrency, loglevel=loglevel.upper(), hostname=hostname)
    if code:
        raise CliError(f"the Celery worker exited with code {code}", exit_code=code)


@click.command(
    "celery-beat",
    cls=RunCommand,
    short_help="Send the scheduled actions to Celery on time (needs CELERY_BROKER).",
    environment=CELERY_ENVIRONMENT,
)
@click.option(
    "--loglevel",
    type=click.Choice(_LOG_LEVELS, case_sensitive=False),
    default="INFO",
    show_default=True,
    help="Celery's log level.",
)
def celery_beat(loglevel: str) -> None:
    """Run Celery beat: send each FixedRateTrigger and CronTrigger action to the workers when it
    is due. Fixed rates fire at whole multiples of their interval (wall clock), cron
    expressions as cron-connector reads them, in local time.

    Exactly one beat fires per deployment: with a Redis broker, beats share a lease in Redis
    (CELERY_BEAT_LOCK_KEY) and the others stand by. Nothing is written to disk; fires missed
    while no beat ran are not caught up. While CELERY_BROKER is set the dev server runs no
    schedules itself. Stop with Ctrl+C or SIGTERM.
    """
    from servey_faas.scheduling.celery_app import run_beat

    run_beat(_celery_app(), loglevel=loglevel.upper())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def celery_cli() -> None:
    """The Celery runs of servey_faas, without the main command line."""


celery_cli.add_command(celery_worker)
celery_cli.add_command(celery_beat)


def _main() -> None:
    try:
        celery_cli.main(prog_name="python -m servey_faas.cli.celery")
    except ConfigurationError as e:  # pragma: no cover - shown like the main command line does
        click.echo(f"Error: {e}", err=True)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    _main()
