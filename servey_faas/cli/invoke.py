"""``--run=invoke``: call an action's deployed function through the gateway."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from servey_faas.cli._options import GATEWAY_ENVIRONMENT, gateway_option, namespace_option, prefix_option
from servey_faas.cli._shared import CliError, RunCommand, load_app
from servey_faas.cli.action import read_event
from servey_faas.cli.deploy import (
    build_table,
    gateway_client,
    stack_file_of,
)
from servey_faas.naming import function_name
from servey_faas.settings import Settings

if TYPE_CHECKING:
    from servey_faas.faas import FunctionError


@click.command(
    "invoke",
    cls=RunCommand,
    short_help="Call an action's deployed function through the gateway.",
    environment=(*GATEWAY_ENVIRONMENT, ("SERVEY_TOKEN", "An end user's bearer token, when --token is not given.")),
)
@click.option("--action", "action_name", required=True, metavar="NAME", help="The action to call ('-' reads as '_').")
@click.option(
    "--event",
    default="{}",
    show_default=True,
    metavar="JSON",
    help="The params as a JSON object; @FILE reads them from FILE, - from stdin.",
)
@click.option("--async", "is_async", is_flag=True, help="Queue the call (/async-function) and print its call id.")
@click.option(
    "--callback-url", metavar="URL", help="With --async: where the gateway POSTs the result (X-Callback-Url)."
)
@click.option(
    "--token",
    envvar="SERVEY_TOKEN",
    show_envvar=False,
    metavar="TOKEN",
    help="An end user's bearer token (the JWT itself): sent as Authorization: Bearer, and verified by the function "
    "as the dev server does.  [default: SERVEY_TOKEN]",
)
@gateway_option
@prefix_option
@namespace_option
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for a synchronous answer.",
)
def invoke(
    action_name: str,
    event: str,
    is_async: bool,
    callback_url: str | None,
    token: str | None,
    gateway: str | None,
    prefix: str | None,
    namespace: str | None,
    timeout: float,
) -> None:
    """Call the deployed function of an action through the gateway, with the params as its JSON
    body (POST /function/NAME.NS, ``docs/openfaas.md#synchronous-invocation``), and print its JSON result on stdout.
    With --async, queue the call (POST /async-function/NAME.NS,
    ``docs/openfaas.md#asynchronous-invocation-and-callbacks``) and print the call id; the result then goes to
    --callback-url, if given.

    Actions with an access control need an end user's token: --token (or SERVEY_TOKEN); without
    a valid one the function answers 401, with one lacking the scope 403, as the dev server does.

    \b
    Examples:
      servey-faas --run=invoke --action=say_hello --event='{"name": "World"}'
      servey-faas --run=invoke --action=my_orders --token "$TOKEN"
      servey-faas --run=invoke --action=say_hello --event=@params.json --async --callback-url http://hooks.example/done

    Exit codes: 0 done; 1 the function or the gateway failed; 2 bad --event, params the function
    rejected (400, 422) or an unknown action.
    """
    from servey_faas.faas import FunctionError, GatewayConnectionError, NotFoundError

    if callback_url and not is_async:
        raise click.UsageError("--callback-url goes with --async")
    params = read_event(event)
    settings = Settings.load()
    table = build_table(settings)
    action = load_app(settings, verify_tokens=False).invoker(action_name).action
    name = function_name(action.name, settings.function_prefix if prefix is None else prefix)
    target_namespace = namespace if namespace is not None else (table.get("namespace") or None)
    with gateway_client(gateway, stack_file_of(settings, table)) as client:
        where = f"the gateway at {client.gateway_url}"
        try:
            if is_async:
                call_id = client.invoke_async(
                    name, params, namespace=target_namespace, callback_url=callback_url, token=token or None
                )
                click.echo(call_id)
                return
            response = client.invoke(name, params, namespace=target_namespace, timeout=timeout, token=token or None)
        except FunctionError as e:
            raise _function_failed(action.name, e) from e
        except NotFoundError as e:
            # only the async route answers this (no NATS, ``docs/openfaas.md#q5-async-needs-nats``)
            raise CliError(f"{where} has no asynchronous invocation (it needs NATS): {e}") from e
        except GatewayConnectionError as e:
            raise CliError(f"cannot reach {where}: {e} (is it running? give --gateway or set OPENFAAS_URL)") from e
    try:
        result: Any = response.json()
    except ValueError:
        click.echo(response.text)
        return
    click.echo(json.dumps(result, ensure_ascii=False))


def _function_failed(action: str, error: FunctionError) -> CliError:
    """A :class:`CliError` for a non-2xx answer of the function: the field errors of a 422 (the
    function's validation, as the dev server answers it), the message of other JSON errors."""
    body: Any = None
    try:
        body = json.loads(error.body)
    except ValueError:
        pass
    if error.status_code in (401, 403) and isinstance(body, dict) and isinstance(body.get("message"), str):
        hint = " (give an end user's token with --token or SERVEY_TOKEN)" if error.status_code == 401 else ""
        return CliError(f"action {action!r} refused the call with {error.status_code}: {body['message']}{hint}")
    if error.status_code == 422 and isinstance(body, dict) and isinstance(body.get("errors"), list):
        fields = "".join(
            f"\n  {_where(item.get('location'))}: {item.get('message', '')}"
            for item in body["errors"]
            if isinstance(item, dict)
        )
        return CliError(f"invalid params for action {action!r}:{fields}", exit_code=2)
    return CliError(str(error), exit_code=2 if error.status_code in (400, 422) else 1)


def _where(location: Any) -> str:
    """A field error's location relative to the params (--event is the body: ``body`` dropped)."""
    parts = [str(p) for p in location] if isinstance(location, list) else []
    if parts[:1] == ["body"]:
        parts = parts[1:]
    return ".".join(parts) or "(params)"
