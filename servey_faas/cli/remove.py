"""``--run=remove``: delete the app's functions from the gateway, with progress."""

from __future__ import annotations

import sys

import click

from servey_faas.cli._options import GATEWAY_ENVIRONMENT, gateway_option, namespace_option, prefix_option
from servey_faas.cli._shared import RunCommand, load_app
from servey_faas.cli.deploy import (
    app_id_of,
    build_table,
    gateway_client,
    stack_file_of,
)
from servey_faas.naming import function_name
from servey_faas.settings import Settings


@click.command(
    "remove",
    cls=RunCommand,
    short_help="Delete the app's functions from the gateway.",
    environment=GATEWAY_ENVIRONMENT,
)
@gateway_option
@prefix_option
@namespace_option
@click.option(
    "--app-id",
    metavar="ID",
    help="Label value com.servey-faas.app of this app's functions (default: prefix + project name).",
)
@click.option("--dry-run", is_flag=True, help="Print what would be removed and stop.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (errors still go to stderr).")
def remove(
    gateway: str | None, prefix: str | None, namespace: str | None, app_id: str | None, dry_run: bool, quiet: bool
) -> None:
    """Delete from the gateway every function of the app: one per action and the API router,
    plus any other function labelled com.servey-faas.app=<app id> (deployed by an earlier version
    of the app). A function that is not deployed is reported, not an error, so running it twice
    is fine; a function of the same name that another app deployed is left alone.

    \b
    Examples:
      servey-faas --run=remove --gateway http://127.0.0.1:8080
      servey-faas --run=remove --dry-run

    Exit codes: 0 removed (or nothing to remove); 1 the gateway failed or refused; 2 a usage error.
    """
    from servey_faas.faas.deploy.executor import Executor, PlanPrinter, make_reporter
    from servey_faas.faas.deploy.packager import ROUTER_NAME
    from servey_faas.faas.deploy.planner import plan_remove

    settings = Settings.load()
    table = build_table(settings)
    fn_prefix = settings.function_prefix if prefix is None else prefix
    app = load_app(settings, verify_tokens=False)
    names = [function_name(action.name, fn_prefix) for action in app.actions.values()]
    names.append(f"{fn_prefix}{ROUTER_NAME}")
    target_namespace = namespace if namespace is not None else str(table.get("namespace") or "")
    with gateway_client(gateway, stack_file_of(settings, table)) as client:
        plan = plan_remove(names, client, app_id=app_id_of(app_id, settings, fn_prefix), namespace=target_namespace)
        if dry_run:
            PlanPrinter(sys.stdout).execute(plan)
            return
        Executor(client, make_reporter(sys.stdout, quiet=quiet)).execute(plan)
