"""The options the deploy-side runs share, as click decorators (one definition each), and the
environment rows of their help."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

#: The environment rows of the deploy-side runs' help.
GATEWAY_ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("OPENFAAS_URL", "Gateway URL when neither --gateway nor provider.gateway in the stack file gives one."),
    ("OPENFAAS_CONFIG", "Folder of the config.yml where `faas-cli login` saved the gateway credentials."),
)

gateway_option = click.option(
    "--gateway",
    "-g",
    metavar="URL",
    help="Gateway URL (default: provider.gateway of the stack file, then OPENFAAS_URL, then http://127.0.0.1:8080).",
)
prefix_option = click.option(
    "--prefix", metavar="PREFIX", help="Function name prefix (default: [tool.servey_faas] function_prefix)."
)
namespace_option = click.option(
    "--namespace",
    metavar="NS",
    help="Function namespace (default: [tool.servey_faas.build] namespace, else the provider's default).",
)
_PACKAGING = (
    click.option(
        "--output-dir",
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        help="Where stack.yml and build/<function>/ are written (default: [tool.servey_faas.build] output_dir, "
        "else serverless).",
    ),
    prefix_option,
    click.option(
        "--registry",
        metavar="PREFIX",
        help="Image prefix, e.g. ghcr.io/acme (needed by every builder but local; default: the image is <fn>:<tag>).",
    ),
    namespace_option,
    click.option(
        "--function-auth/--no-function-auth", default=None, help="Set jwt_auth=true on every function (OpenFaaS IAM)."
    ),
    click.option("--router/--no-router", default=None, help="Also package the API router function (default: on)."),
    click.option(
        "--router-gateway",
        metavar="URL",
        help="Gateway URL the api router calls the action functions through (default: [tool.servey_faas.build] "
        "router_gateway, else the in-cluster http://gateway.openfaas:8080; the local gateway's own URL when "
        "--run=deploy deploys to it).",
    ),
)


def packaging_options(function: F) -> F:
    """The options of how the app is packaged, shared by ``--run=build`` and ``--run=deploy``:
    ``--output-dir``, ``--prefix``, ``--registry``, ``--namespace``, ``--function-auth``,
    ``--router``, ``--router-gateway`` (each overrides ``[tool.servey_faas.build]``)."""
    for option in reversed(_PACKAGING):
        function = option(function)
    return function
