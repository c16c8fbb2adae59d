"""``--run=server`` in-process: settings and flags, errors before the server starts, the factory.

What reaches the server is recorded by replacing ``servey_faas.cli._dev_server.run`` (uvicorn's
``run`` for the dev server; these tests must not block on a server); the real server is started as
a process in ``test_processes.py`` and ``tests/integration/test_hostile_shutdown.py``.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from servey_faas.cli import _dev_server
from servey_faas.cli.server import APP_FACTORY, create_web_app

from .support import BROKEN_ACTIONS, TEST_ACTIONS, MakeProject, invoke

DEMO_ACTION_COUNT = 6


@dataclass
class UvicornCalls:
    """The calls made to ``_dev_server.run``: ``(app, options)`` each, ``log_config`` kept apart."""

    calls: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    log_configs: list[dict[str, Any]] = field(default_factory=list)

    def run(self, app: Any, **options: Any) -> None:
        self.log_configs.append(options.pop("log_config"))
        self.calls.append((app, options))

    @property
    def only(self) -> tuple[Any, dict[str, Any]]:
        assert len(self.calls) == 1, self.calls
        return self.calls[0]


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[UvicornCalls]:
    calls = UvicornCalls()
    monkeypatch.setattr(_dev_server, "run", calls.run)
    # nothing listens in these tests: whether the port is free on this machine is not their business
    monkeypatch.setattr("servey_faas.cli.server.ensure_port_free", lambda *args, **kwargs: None)
    yield calls


def test_the_servey_faas_logger_writes_as_uvicorn_does(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    """So that the schedules the server runs are listed at start-up at the default level."""
    assert invoke().exit_code == 0
    [config] = uvicorn_calls.log_configs
    assert config["loggers"]["servey_faas"] == {"handlers": ["default"], "level": logging.INFO, "propagate": False}
    assert config["loggers"]["uvicorn.error"]["level"] == "INFO"  # uvicorn's own configuration, kept


def test_a_port_in_use_is_an_error_before_anything_is_served(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = UvicornCalls()
    monkeypatch.setattr(_dev_server, "run", calls.run)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("--port", str(port))
    assert result.exit_code == 1
    assert result.stderr == f"Error: port {port} is in use (give --port or SERVER_PORT)\n"
    assert calls.calls == []


def test_defaults_serve_the_app_object_on_loopback_port_8000(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke()
    assert result.exit_code == 0, result.output
    app, options = uvicorn_calls.only
    assert isinstance(app, Starlette)
    assert options == {"host": "127.0.0.1", "port": 8000, "log_level": "info", "timeout_graceful_shutdown": 10.0}
    assert result.stderr == (
        f"INFO:     Serving {DEMO_ACTION_COUNT} actions at http://127.0.0.1:8000 (docs: http://127.0.0.1:8000/docs)\n"
    )
    assert result.stdout == ""


def test_explicit_server_run_is_the_same(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    assert invoke("--run=server").exit_code == 0
    assert uvicorn_calls.only[1] == {
        "host": "127.0.0.1",
        "port": 8000,
        "log_level": "info",
        "timeout_graceful_shutdown": 10.0,
    }


def test_server_host_and_port_come_from_the_environment(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke(env={"SERVER_HOST": "127.0.0.2", "SERVER_PORT": "9123"})
    assert result.exit_code == 0, result.output
    assert uvicorn_calls.only[1] == {
        "host": "127.0.0.2",
        "port": 9123,
        "log_level": "info",
        "timeout_graceful_shutdown": 10.0,
    }
    assert "at http://127.0.0.2:9123 (docs: http://127.0.0.2:9123/docs)" in result.stderr


def test_flags_win_over_the_environment(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke("--host", "127.0.0.3", "--port", "9124", env={"SERVER_HOST": "127.0.0.2", "SERVER_PORT": "9123"})
    assert result.exit_code == 0, result.output
    assert uvicorn_calls.only[1] == {
        "host": "127.0.0.3",
        "port": 9124,
        "log_level": "info",
        "timeout_graceful_shutdown": 10.0,
    }


def test_port_zero_picks_a_free_port(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke("--port", "0")
    assert result.exit_code == 0, result.output
    port = uvicorn_calls.only[1]["port"]
    assert 0 < port <= 65535
    assert f"http://127.0.0.1:{port} " in result.stderr


def test_ipv6_url_is_bracketed(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke("--host", "::1", "--port", "9125")
    assert result.exit_code == 0, result.output
    assert "at http://[::1]:9125 (docs: http://[::1]:9125/docs)" in result.stderr


def test_every_interface_only_when_asked_and_with_a_warning(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke("--host", "0.0.0.0")
    assert result.exit_code == 0, result.output
    assert uvicorn_calls.only[1]["host"] == "0.0.0.0"
    assert "WARNING:  --host 0.0.0.0 listens on every interface" in result.stderr


def test_reload_serves_the_factory_and_watches_the_project_folder(
    project: MakeProject, uvicorn_calls: UvicornCalls
) -> None:
    made = project(TEST_ACTIONS)
    result = invoke("--reload", "--port", "9126")
    assert result.exit_code == 0, result.output
    app, options = uvicorn_calls.only
    assert app == APP_FACTORY
    assert options == {
        "factory": True,
        "reload": True,
        "reload_dirs": [str(made.root.resolve())],
        "host": "127.0.0.1",
        "port": 9126,
        "log_level": "info",
        "timeout_graceful_shutdown": 10.0,
    }
    assert "Serving 6 actions at http://127.0.0.1:9126" in result.stderr


@pytest.mark.parametrize("level", ["warning", "WARNING", "error"])
def test_log_level_is_passed_on_and_quiets_the_serving_line(
    demo: Path, uvicorn_calls: UvicornCalls, level: str
) -> None:
    result = invoke("--log-level", level)
    assert result.exit_code == 0, result.output
    assert uvicorn_calls.only[1]["log_level"] == level.lower()
    assert result.stderr == ""


def test_debug_log_level_keeps_the_serving_line(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke("--log-level=debug")
    assert uvicorn_calls.only[1]["log_level"] == "debug"
    assert "INFO:     Serving" in result.stderr


def test_one_action_is_singular(project: MakeProject, uvicorn_calls: UvicornCalls) -> None:
    project("from servey_faas import action\n\n@action\ndef only() -> int:\n    return 1\n")
    result = invoke()
    assert "Serving 1 action at" in result.stderr


def test_broken_actions_module_stops_before_the_server_starts(
    project: MakeProject, uvicorn_calls: UvicornCalls
) -> None:
    made = project(BROKEN_ACTIONS)
    result = invoke("--port", "9127")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot import actions module '{made.package}': RuntimeError: the actions module is broken"
        f" at {made.init}:2\n"
    )
    assert uvicorn_calls.calls == []


def test_broken_actions_module_stops_a_reloading_server_too(project: MakeProject, uvicorn_calls: UvicornCalls) -> None:
    project(BROKEN_ACTIONS)
    result = invoke("--reload")
    assert result.exit_code == 1
    assert "Error: cannot import actions module" in result.stderr
    assert uvicorn_calls.calls == []


def test_bad_server_port_is_a_configuration_error(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke(env={"SERVER_PORT": "http"})
    assert result.exit_code == 1
    assert result.stderr == "Error: SERVER_PORT must be a port number, not 'http'\n"
    assert uvicorn_calls.calls == []


@pytest.mark.parametrize("port", ["65536", "-1", "eighty"])
def test_bad_port_flag_is_a_usage_error(demo: Path, uvicorn_calls: UvicornCalls, port: str) -> None:
    result = invoke("--port", port)
    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.stderr
    assert uvicorn_calls.calls == []


def test_shutdown_grace_comes_from_the_environment_and_the_flag_wins(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    assert invoke(env={"SERVER_SHUTDOWN_GRACE": "3"}).exit_code == 0
    assert invoke("--shutdown-grace", "0.5", env={"SERVER_SHUTDOWN_GRACE": "3"}).exit_code == 0
    assert [options["timeout_graceful_shutdown"] for _, options in uvicorn_calls.calls] == [3.0, 0.5]


def test_bad_shutdown_grace_setting_is_a_configuration_error(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke(env={"SERVER_SHUTDOWN_GRACE": "forever"})
    assert result.exit_code == 1
    assert result.stderr == "Error: SERVER_SHUTDOWN_GRACE must be seconds >= 0, not 'forever'\n"
    assert uvicorn_calls.calls == []


@pytest.mark.parametrize("grace", ["-1", "inf", "later"])
def test_bad_shutdown_grace_flag_is_a_usage_error(demo: Path, uvicorn_calls: UvicornCalls, grace: str) -> None:
    result = invoke("--shutdown-grace", grace)
    assert result.exit_code == 2
    assert f"Invalid value for '--shutdown-grace': must be seconds >= 0, not '{grace}'" in result.stderr
    assert uvicorn_calls.calls == []


def test_bad_log_level_is_a_usage_error(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke("--log-level", "loud")
    assert result.exit_code == 2
    assert "Invalid value for '--log-level'" in result.stderr


def test_unbindable_host_with_port_zero_is_an_error(demo: Path, uvicorn_calls: UvicornCalls) -> None:
    result = invoke("--host", "192.0.2.1", "--port", "0")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot listen on '192.0.2.1': ")
    assert uvicorn_calls.calls == []


@pytest.mark.anyio
async def test_factory_builds_the_app_of_the_current_folder(demo: Path) -> None:
    app = create_web_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cli.test") as client:
        response = await client.get("/actions/say-hello", params={"name": "World"})
    assert response.status_code == 200
    assert response.json() == "Hello World!"
