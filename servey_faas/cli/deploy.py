"""``--run=deploy``: package the app, plan against the gateway, build the images, deploy, prune.

Also what ``--run=remove`` and ``--run=invoke`` share with it: the gateway URL (faas-cli's
precedence, ``docs/openfaas.md#stack-file-fields``), the gateway client, the function prefix and namespace.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from servey_faas.cli._options import GATEWAY_ENVIRONMENT, gateway_option, packaging_options
from servey_faas.cli._shared import RunCommand, load_app
from servey_faas.errors import ConfigurationError
from servey_faas.settings import Settings

if TYPE_CHECKING:
    from servey_faas.faas import GatewayClient
    from servey_faas.faas.deploy.builders import Builder
    from servey_faas.faas.deploy.packager import BuildOptions, BuildResult

_SOURCES_HELP = (
    "Value of a secret the functions name and the gateway lacks: NAME=env:VARIABLE or NAME=file:PATH "
    "(repeatable). Without it, SERVEY_FAAS_SECRET_<NAME> is read (api-key: SERVEY_FAAS_SECRET_API_KEY). "
    "Values are never printed; existing secrets are left as they are."
)


def build_options(settings: Settings, environ: Mapping[str, str], **overrides: Any) -> BuildOptions:
    """The :class:`~servey_faas.faas.deploy.packager.BuildOptions` of ``--run=build`` and ``--run=deploy``:
    ``[tool.servey_faas.build]``, with the command-line ``overrides`` that are not None on top;
    ``prefix`` defaults to ``[tool.servey_faas] function_prefix``; ``jwt_key`` to the kind of the
    key configured in ``environ`` (``JWT_PUBLIC_KEY[_FILE]``: public), else ``secret``.

    :raises BuildError: for an unknown key or a value of the wrong type in the table.
    """
    from servey_faas.faas.deploy.keys import configured_kind
    from servey_faas.faas.deploy.packager import BuildOptions

    kwargs: dict[str, Any] = {**build_table(settings), **{k: v for k, v in overrides.items() if v is not None}}
    kwargs.setdefault("prefix", settings.function_prefix)
    kwargs.setdefault("jwt_key", configured_kind(environ) or "secret")
    return BuildOptions(**kwargs)


def warn_unshipped_settings(options: BuildOptions, result: BuildResult, environ: Mapping[str, str]) -> None:
    """Warn (stderr) about plain JWT settings set here that the functions verifying tokens lack."""
    from servey_faas.faas.deploy.keys import unshipped_settings

    key_secret = options.key_secret.name
    readers = [f.deployment.env_vars for f in result.functions if key_secret in f.deployment.secrets]
    for name in unshipped_settings(environ, readers):
        click.echo(
            f"warning: {name} is set here but not in the environment of the functions that verify tokens, so "
            f"they will not apply it: add it to [tool.servey_faas.build] environment",
            err=True,
        )


def build_table(settings: Settings) -> dict[str, Any]:
    """The ``[tool.servey_faas.build]`` table as :class:`~servey_faas.faas.deploy.packager.BuildOptions`
    keyword arguments (the packager reads it the same way for ``--run=build``).

    :raises BuildError: for an unknown key or a value of the wrong type.
    """
    from servey_faas.faas.deploy.packager import options_from_table, read_build_table

    return options_from_table(read_build_table(settings.project_dir))


def stack_file_of(settings: Settings, table: dict[str, Any]) -> Path:
    """Where ``--run=build`` writes the stack file: ``<output_dir>/stack.yml``, ``output_dir``
    from ``[tool.servey_faas.build]``, else ``serverless`` (relative to the project folder)."""
    output = settings.project_dir / Path(table.get("output_dir") or "serverless")  # an absolute one stays
    return output / "stack.yml"


def gateway_client(gateway: str | None, stack_file: Path | None) -> GatewayClient:
    """A client for the gateway of ``--gateway``, the stack file, ``OPENFAAS_URL`` or the default
    (``docs/openfaas.md#stack-file-fields``), with the credentials ``faas-cli login`` saved for it."""
    from servey_faas.faas import GatewayClient
    from servey_faas.faas.deploy.planner import resolve_gateway_url

    return GatewayClient(resolve_gateway_url(gateway, stack_file))


def make_builder(
    name: str, *, platform: str | None, remote_builder: str | None, payload_secret: Path | None, project_dir: Path
) -> Builder:
    """The builder called ``name`` (``--builder``); faas-cli runs in ``project_dir``.

    :raises click.UsageError: when ``remote`` lacks ``--remote-builder`` or ``--payload-secret``,
        or ``local`` is given a platform.
    :raises ConfigurationError: when the payload secret file cannot be read.
    """
    from servey_faas.faas.deploy.builders import DockerBuilder, FaasCliBuilder, LocalBuilder, RemoteBuilder
    from servey_faas.faas.deploy.builders.remote import read_payload_secret

    if name != "remote" and (remote_builder or payload_secret):
        raise click.UsageError("--remote-builder and --payload-secret go with --builder=remote")
    if name == "docker":
        return DockerBuilder(platform=platform)
    if name == "faas-cli":
        return FaasCliBuilder(platform=platform, project_dir=project_dir)
    if name == "local":
        if platform:
            raise click.UsageError("--builder=local builds no image, so --platform does not apply")
        return LocalBuilder()
    if not remote_builder or payload_secret is None:
        raise click.UsageError(
            "--builder=remote needs --remote-builder URL (the Function Builder API) and --payload-secret FILE "
            "(its HMAC key)"
        )
    platforms = tuple(p.strip() for p in (platform or "").split(",") if p.strip())
    return RemoteBuilder(remote_builder, read_payload_secret(payload_secret), platforms=platforms)


def app_id_of(given: str | None, settings: Settings, prefix: str, build: BuildResult | None = None) -> str:
    """``--app-id``; else the ``com.servey-faas.app`` label the packager gave every function;
    else :func:`~servey_faas.faas.deploy.planner.default_app_id` (prefix + project name)."""
    from servey_faas.faas.deploy.planner import APP_LABEL, check_app_id, default_app_id

    if given:
        return check_app_id(given)
    if build is not None:
        labels = {(f.deployment.labels or {}).get(APP_LABEL) for f in build.functions}
        if len(labels) == 1 and None not in labels:
            return check_app_id(str(labels.pop()))
    return default_app_id(settings.project_dir, prefix)


@click.command(
    "deploy",
    cls=RunCommand,
    short_help="Build the app's functions and deploy them to an OpenFaaS gateway.",
    environment=(
        *GATEWAY_ENVIRONMENT,
        ("SERVEY_FAAS_SECRET_<NAME>", "Value of the secret NAME to create when --secret does not give one."),
        ("JWT_SECRET_KEY[_FILE]", "The end users' HS256 key: written to the functions' JWT key secret."),
        ("JWT_PUBLIC_KEY[_FILE]", 'Or their PEM public key (jwt_key = "public" is then inferred).'),
    ),
)
@gateway_option
@click.option(
    "--builder",
    type=click.Choice(["docker", "faas-cli", "remote", "local"]),
    default="docker",
    show_default=True,
    help="How images are made: docker build+push, faas-cli build+push, the remote Function Builder API, "
    "or local (no image: for the local gateway, --run=gateway).",
)
@packaging_options
@click.option("--platform", metavar="PLATFORMS", help="Target platform(s), e.g. linux/amd64,linux/arm64.")
@click.option("--remote-builder", metavar="URL", help="Function Builder API URL (--builder=remote).")
@click.option(
    "--payload-secret",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="File holding the Function Builder's HMAC key (--builder=remote).",
)
@click.option("--secret", "secrets", multiple=True, metavar="NAME=SOURCE", help=_SOURCES_HELP)
@click.option(
    "--app-id",
    metavar="ID",
    help="Label value com.servey-faas.app that marks this app's functions (default: prefix + project name).",
)
@click.option("--prune", is_flag=True, help="Remove functions this app deployed before and no longer declares.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print the plan and stop: no image is built and the gateway is not changed (build contexts are written).",
)
@click.option(
    "--wait-timeout",
    type=click.FloatRange(min=0),
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for each deployed function to report an available replica (0: do not wait).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output (errors still go to stderr).")
@click.option("--verbose", "-v", is_flag=True, help="Show build output too.")
def deploy(
    gateway: str | None,
    builder: str,
    registry: str | None,
    prefix: str | None,
    namespace: str | None,
    output_dir: Path | None,
    platform: str | None,
    remote_builder: str | None,
    payload_secret: Path | None,
    secrets: tuple[str, ...],
    function_auth: bool | None,
    router: bool | None,
    router_gateway: str | None,
    app_id: str | None,
    prune: bool,
    dry_run: bool,
    wait_timeout: float,
    quiet: bool,
    verbose: bool,
) -> None:
    """Package the app (as --run=build does), compare its functions with what the gateway runs,
    and apply the difference: create the missing secrets, build and push the images of new or
    changed functions, deploy them (PUT, then POST when the gateway answers 404, as faas-cli
    does), wait until each reports an available replica, and with --prune remove the functions
    this app deployed before and no longer declares. Unchanged functions are neither rebuilt nor
    redeployed.

    Functions that verify end users' bearer tokens read the JWT key from an OpenFaaS secret
    (jwt_secret in [tool.servey_faas.build], default <prefix>jwt-secret-key): with JWT_SECRET_KEY
    (or JWT_SECRET_KEY_FILE, or the JWT_PUBLIC_KEY pair) set here, the deploy creates or updates
    that secret; without it, the secret must exist on the gateway already.

    Progress goes to stdout: one line per step, or a live display on a terminal. If a step fails,
    the error says which functions were applied and which were not. --dry-run works offline: with
    no registry or no reachable gateway it prints the plan against an empty gateway and says so.

    \b
    Examples:
      servey-faas --run=deploy --registry ghcr.io/acme --gateway http://127.0.0.1:8080
      servey-faas --run=deploy --dry-run
      servey-faas --run=deploy --registry ghcr.io/acme --secret api-key=env:API_KEY --prune

    Gateway credentials are those `faas-cli login` or --run=login saved. Exit codes: 0 deployed
    (or planned); 1 a build, the gateway or a step failed; 2 a usage error.
    """
    from servey_faas.faas.deploy.executor import Executor, PlanPrinter, make_reporter
    from servey_faas.faas.deploy.keys import VALUE_VARIABLES, key_source
    from servey_faas.faas.deploy.packager import build
    from servey_faas.faas.deploy.planner import SecretSource, missing_registry, parse_secret_option, plan_deploy

    sources: dict[str, SecretSource] = {}
    for text in secrets:
        try:
            name, source = parse_secret_option(text)
        except ConfigurationError as e:
            raise click.BadParameter(str(e), param_hint="--secret") from e
        sources[name] = source
    environ = os.environ
    settings = Settings.load(environ)
    image_builder = make_builder(
        builder,
        platform=platform,
        remote_builder=remote_builder,
        payload_secret=payload_secret,
        project_dir=settings.project_dir,
    )
    options = build_options(
        settings,
        environ,
        output_dir=output_dir,
        registry=registry,
        namespace=namespace,
        gateway=gateway,
        function_auth=function_auth,
        router=router,
        prefix=prefix,
        router_gateway=router_gateway,
    )
    if image_builder.pushes and not options.registry and not dry_run:
        raise missing_registry(image_builder.name)  # before anything is written
    jwt_source = key_source(environ, options.jwt_key)
    app = load_app(settings, verify_tokens=False)
    # build writes options.gateway as provider.gateway: resolve the URL as faas-cli will read the new stack file
    with gateway_client(options.gateway, None) as client:
        if options.router and not _router_gateway_given(settings, router_gateway) and _is_local_gateway(client):
            options = dataclasses.replace(options, router_gateway=client.gateway_url)
        result = build(app, options)
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        warn_unshipped_settings(options, result, environ)
        key_secret = options.key_secret
        update: set[str] = set()
        if jwt_source is not None and any(key_secret.name in f.deployment.secrets for f in result.functions):
            sources[key_secret.name] = jwt_source
            update.add(key_secret.name)
        variable = VALUE_VARIABLES[key_secret.kind]
        hints = {
            key_secret.name: f"the JWT key the functions verify bearer tokens with: set {variable} or {variable}_FILE "
            f"when deploying, or create it first: {key_secret.create_command(options.namespace or '')}"
        }
        plan = plan_deploy(
            result,
            client,
            image_builder,
            app_id=app_id_of(app_id, settings, options.prefix, result),
            prune=prune,
            secret_sources=sources,
            update_secrets=update,
            secret_hints=hints,
            environ=environ,
            wait_timeout=wait_timeout,
            offline=dry_run,
        )
        if dry_run:
            PlanPrinter(sys.stdout).execute(plan)
            return
        Executor(client, make_reporter(sys.stdout, quiet=quiet, verbose=verbose), builder=image_builder).execute(plan)


def _router_gateway_given(settings: Settings, flag: str | None) -> bool:
    return flag is not None or "router_gateway" in build_table(settings)


def _is_local_gateway(client: GatewayClient) -> bool:
    """True when ``client`` talks to servey_faas's local gateway (``--run=gateway``); False when it
    is another provider or cannot tell (unreachable, credentials missing: the plan says so later)."""
    from servey_faas.errors import GatewayError
    from servey_faas.faas.gateway.local import PROVIDER_NAME

    try:
        info = client.info()
    except GatewayError:
        return False
    return info.provider is not None and info.provider.provider == PROVIDER_NAME
