"""``--run=build``: write ``serverless/stack.yml`` and one build context per function."""

from __future__ import annotations

import os
from pathlib import Path

import click

from servey_faas.cli._options import packaging_options
from servey_faas.cli._shared import RunCommand, load_app
from servey_faas.cli.deploy import build_options, warn_unshipped_settings
from servey_faas.settings import Settings


@click.command(
    "build",
    cls=RunCommand,
    short_help="Write stack.yml and a build context per function (faas-cli shrinkwrap layout).",
)
@packaging_options
@click.option("--gateway", "-g", metavar="URL", help="Gateway URL written to provider.gateway in stack.yml.")
def build(
    output_dir: Path | None,
    prefix: str | None,
    registry: str | None,
    namespace: str | None,
    gateway: str | None,
    function_auth: bool | None,
    router: bool | None,
    router_gateway: str | None,
) -> None:
    """Package every action as an OpenFaaS function: write <DIR>/stack.yml (the faas-cli stack file)
    and <DIR>/build/<function>/ for each function, the faas-cli shrinkwrap layout with its own
    Dockerfile (of-watchdog in http mode), the app's actions and a copy of servey_faas. With the
    router (default), one more function <prefix>api serves the app's REST, GraphQL and OpenAPI and
    calls each action's function through the gateway.

    Options left out come from [tool.servey_faas.build] in pyproject.toml (which also sets scale,
    limits, environment, secrets and per-function settings). Functions that verify end users'
    bearer tokens list the OpenFaaS secret holding the JWT key (jwt_secret, default
    <prefix>jwt-secret-key; jwt_key = "public" for a PEM public key) and read it from its file:
    stack.yml never holds key material, and no JWT setting is needed to build.

    The output is deterministic: the same app gives byte-identical files, and each image tag is
    the hash of its build context.

    \b
    Examples:
      servey-faas --run=build
      servey-faas --run=build --registry ghcr.io/acme --prefix shop-
      faas-cli up -f serverless/stack.yml      # from the project folder

    Exit codes: 0 written; 1 the app or an option cannot be packaged (the message names the
    action or the option); 2 a usage error.
    """
    from servey_faas.faas.deploy.packager import build as build_functions

    settings = Settings.load()
    options = build_options(
        settings,
        os.environ,
        output_dir=output_dir,
        registry=registry,
        namespace=namespace,
        gateway=gateway,
        function_auth=function_auth,
        router=router,
        prefix=prefix,
        router_gateway=router_gateway,
    )
    app = load_app(settings, verify_tokens=False)
    click.echo(f"packaging {len(app.actions)} actions from {settings.action_path!r}")
    result = build_functions(app, options, progress=click.echo)
    warn_unshipped_settings(options, result, os.environ)
