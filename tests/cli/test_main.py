"""The ``--run=`` dispatch, help texts and usage errors of servey_faas.cli.main."""

from __future__ import annotations

import click
import pytest

from servey_faas import __version__
from servey_faas.cli import RUNS, main
from servey_faas.cli._shared import RunCommand
from servey_faas.cli.main import RunGroup, cli

from .support import invoke

#: Options each run documents in its own --help.
RUN_OPTIONS = {
    "server": ["--host HOST", "--port PORT", "--reload", "--log-level LEVEL", "SERVER_HOST", "SERVER_PORT"],
    "action": ["--action NAME", "--event JSON", "@FILE", "SERVEY_DEBUG"],
    "openapi": ["-o, --output FILE"],
}


def runs_section(help_text: str) -> list[str]:
    """The run names listed under "Runs:" in a help text."""
    lines = help_text.split("Runs:\n", 1)[1].splitlines()
    names = []
    for line in lines:
        if not line.strip():
            break
        if line.startswith("  ") and not line.startswith("   "):
            names.append(line.split()[0])
    return names


#: The runs of the fixed command line, plus the Celery runs and login (credentials without faas-cli).
DESIGNED_RUNS = (
    "server", "action", "openapi", "graphql-schema", "celery-worker", "celery-beat",
    "build", "deploy", "invoke", "remove", "gateway", "login",
)  # fmt: skip


def test_the_runs_are_designed_ones_and_server_comes_first() -> None:
    assert set(RUNS) <= set(DESIGNED_RUNS)
    assert list(RUNS)[:3] == ["server", "action", "openapi"]


def _choices() -> str:
    return ", ".join(repr(name) for name in RUNS)


@pytest.mark.parametrize("name", list(RUNS))
def test_every_run_resolves_to_its_run_command(name: str) -> None:
    assert isinstance(cli, RunGroup)
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, RunCommand)
    assert command.name == name


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_runs_with_descriptions_and_global_options(flag: str) -> None:
    result = invoke(flag)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("Usage: servey-faas [--run=RUN] [OPTIONS]\n")
    assert runs_section(text) == list(RUNS)
    words = " ".join(text.split())  # descriptions wrap with the width of the longest run name
    assert "server Serve the actions over HTTP for development (the default run)." in words
    assert "action Run one action in-process and print its JSON result." in words
    assert "openapi Write the OpenAPI document of the app (JSON)." in words
    for option in ("--run RUN", "[default: server]", "--version", "-h, --help"):
        assert option in text
    assert "SERVEY_ACTION_PATH" in text
    assert "SERVEY_DEBUG=1" in text
    for missing in set(DESIGNED_RUNS) - set(RUNS):  # runs not built yet are not advertised
        assert f"  {missing} " not in text


@pytest.mark.parametrize("name", list(RUNS))
@pytest.mark.parametrize("order", ["run-first", "help-first"])
def test_each_run_has_its_own_help(name: str, order: str) -> None:
    args = [f"--run={name}", "--help"] if order == "run-first" else ["--help", f"--run={name}"]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: servey-faas --run={name} [OPTIONS]\n")
    assert "Runs:" not in result.stdout
    for option in RUN_OPTIONS.get(name, ()):
        assert option in result.stdout
    assert "Environment:" in result.stdout


def test_run_accepts_a_separate_value() -> None:
    result = invoke("--run", "openapi", "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: servey-faas --run=openapi [OPTIONS]\n")


def test_options_without_run_go_to_the_default_server_run() -> None:
    result = invoke("--port", "8000", "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: servey-faas --run=server [OPTIONS]\n")


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout == f"servey_faas {__version__}\n"


def assert_usage_error(result: click.testing.Result, *messages: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    for message in messages:
        assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_unknown_run_is_a_usage_error_naming_the_valid_runs() -> None:
    result = invoke("--run=bogus")
    assert_usage_error(
        result,
        "Usage: servey-faas [--run=RUN] [OPTIONS]",
        f"Error: Invalid value for '--run': 'bogus' is not one of {_choices()}.",
    )


def test_run_without_a_value_is_a_usage_error() -> None:
    assert_usage_error(invoke("--run"), "Error: Option '--run' requires an argument.")


def test_run_given_twice_is_a_usage_error() -> None:
    assert_usage_error(
        invoke("--run=action", "--run", "openapi"), "Error: --run is given twice ('action' and 'openapi')"
    )


def test_unknown_option_of_the_default_run_is_a_usage_error() -> None:
    assert_usage_error(
        invoke("--bogus"),
        "Usage: servey-faas --run=server [OPTIONS]",
        "Try 'servey-faas --run=server --help' for help.",
        "Error: No such option '--bogus'",
    )


def test_unknown_option_of_a_run_is_a_usage_error() -> None:
    assert_usage_error(
        invoke("--run=openapi", "--action=x"),
        "Usage: servey-faas --run=openapi [OPTIONS]",
        "Error: No such option '--action'",
    )


def test_global_options_are_not_options_of_a_run() -> None:
    assert_usage_error(invoke("--run=openapi", "--version"), "Error: No such option '--version'")


def test_an_argument_after_double_dash_is_not_read_as_run() -> None:
    assert_usage_error(invoke("--run=openapi", "--", "--run=action"), "Got unexpected extra argument (--run=action)")


def test_main_exits_with_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"servey_faas {__version__}\n"
    with pytest.raises(SystemExit) as exited:
        main(["--run=nope"])
    assert exited.value.code == 2


def test_a_default_run_outside_the_runs_is_refused() -> None:
    with pytest.raises(ValueError, match="default run 'nope'"):
        RunGroup("x", runs=RUNS, default_run="nope")
