"""``--run=build``: write ``serverless/stack.yml`` and one build context per function."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from servey_faas.cli._shared import RunCommand, load_app
from servey_faas.settings import Settings


@click.command(
    "build",
    cls=RunCommand,
    short_help="Write stack.yml and a build context per function (faas-cli shrinkwrap layout).",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Where stack.yml and build/<function>/ are written (default: [tool.servey_faas.build] output_dir, "
    "else serverless).",
)
@click.option("--prefix", metavar="PREFIX", help="Function name prefix (default: [tool.servey_faas] function_prefix).")
@click.option(
    "--registry", metavar="PREFIX", help="Image prefix, e.g. ghcr.io/acme (default: the image is <fn>:<tag>)."
)
@click.option("--namespace", metavar="NS", help="Function namespace (default: the provider's default).")
@click.option("--gateway", metavar="URL", help="Gateway URL written to provider.gateway in stack.yml.")
@click.option(
    "--function-auth/--no-function-auth", default=None, help="Set jwt_auth=true on every function (OpenFaaS IAM)."
)
@click.option("--router/--no-router", default=None, help="Also package the API router function (default: on).")
def build(
    output_dir: Path | None,
    prefix: str | None,
    registry: str | None,
    namespace: str | None,
    gateway: str | None,
    function_auth: bool | None,
    router: bool | None,
) -> None:
    """Package every action as an OpenFaaS function: write <DIR>/stack.yml (the faas-cli stack file)
    and <DIR>/build/<function>/ for each function, the faas-cli shrinkwrap layout with its own
    Dockerfile (of-watchdog in http mode), the app's actions and a copy of servey_faas. With the
    router (default), one more function <prefix>api serves the app's REST, GraphQL and OpenAPI and
    calls each action's function through the gateway.

    Options left out come from [tool.servey_faas.build] in pyproject.toml (which also sets scale,
    limits, environment, secrets and per-function settings). The output is deterministic: the same
    app gives byte-identical files, and each image tag is the hash of its build context.

    \b
    Examples:
      servey-faas --run=build
      servey-faas --run=build --registry ghcr.io/acme --prefix shop-
      faas-cli up -f serverless/stack.yml      # from the project folder

    Exit codes: 0 written; 1 the app or an option cannot be packaged (the message names the
    action or the option); 2 a usage error.
    """
    from servey_faas.faas.packager import BuildOptions, options_from_table, read_build_table
    from servey_faas.faas.packager import build as build_functions

    settings = Settings.load()
    kwargs: dict[str, Any] = dict(options_from_table(read_build_table(settings.project_dir)))
    overrides: dict[str, Any] = {
        "output_dir": output_dir,
        "registry": registry,
        "namespace": namespace,
        "gateway": gateway,
        "function_auth": function_auth,
        "router": router,
    }
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    kwargs["prefix"] = settings.function_prefix if prefix is None else prefix
    app = load_app(settings, verify_tokens=False)
    click.echo(f"packaging {len(app.actions)} actions from {settings.action_path!r}")
    build_functions(app, BuildOptions(**kwargs), progress=click.echo)
