"""``--run=login``: save a gateway's basic-auth credentials where ``faas-cli login`` saves them."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from servey_faas.cli._options import GATEWAY_ENVIRONMENT, gateway_option
from servey_faas.cli._shared import CliError, RunCommand


@click.command(
    "login",
    cls=RunCommand,
    short_help="Save a gateway's credentials for the deploy-side runs (as faas-cli login).",
    environment=GATEWAY_ENVIRONMENT,
)
@gateway_option
@click.option("--username", "-u", default="admin", show_default=True, metavar="USER", help="The gateway's user.")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin (e.g. < basic-auth-password).")
@click.option(
    "--password-file",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Read the password from FILE (the local gateway prints where its password file is).",
)
def login(gateway: str | None, username: str, password_stdin: bool, password_file: Path | None) -> None:
    """Check the gateway's basic-auth credentials (GET /system/info) and save them in faas-cli's
    config file ($OPENFAAS_CONFIG/config.yml, else ~/.openfaas/config.yml), where --run=deploy,
    --run=invoke, --run=remove, GatewayClient and faas-cli itself find them. No faas-cli needed.

    The password never goes on the command line: give it on stdin or in a file.

    \b
    Examples:
      servey-faas --run=login --gateway http://127.0.0.1:8080 --password-file .servey_faas/gateway/basic-auth-password
      echo "$PASSWORD" | servey-faas --run=login -u admin --password-stdin

    Exit codes: 0 saved; 1 the gateway refused the credentials or cannot be reached; 2 a usage error.
    """
    from servey_faas.faas import BasicAuth, GatewayClient, GatewayConnectionError, GatewayUnauthorizedError
    from servey_faas.faas.client import save_basic_auth
    from servey_faas.faas.deploy.planner import resolve_gateway_url

    if password_stdin == (password_file is not None):
        raise click.UsageError("give the password with exactly one of --password-stdin or --password-file")
    if password_file is not None:
        try:
            password = password_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise CliError(f"cannot read the password file {password_file}: {e}") from e
    else:
        password = sys.stdin.read().strip()
    if not password:
        raise click.UsageError("the password is empty")
    url = resolve_gateway_url(gateway, None)
    with GatewayClient(url, BasicAuth(username, password)) as client:
        try:
            client.info()
        except GatewayUnauthorizedError as e:
            raise CliError(f"the gateway at {url} refused user {username!r} with this password (401)") from e
        except GatewayConnectionError as e:
            raise CliError(f"cannot reach the gateway at {url}: {e} (is it running? give --gateway)") from e
    saved = save_basic_auth(url, username, password)
    click.echo(f"credentials for {url} saved in {saved}")
