"""``servey-faas --run=build``: options, [tool.servey_faas.build], progress lines and errors."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from servey_faas.cli import cli
from servey_faas.faas.deploy.stack import load_document

from ..support import TEST_ACTIONS, write_project


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--run=build", *args], prog_name="servey-faas")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A project folder (the current folder) whose pyproject names a fresh actions package."""
    package = f"svf_cli_build_{uuid.uuid4().hex[:8]}"
    write_project(tmp_path, package, TEST_ACTIONS)
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.servey_faas]\nactions = "{package}"\nfunction_prefix = "shop-"\n\n'
        '[tool.servey_faas.build]\nregistry = "ghcr.io/acme"\nscale_max = 3\n',
        encoding="utf-8",
    )
    for name in ("SERVEY_ACTION_PATH", "SERVEY_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield package
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]


def test_build_writes_the_stack_file_and_contexts(project: str, tmp_path: Path) -> None:
    result = run()
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"packaging 8 actions from {project!r}"
    assert lines[-1] == "wrote serverless/stack.yml (9 functions)"
    assert any(line.startswith("built shop-greet (action greet): serverless/build/shop-greet [") for line in lines)
    assert any(line.startswith("built shop-api (the API router): serverless/build/shop-api [") for line in lines)
    document = load_document((tmp_path / "serverless" / "stack.yml").read_text())
    greet = document["functions"]["shop-greet"]
    assert greet["image"].startswith("ghcr.io/acme/shop-greet:")  # registry from [tool.servey_faas.build]
    assert greet["labels"] == {"com.openfaas.scale.max": "3"}
    assert greet["handler"] == "./serverless/build/shop-greet"
    assert (tmp_path / "serverless" / "build" / "shop-greet" / "Dockerfile").is_file()


def test_options_override_the_pyproject(project: str, tmp_path: Path) -> None:
    result = run(
        "--output-dir", "out", "--prefix", "", "--registry", "registry.test/team", "--namespace", "staging",
        "--gateway", "http://gw.test:8080", "--function-auth", "--no-router",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = load_document((tmp_path / "out" / "stack.yml").read_text())
    assert "api" not in document["functions"] and "shop-greet" not in document["functions"]
    greet = document["functions"]["greet"]
    assert greet["image"].startswith("registry.test/team/greet:")
    assert greet["namespace"] == "staging"
    assert greet["environment"]["jwt_auth"] == "true"
    assert document["provider"] == {"name": "openfaas", "gateway": "http://gw.test:8080"}
    # scheduled actions behind jwt_auth (``docs/openfaas.md#discovery-invocation-and-auth``)
    assert result.output.count("warning: action ") == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--registry", "Not A Registry"], "Error: registry 'Not A Registry' is not an image prefix"),
        (["--prefix", "Shop_"], "Error: function name 'Shop_greet' (from action 'greet') is not a DNS-1123 label"),
        (["--namespace", "NS"], "Error: namespace 'NS' is not a DNS-1123 label"),
    ],
)
def test_bad_input_is_an_error_naming_it(project: str, tmp_path: Path, args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "serverless").exists()


def test_bad_schedules_name_the_action(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = f"svf_cli_bad_{uuid.uuid4().hex[:8]}"
    write_project(
        tmp_path,
        package,
        "from servey_faas import CronTrigger, action\n\n\n"
        "@action(triggers=(CronTrigger('0 0 31 2 7'),))\ndef never() -> int:\n    return 0\n",
    )
    monkeypatch.setenv("SERVEY_ACTION_PATH", package)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    result = run()
    assert result.exit_code == 1
    # refused where it is written, naming the user's line
    assert result.output == (
        f"Error: cannot import actions module {package!r}: ScheduleError: schedule '0 0 31 2 7': day-of-week '7': "
        f"out of range 0-6 at {tmp_path / package / '__init__.py'}:4\n"
    ), result.output


def test_bad_pyproject_table(project: str, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.servey_faas]\nactions = "{project}"\n[tool.servey_faas.build]\nscale_maxx = 3\n', encoding="utf-8"
    )
    result = run()
    assert result.exit_code == 1
    assert "Error: [tool.servey_faas.build]: unknown keys scale_maxx" in result.output


def test_help() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for option in ("--output-dir DIR", "--prefix PREFIX", "--registry PREFIX", "--namespace NS", "--gateway URL",
                   "--function-auth / --no-function-auth", "--router / --no-router"):  # fmt: skip
        assert option in result.output
    assert "faas-cli up -f serverless/stack.yml" in result.output
    listed = CliRunner().invoke(cli, ["--help"], prog_name="servey-faas")
    assert "build" in listed.output and "Write stack.yml and a build context per function" in listed.output
