"""``--run=action``: run one action in-process and print its JSON result."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from servey_faas.cli._shared import CliError, RunCommand, debug_enabled, echo_traceback, load_app
from servey_faas.errors import BadRequestError, ServeyFaasError, ValidationError
from servey_faas.settings import Settings

_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}


@click.command(
    "action",
    cls=RunCommand,
    short_help="Run one action in-process and print its JSON result.",
)
@click.option("--action", "action_name", required=True, metavar="NAME", help="The action to run ('-' reads as '_').")
@click.option(
    "--event",
    default="{}",
    show_default=True,
    metavar="JSON",
    help="The params as a JSON object; @FILE reads them from FILE, - from stdin.",
)
def run_action(action_name: str, event: str) -> None:
    """Run one action in-process, through the same invocation path as REST (validation,
    unmarshalling, marshalling), and print its JSON result on stdout. Async actions are awaited.

    \b
    Examples:
      servey-faas --run=action --action=say_hello --event='{"name": "World"}'
      servey-faas --run=action --action=say-hello --event=@params.json

    Exit codes: 0 done; 1 the action raised (Error: action 'NAME' raised TYPE: message; the
    traceback too with SERVEY_DEBUG=1); 2 bad --event, invalid params or an unknown action.
    """
    params = read_event(event)
    app = load_app(Settings.load(), verify_tokens=False)
    invoker = app.invoker(action_name)
    try:
        result = invoker.invoke_sync(params)
    except ValidationError as e:
        fields = "".join(f"\n  {'.'.join(map(str, f.location)) or '(params)'}: {f.message}" for f in e.errors)
        raise CliError(f"invalid params for action {invoker.name!r}:{fields}", exit_code=e.exit_code) from e
    except ServeyFaasError:
        raise
    except Exception as e:
        if debug_enabled():
            echo_traceback(e)
        detail = f": {e}" if str(e) else ""
        raise CliError(f"action {invoker.name!r} raised {type(e).__name__}{detail}", exit_code=1) from e
    try:
        text = json.dumps(result, ensure_ascii=False, allow_nan=False)
    except ValueError as e:
        raise CliError(f"action {invoker.name!r} returned a value with no JSON form: {e}", exit_code=1) from e
    click.echo(text)


def read_event(event: str) -> dict[str, Any]:
    """The params of ``--event``: JSON text, ``@FILE`` (a UTF-8 file) or ``-`` (stdin).

    :raises BadRequestError: (exit code 2) when the file cannot be read, the text is not JSON,
        or the JSON is not an object.
    """
    if event == "-":
        label, text = "--event from stdin", sys.stdin.read()
    elif event.startswith("@"):
        path = Path(event[1:])
        label = f"--event file {path}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise BadRequestError(f"cannot read --event file {path}: {reason}") from e
    else:
        label, text = "--event", event
    try:
        params = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadRequestError(f"{label} is not valid JSON: {e}") from e
    if not isinstance(params, dict):
        kind = "null" if params is None else _JSON_KINDS.get(type(params), type(params).__name__)
        raise BadRequestError(f"{label} must be a JSON object of params, not {kind}")
    return params
