"""End to end through ``python -m servey_faas --run=gateway`` over real loopback HTTP: the API
router function answering REST and GraphQL by calling the per-action functions through the local
gateway (``--run=deploy`` points its ``OPENFAAS_URL`` at the gateway), ``--prune`` removing a dropped
action, and a fixed-rate action firing through the gateway's cron-connector."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import WAIT, pid_alive, wait_until
from .test_cli import REPO, GatewayProcess, children, run_cli
from .test_cli import start_gateway as start_gateway  # the fixture, used by name

StartGateway = Callable[..., GatewayProcess]


def project_with(tmp_path: Path, actions: Path, drop: tuple[str, ...] = ()) -> Path:
    """A project folder holding a copy of ``actions`` (without the modules ``drop``) and the repository's pyproject."""
    project = tmp_path / "project"
    shutil.rmtree(project / "actions", ignore_errors=True)
    project.mkdir(exist_ok=True)
    shutil.copytree(actions, project / "actions", ignore=shutil.ignore_patterns("__pycache__", *drop))
    shutil.copy(REPO / "pyproject.toml", project / "pyproject.toml")
    return project


def deploy(project: Path, gateway: GatewayProcess, *options: str) -> None:
    env = {"OPENFAAS_CONFIG": str(project.parent / "no-credentials")}
    done = run_cli("--run=deploy", "--builder", "local", "--gateway", gateway.url, "-q", *options, cwd=project, env=env)
    assert done.returncode == 0, done.stdout + done.stderr


def functions(http: httpx.Client) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in http.get("/system/functions").json()}


def test_the_router_reaches_the_action_functions_and_prune_drops_an_action(
    tmp_path: Path, start_gateway: StartGateway
) -> None:
    gateway = start_gateway()
    project = project_with(tmp_path, REPO / "actions")
    deploy(project, gateway)
    with httpx.Client(base_url=gateway.url, timeout=WAIT) as http:
        deployed = functions(http)
        assert {"api", "say-hello", "current-temperature", "to-fahrenheit"} <= deployed.keys()
        # --run=deploy saw the local gateway and pointed the functions (the router's calls) at it
        assert {f["envVars"]["OPENFAAS_URL"] for f in deployed.values()} == {gateway.url}
        before = deployed["say-hello"].get("invocationCount", 0)

        rest = http.get("/function/api/actions/say-hello", params={"name": "World"})
        assert (rest.status_code, rest.json()) == (200, "Hello World!"), rest.text
        graphql = http.post("/function/api/graphql", json={"query": '{ sayHello(name: "World") }'})
        assert graphql.status_code == 200, graphql.text
        assert graphql.json() == {"data": {"sayHello": "Hello World!"}}
        assert functions(http)["say-hello"]["invocationCount"] == before + 2  # both routed to the action function

        pids = set(children(gateway.process.pid))
        weather = {"current-temperature", "to-fahrenheit"}
        deploy(project_with(tmp_path, REPO / "actions", drop=("weather.py",)), gateway, "--prune")
        left = functions(http)
        assert not weather & left.keys() and {"api", "say-hello"} <= left.keys()
        assert len(children(gateway.process.pid)) == len(left)  # one process each, the dropped ones gone
        gone = pids - set(children(gateway.process.pid))
        assert gone and not any(pid_alive(pid) for pid in gone)
        for name in weather:
            assert http.post(f"/function/{name}", json={}).status_code == 404
        rest = http.get("/function/api/actions/say-hello", params={"name": "again"})
        assert rest.json() == "Hello again!"


HEARTBEAT = '''"""A fixed-rate action: appends one line to the file HEARTBEAT_FILE names each time it runs."""

import os
import time

from servey_faas import FixedRateTrigger, action


@action(triggers=(FixedRateTrigger(1),))
def heartbeat() -> float:
    """Note that it ran; return the time."""
    now = time.time()
    with open(os.environ["HEARTBEAT_FILE"], "a", encoding="utf-8") as f:
        f.write(f"{now}\\n")
    return now
'''


def test_a_fixed_rate_action_fires_through_the_cron_connector(
    tmp_path: Path, start_gateway: StartGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    actions = tmp_path / "source"
    actions.mkdir()
    (actions / "__init__.py").write_text("", encoding="utf-8")
    (actions / "heartbeat.py").write_text(HEARTBEAT, encoding="utf-8")
    beats = tmp_path / "beats.txt"
    monkeypatch.setenv("HEARTBEAT_FILE", str(beats))  # the gateway's environment, which its functions inherit
    gateway = start_gateway()
    deploy(project_with(tmp_path, actions), gateway)
    with httpx.Client(base_url=gateway.url, timeout=WAIT) as http:
        deployed = functions(http)
        assert deployed["heartbeat"]["annotations"]["topic"] == "cron-function"
        assert deployed["heartbeat"]["annotations"]["schedule"] == "@every 1s"
        assert "topic" not in (deployed["api"].get("annotations") or {})
        wait_until(lambda: beats.exists() and len(beats.read_text(encoding="utf-8").split()) >= 3, "3 heartbeats")
        count = lambda: functions(http)["heartbeat"].get("invocationCount", 0)  # noqa: E731
        wait_until(lambda: count() >= 3, "the gateway counted 3 calls")  # it made them (counted once answered)
