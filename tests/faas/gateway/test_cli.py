"""``--run=gateway`` as a process, and the end-to-end path over real loopback HTTP: the demo app
deployed with ``--run=deploy --builder local``, every action invoked through ``GatewayClient``
and ``remote()`` (results equal to the in-process call), ``--run=remove`` leaving no process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from servey_faas.app import ServeyApp
from servey_faas.cli import cli
from servey_faas.faas import BasicAuth, GatewayClient, remote
from servey_faas.faas.gateway.processes import free_port
from servey_faas.naming import function_name
from servey_faas.settings import Settings

from .conftest import CallbackReceiver, pid_alive, wait_until

REPO = Path(__file__).resolve().parents[3]


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


@dataclass
class GatewayProcess:
    process: subprocess.Popen[str]
    url: str
    state_dir: Path

    def stderr(self) -> str:
        return (self.state_dir.parent / "gateway.log").read_text(encoding="utf-8")


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[Callable[..., GatewayProcess]]:
    """``start_gateway(*options)``: ``python -m servey_faas --run=gateway`` on a free loopback port
    with its state under ``tmp_path``, ready (``/healthz``); stopped (SIGTERM, then SIGKILL) at the end."""
    started: list[subprocess.Popen[str]] = []

    def start(*options: str) -> GatewayProcess:
        port = free_port()
        state_dir = tmp_path / "state"
        log = (tmp_path / "gateway.log").open("w", encoding="utf-8")
        process = subprocess.Popen(
            [sys.executable, "-m", "servey_faas", "--run=gateway", "--port", str(port), "--state-dir", str(state_dir),
             "--log-level", "warning", *options],
            cwd=tmp_path, stdout=log, stderr=log, text=True,
        )  # fmt: skip
        started.append(process)
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            assert process.poll() is None, (tmp_path / "gateway.log").read_text(encoding="utf-8")
            try:
                return httpx.get(f"{url}/healthz").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, "the gateway answers /healthz")
        return GatewayProcess(process, url, state_dir)

    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def run_cli(*args: str, cwd: Path, env: dict[str, str], input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "servey_faas", *args], cwd=cwd, env={**os.environ, **env}, capture_output=True,
        text=True, timeout=300, check=False, input=input,
    )  # fmt: skip


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(cli, ["--run=gateway", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--state-dir", "--basic-auth / --no-basic-auth", "--ready-timeout",
                   "--max-inflight"):  # fmt: skip
        assert option in result.output
    assert "[default: 8080;" in result.output and "127.0.0.1]" in result.output


def test_basic_auth_credentials_are_made_once_then_read(start_gateway: Callable[..., GatewayProcess]) -> None:
    gateway = start_gateway("--basic-auth")
    user = (gateway.state_dir / "basic-auth-user").read_text(encoding="utf-8")
    password = (gateway.state_dir / "basic-auth-password").read_text(encoding="utf-8")
    assert f"user {user}, password {password}" in gateway.stderr()
    assert oct((gateway.state_dir / "basic-auth-password").stat().st_mode & 0o777) == "0o600"
    assert httpx.get(f"{gateway.url}/system/info").status_code == 401
    assert httpx.get(f"{gateway.url}/system/info", auth=(user, password)).status_code == 200
    gateway.process.send_signal(signal.SIGTERM)
    assert gateway.process.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled
    (gateway.state_dir / "basic-auth-password").write_text("  chosen-pw\n", encoding="utf-8")
    again = start_gateway("--basic-auth")
    assert "chosen-pw" not in again.stderr() and "password in" in again.stderr()
    assert httpx.get(f"{again.url}/system/info", auth=(user, "chosen-pw")).status_code == 200


def test_a_killed_gateway_takes_its_function_processes_along(
    start_gateway: Callable[..., GatewayProcess], function_context: Callable[[str], Path]
) -> None:
    gateway = start_gateway()
    image = function_context("echo").resolve().as_uri()
    assert httpx.post(f"{gateway.url}/system/functions", json={"service": "echo", "image": image}).status_code == 202
    url = f"{gateway.url}/function/echo"
    pid = wait_until(lambda: (r := httpx.post(url)).status_code == 200 and r.json()["pid"], "echo answers")
    assert pid in children(gateway.process.pid)
    gateway.process.kill()  # SIGKILL: no shutdown runs; PR_SET_PDEATHSIG does the work
    gateway.process.wait()
    wait_until(lambda: not pid_alive(pid), "the function process died with the gateway")


def test_demo_app_end_to_end(
    tmp_path: Path, start_gateway: Callable[..., GatewayProcess], callbacks: CallbackReceiver
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    shutil.copytree(REPO / "actions", project / "actions", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", project / "pyproject.toml")
    gateway = start_gateway()
    env = {"OPENFAAS_CONFIG": str(tmp_path / "no-credentials"), "OPENFAAS_URL": gateway.url}
    deployed = run_cli("--run=deploy", "--builder", "local", "--gateway", gateway.url, "-q", cwd=project, env=env)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    settings = Settings.load({"SERVEY_ACTION_PATH": "actions"})
    app = ServeyApp.load(settings)
    processes = children(gateway.process.pid)
    assert len(processes) == len(app.invokers) + 1  # one replica per action, and the API router
    checked = 0
    with GatewayClient(gateway.url, None, environ={}) as client:
        for name, invoker in app.invokers.items():
            proxy = remote(invoker.action, client, prefix=settings.function_prefix)
            for example in invoker.action.examples:
                params = invoker.example_params(example.params)
                expected = invoker.invoke_sync(params)
                response = client.invoke(function_name(name, settings.function_prefix), params)
                assert response.json() == expected, (name, example.name)
                assert proxy(**example.params) == invoker.codec.load(invoker.result_type, expected)
                checked += 1
        assert checked >= len(app.invokers)
        invoker = app.invoker("say_hello")
        params = invoker.example_params(invoker.action.examples[0].params)
        call_id = client.invoke_async(function_name("say_hello", settings.function_prefix), params,
                                      callback_url=callbacks.url)  # fmt: skip
        [callback] = callbacks.wait(1)
        assert callback.headers["x-call-id"] == call_id and callback.headers["x-function-status"] == "200"
        assert json.loads(callback.body) == invoker.invoke_sync(params)

    removed = run_cli("--run=remove", "--gateway", gateway.url, "-q", cwd=project, env=env)
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert children(gateway.process.pid) == []
    assert not any(pid_alive(pid) for pid in processes)
    assert httpx.get(f"{gateway.url}/system/functions").json() == []


def test_a_port_in_use_is_an_error_before_anything_starts(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["--run=gateway", "--port", str(port), "--state-dir", str(tmp_path / "s")])
    assert result.exit_code == 3
    assert result.stderr == f"Error: port {port} is in use (give --port)\n"


def test_login_saves_the_local_gateways_credentials_for_deploy_without_faas_cli(
    tmp_path: Path, start_gateway: Callable[..., GatewayProcess]
) -> None:
    import yaml

    gateway = start_gateway("--basic-auth")
    password_file = gateway.state_dir / "basic-auth-password"
    assert f"servey-faas --run=login -g {gateway.url} -u admin --password-file {password_file}" in gateway.stderr()
    env = {"OPENFAAS_CONFIG": str(tmp_path / "openfaas")}
    wrong = run_cli("--run=login", "--gateway", gateway.url, "--password-stdin", cwd=tmp_path, env=env, input="nope\n")
    assert wrong.returncode == 1
    assert wrong.stderr == f"Error: the gateway at {gateway.url} refused user 'admin' with this password (401)\n"
    assert not (tmp_path / "openfaas").exists()
    done = run_cli("--run=login", "-g", gateway.url, "--password-file", str(password_file), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    config = tmp_path / "openfaas" / "config.yml"
    assert done.stdout == f"credentials for {gateway.url} saved in {config}\n"
    assert oct(config.stat().st_mode & 0o777) == "0o600"
    [entry] = yaml.safe_load(config.read_text(encoding="utf-8"))["auths"]
    assert (entry["gateway"], entry["auth"]) == (gateway.url, "basic")
    with GatewayClient(gateway.url, environ=env) as client:  # the saved credentials are found
        assert client.list_functions() == []


def test_save_basic_auth_keeps_the_other_gateways(tmp_path: Path) -> None:
    from servey_faas.faas import saved_auth
    from servey_faas.faas.client._credentials import save_basic_auth

    path = tmp_path / "config.yml"
    path.write_text("auths:\n- gateway: https://gw.example.com\n  auth: oauth2\n  token: abc\n", encoding="utf-8")
    save_basic_auth("127.0.0.1:8080/", "admin", "pw:1", path=path)
    save_basic_auth("http://127.0.0.1:8080", "admin", "pw:2", path=path)  # replaces its own entry
    auth = saved_auth("http://127.0.0.1:8080", path=path)
    expected = BasicAuth("admin", "pw:2")
    assert isinstance(auth, BasicAuth) and auth._header == expected._header
    assert saved_auth("https://gw.example.com", path=path) is not None
    assert path.read_text(encoding="utf-8").count("gateway:") == 2
