"""The command line as users start it: real processes, a real uvicorn on a free 127.0.0.1 port.

Every process started here is stopped (terminate, then kill) and reaped when its test ends.
The deadlines below are safety nets so a broken server fails the test instead of hanging it;
they are never performance thresholds.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from servey_faas.cli import RUNS
from servey_faas.discovery import find_actions
from servey_faas.faas.gateway.processes import free_port

from .support import REPO

#: Seconds a server may take to answer, a file change to show, or a process to exit (safety nets).
DEADLINE = 60.0


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: this one without SERVEY_*/SERVER_* settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVEY_", "SERVER_"))}
    env.pop("PYTHONPATH", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def console_script() -> str:
    """The ``servey-faas`` script installed beside this interpreter."""
    found = shutil.which("servey-faas", path=str(Path(sys.executable).parent))
    assert found is not None, "the servey-faas console script is not installed (pip install -e .)"
    return found


@dataclass
class Started:
    """A process started by a test, its output going to ``log`` (stdout and stderr together)."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


Spawn = Callable[..., Started]


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Spawn]:
    """``spawn(args, cwd=..., env=...)`` starts a process; all of them are stopped at the end."""
    started: list[Started] = []

    def start(args: list[str], *, cwd: Path, env: dict[str, str]) -> Started:
        log = tmp_path / f"process-{len(started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        started.append(Started(process, log))
        return started[-1]

    yield start
    for item in started:
        stop(item.process)


def stop(process: subprocess.Popen[bytes]) -> int:
    """Terminate ``process`` (kill it if it does not exit in time) and reap it; its return code."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout=DEADLINE / 2)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=DEADLINE / 2)


def get_when_up(server: Started, url: str) -> httpx.Response:
    """GET ``url`` as soon as the server answers; fail if the process exits first."""
    deadline = time.monotonic() + DEADLINE
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            return httpx.get(url, timeout=5.0)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer {url}:\n{server.output()}")
            time.sleep(0.05)


def is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_python_m_serves_the_demo_app_from_the_repository(spawn: Spawn) -> None:
    port = free_port()
    server = spawn([sys.executable, "-m", "servey_faas", "--port", str(port)], cwd=REPO, env=child_env())
    response = get_when_up(server, f"http://127.0.0.1:{port}/actions/say-hello?name=World")
    assert response.status_code == 200
    assert response.json() == "Hello World!"
    assert httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5.0).status_code == 200
    code = stop(server.process)
    assert server.process.poll() is not None
    assert code in (0, -signal.SIGTERM)
    count = len(find_actions("actions"))
    url = f"http://127.0.0.1:{port}"
    assert f"INFO:     Serving {count} actions at {url} (docs: {url}/docs)\n" in server.output()
    assert "Traceback" not in server.output()


def test_broken_actions_module_fails_before_listening(spawn: Spawn, tmp_path: Path) -> None:
    package = tmp_path / "site" / "broken_cli_actions"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("import json\n\nraise ImportError('cannot import name X')\n", encoding="utf-8")
    port = free_port()
    env = child_env(SERVEY_ACTION_PATH="broken_cli_actions", PYTHONPATH=str(tmp_path / "site"))
    server = spawn([sys.executable, "-m", "servey_faas", "--port", str(port)], cwd=REPO, env=env)
    code = server.process.wait(timeout=DEADLINE)
    output = server.output()
    assert code == 1, output
    assert output.startswith(
        "Error: cannot import actions module 'broken_cli_actions': ImportError: cannot import name X at "
    ), output
    assert "Traceback" not in output
    assert "Uvicorn running" not in output


def test_console_script_runs_an_action_of_a_project_folder(spawn: Spawn, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.servey_faas]\nactions = "shop_actions"\n', encoding="utf-8")
    (tmp_path / "shop_actions.py").write_text(
        textwrap.dedent(
            """
            from servey_faas import action

            @action
            async def total(prices: list[float]) -> float:
                return sum(prices)
            """
        ),
        encoding="utf-8",
    )
    run = spawn(
        [console_script(), "--run=action", "--action=total", '--event={"prices": [1.5, 2.25]}'],
        cwd=tmp_path,
        env=child_env(),
    )
    assert run.process.wait(timeout=DEADLINE) == 0, run.output()
    assert run.output() == "3.75\n"


@pytest.mark.parametrize(
    ("program", "usage"),
    [([sys.executable, "-m", "servey_faas"], "python -m servey_faas"), ([], "servey-faas")],
)
def test_help_and_usage_errors_name_the_program(spawn: Spawn, program: list[str], usage: str) -> None:
    program = program or [console_script()]
    shown = spawn([*program, "--help"], cwd=REPO, env=child_env())
    assert shown.process.wait(timeout=DEADLINE) == 0
    assert shown.output().startswith(f"Usage: {usage} [--run=RUN] [OPTIONS]\n")
    wrong = spawn([*program, "--run=nope"], cwd=REPO, env=child_env())
    assert wrong.process.wait(timeout=DEADLINE) == 2
    choices = ", ".join(repr(name) for name in RUNS)
    assert f"Error: Invalid value for '--run': 'nope' is not one of {choices}." in wrong.output()


def test_reload_serves_changes_and_leaves_no_process_behind(spawn: Spawn, tmp_path: Path) -> None:
    source = textwrap.dedent(
        """
        import os

        from servey_faas import WEB_GET, action

        @action(triggers=(WEB_GET,))
        def version() -> str:
            return "v1"

        @action(triggers=(WEB_GET,))
        def worker_pid() -> int:
            return os.getpid()
        """
    )
    (tmp_path / "pyproject.toml").write_text('[tool.servey_faas]\nactions = "reload_actions"\n', encoding="utf-8")
    module = tmp_path / "reload_actions.py"
    module.write_text(source, encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}/actions"
    server = spawn([console_script(), "--reload", "--port", str(port)], cwd=tmp_path, env=child_env())
    workers: list[int] = []
    try:
        assert get_when_up(server, f"{url}/version").json() == "v1"
        workers.append(httpx.get(f"{url}/worker-pid", timeout=5.0).json())
        module.write_text(source.replace('"v1"', '"v2"'), encoding="utf-8")
        deadline = time.monotonic() + DEADLINE
        while get_when_up(server, f"{url}/version").json() != "v2":
            assert time.monotonic() < deadline, f"the change was not served:\n{server.output()}"
            time.sleep(0.05)
        workers.append(httpx.get(f"{url}/worker-pid", timeout=5.0).json())
        assert workers[0] != workers[1], "a reload runs the app in a fresh worker process"
        assert workers[1] != server.process.pid
        stop(server.process)
        assert server.process.poll() is not None
        deadline = time.monotonic() + DEADLINE
        while not all(is_gone(pid) for pid in workers):
            assert time.monotonic() < deadline, f"worker processes {workers} outlived the server"
            time.sleep(0.05)
    finally:
        for pid in workers:
            if not is_gone(pid):
                os.kill(pid, signal.SIGKILL)


def test_start_up_lists_the_schedules_and_warns_about_an_empty_actions_module(spawn: Spawn, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "ticking_cli_actions.py").write_text(
        textwrap.dedent(
            """
            from servey_faas import CronTrigger, FixedRateTrigger, action


            @action(triggers=(FixedRateTrigger(3600),))
            def tick() -> None:
                pass


            @action(triggers=(CronTrigger("@daily"),))
            def nightly() -> None:
                pass
            """
        ),
        encoding="utf-8",
    )
    (site / "empty_cli_actions.py").write_text("# no actions yet\n", encoding="utf-8")
    servers = {}
    for module in ("ticking_cli_actions", "empty_cli_actions"):
        port = free_port()
        env = child_env(SERVEY_ACTION_PATH=module, PYTHONPATH=str(site))
        servers[module] = spawn([sys.executable, "-m", "servey_faas", "--port", str(port)], cwd=tmp_path, env=env)
        assert get_when_up(servers[module], f"http://127.0.0.1:{port}/openapi.json").status_code == 200
    ticking = servers["ticking_cli_actions"].output()
    assert "INFO:     scheduler started: tick (every 3600s), nightly (cron '@daily')" in ticking, ticking
    empty = servers["empty_cli_actions"].output()
    assert "warning: no @action functions found in module 'empty_cli_actions'" in empty, empty


def test_a_file_path_for_the_actions_module_says_what_to_give(spawn: Spawn, tmp_path: Path) -> None:
    (tmp_path / "my_actions.py").write_text("", encoding="utf-8")
    server = spawn(
        [sys.executable, "-m", "servey_faas"], cwd=tmp_path, env=child_env(SERVEY_ACTION_PATH="./my_actions.py")
    )
    assert server.process.wait(timeout=DEADLINE) == 1
    output = server.output()
    assert output == (
        "Error: SERVEY_ACTION_PATH / [tool.servey_faas] actions must be a dotted module name such as 'actions' "
        "or 'my_app.actions', not the file path './my_actions.py': use 'my_actions' (imported from the project "
        "folder)\n"
    ), output
