"""``--run=gateway``: the local OpenFaaS gateway, running deployed functions as local processes."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from servey_faas.cli._shared import CliError, RunCommand, ensure_port_free
from servey_faas.faas.gateway.retrying import QueueRetryPolicy

#: The CLI's retry defaults are the policy's own (off, as CE).
_RETRY = QueueRetryPolicy()

#: The state folder when --state-dir is not given (relative to the current folder).
DEFAULT_STATE_DIR = Path(".servey_faas") / "gateway"
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@click.command(
    "gateway",
    cls=RunCommand,
    short_help="Run a local OpenFaaS gateway that runs functions as local processes.",
)
@click.option("--host", default="127.0.0.1", show_default=True, metavar="HOST", help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8080,
    show_default=True,
    metavar="PORT",
    help="Port to listen on (the CE gateway's is 8080); 0 picks a free one.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_STATE_DIR,
    show_default=True,
    help="Where deployments, secrets, secret mounts and credentials are kept.",
)
@click.option(
    "--basic-auth/--no-basic-auth",
    default=False,
    show_default=True,
    help="Protect /system/* with basic auth; the credentials are read from basic-auth-user and "
    "basic-auth-password in the state folder, or made and printed when missing.",
)
@click.option(
    "--ready-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a function process may take to answer GET /_/ready before it is restarted.",
)
@click.option(
    "--max-inflight",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="How many async jobs run at once (CE's queue-worker runs one).",
)
@click.option(
    "--async-max-retries",
    type=click.IntRange(min=0),
    default=_RETRY.max_retries,
    show_default=True,
    metavar="N",
    help="Retry a failed async invocation up to N times, with exponential backoff (the Pro "
    "queue-worker's retries; 0: none, as CE).",
)
@click.option(
    "--async-retry-codes",
    default=",".join(str(c) for c in sorted(_RETRY.codes)),
    show_default=True,
    metavar="CODES",
    help="Comma-separated HTTP statuses of a function that are retried (gateway errors always are).",
)
@click.option(
    "--async-retry-min-wait",
    type=click.FloatRange(min=0),
    default=_RETRY.min_wait,
    show_default=True,
    metavar="SECONDS",
    help="The wait before the first retry; it doubles for each next one.",
)
@click.option(
    "--async-retry-max-wait",
    type=click.FloatRange(min=0),
    default=_RETRY.max_wait,
    show_default=True,
    metavar="SECONDS",
    help="The longest wait between two attempts.",
)
@click.option(
    "--log-level",
    type=click.Choice(_LOG_LEVELS, case_sensitive=False),
    default="info",
    show_default=True,
    metavar="LEVEL",
    help=f"Uvicorn's log level: {', '.join(_LOG_LEVELS)}.",
)
def gateway(
    host: str,
    port: int,
    state_dir: Path,
    basic_auth: bool,
    ready_timeout: float,
    max_inflight: int,
    async_max_retries: int,
    async_retry_codes: str,
    async_retry_min_wait: float,
    async_retry_max_wait: float,
    log_level: str,
) -> None:
    """Serve the OpenFaaS gateway REST API on HOST:PORT and run each deployed function from its
    build context as local processes (a development and test tool, not a production engine).

    Deploy to it with --run=deploy --builder local, which sends each function's build context as
    a file:// image. Each replica runs the function's envProcess (python index.py) with this
    gateway's Python interpreter when the build context's requirements are installed here, else
    in a virtual environment made from them (once, kept under the state folder's envs/).
    Deployments are kept in the state folder and started again when the gateway restarts; every
    function process is stopped when the gateway stops. Async calls (POST /async-function/NAME)
    are queued in the state folder (SQLite), so accepted work survives a restart, and their
    results are POSTed to X-Callback-Url; --async-max-retries retries the failed ones with
    exponential backoff, as the Pro queue-worker does. Functions annotated topic=cron-function are invoked on
    their schedule annotation, as the cron-connector does. A function whose OPENFAAS_URL is the
    in-cluster gateway (http://gateway.openfaas:8080, the packager's default) or unset gets this
    gateway's URL instead, so the API router reaches the action functions.

    \b
    Examples:
      servey-faas --run=gateway
      servey-faas --run=gateway --port 8081 --state-dir /tmp/gw --basic-auth
      servey-faas --run=deploy --builder local --gateway http://127.0.0.1:8080

    Ctrl-C or SIGTERM stops the function processes, then the gateway (uvicorn then ends the
    process by the same signal). Exit codes: 1 the state folder could not be used; 3 the port
    could not be bound.
    """
    import uvicorn

    from servey_faas.faas.gateway import Gateway, GatewayConfig
    from servey_faas.faas.gateway.credentials import PASSWORD_FILE, load_or_create
    from servey_faas.faas.gateway.environment import reachable_url
    from servey_faas.faas.gateway.processes import free_port
    from servey_faas.faas.gateway.retrying import QueueRetryPolicy

    try:
        codes = frozenset(int(code) for code in async_retry_codes.split(",") if code.strip())
        retry = QueueRetryPolicy(async_max_retries, codes, async_retry_min_wait, async_retry_max_wait)
    except ValueError as e:
        raise click.BadParameter(f"bad retry settings: {e}", param_hint="--async-retry-*") from e

    state_dir = state_dir.resolve()
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        credentials = None
        if basic_auth:
            credentials, created = load_or_create(state_dir)
    except (OSError, ValueError) as e:
        raise CliError(f"cannot use the state folder {state_dir}: {e}") from e
    if port == 0:
        port = free_port(host)
    else:
        ensure_port_free(host, port, "give --port", exit_code=3)
    url = f"http://{host}:{port}"
    click.echo(f"INFO:     Local OpenFaaS gateway at {url} (state: {state_dir})", err=True)
    if credentials is not None:
        where = state_dir / PASSWORD_FILE
        if created:
            click.echo(
                f"INFO:     Basic auth on /system/*: user {credentials.user}, password {credentials.password}"
                f" (saved in {where})",
                err=True,
            )
        else:
            click.echo(f"INFO:     Basic auth on /system/*: user {credentials.user}, password in {where}", err=True)
        click.echo(
            f"INFO:     Log in with: servey-faas --run=login -g {url} -u {credentials.user} "
            f"--password-file {where}  (or faas-cli login -g {url} -u {credentials.user} "
            f"--password-stdin < {where})",
            err=True,
        )
    local_url = reachable_url(host, port)  # functions' in-cluster OPENFAAS_URL points here
    local = Gateway(
        GatewayConfig(
            state_dir,
            credentials,
            ready_timeout=ready_timeout,
            max_inflight=max_inflight,
            local_url=local_url,
            retry=retry,
        )
    )
    level = log_level.lower()
    try:
        uvicorn.run(local.app, host=host, port=port, log_level=level, lifespan="on", timeout_graceful_shutdown=5)
    finally:
        local.kill_all()
    logging.getLogger(__name__).debug("gateway stopped")
