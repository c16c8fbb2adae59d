"""A replica takes traffic, and counts in ``availableReplicas``, only once its ready path
(``GET /_/ready`` on its upstream) answers 200, as a pod joins its Service's endpoints only once its
readiness probe passes; meanwhile a call gets the provider's 503 ``No endpoints available``. A
replica not ready within ``ready_timeout`` is logged, stopped and started again, never called.
Probes and calls go straight to loopback, whatever proxy the environment names."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from servey_faas.faas.gateway import Gateway, GatewayConfig
from servey_faas.testing import serve_app

from .conftest import WAIT, RunningGateway, pid_alive, serve_gateway, wait_until

MakeContext = Callable[[str], Path]


@pytest.fixture
def impatient(state_dir: Path) -> Iterator[RunningGateway]:
    """A local gateway that waits 1 s for a replica to be ready."""
    yield from serve_gateway(state_dir, ready_timeout=1.0)


def deploy_gated(running: RunningGateway, context: Path, flag: Path) -> None:
    """Deploy the echo function, ready only once ``flag`` exists; do not wait for it."""
    deployment = running.deployment("echo", context, envVars={"READY_WHEN": str(flag)})
    response = running.http.post("/system/functions", json=deployment)
    assert response.status_code == 202, response.text


def started(running: RunningGateway) -> list[tuple[str, int]]:
    """The port and pid of each replica of the echo function, in the order they started."""
    text = "".join(e["text"] for e in running.logs("echo"))
    return [(port, int(pid)) for port, pid in re.findall(r"starting on (\d+) as pid (\d+)", text)]


def handled_lines(running: RunningGateway) -> list[str]:
    """The echo function's log lines of the calls it handled."""
    return [e["text"] for e in running.logs("echo") if e["text"].startswith("handled")]


def ready_status(url: str) -> int | None:
    try:
        return httpx.get(f"{url}/_/ready", timeout=5.0).status_code
    except httpx.TransportError:
        return None  # not listening yet


def assert_no_endpoints(running: RunningGateway) -> None:
    refused = httpx.post(f"{running.url}/function/echo", content=b"lost?")
    assert refused.status_code == 503
    assert refused.text == "No endpoints available for: echo.\n"
    assert refused.headers["X-OpenFaaS-Internal"] == "proxy"


def test_a_replica_takes_traffic_only_once_its_ready_path_answers(
    running: RunningGateway, function_context: MakeContext, tmp_path: Path
) -> None:
    flag = tmp_path / "ready"
    deploy_gated(running, function_context("echo"), flag)
    [(port, pid)] = wait_until(lambda: started(running), "the replica starts")
    wait_until(lambda: ready_status(f"http://127.0.0.1:{port}") == 503, "the replica listens, not ready")

    status = running.status("echo")
    assert (status["replicas"], status.get("availableReplicas", 0)) == (1, 0)  # omitempty
    assert_no_endpoints(running)

    flag.touch()
    running.wait_available("echo")
    assert running.echo("/function/echo", content=b"now")["body"] == "now"
    assert started(running) == [(port, pid)]  # the same process, once ready: never restarted
    handled = wait_until(lambda: handled_lines(running), "the call is in the function's log")
    assert handled == ["handled POST /\n"]  # only that call: the one refused while not ready never reached it


def test_a_replica_not_ready_in_time_is_logged_stopped_restarted_and_never_called(
    impatient: RunningGateway, function_context: MakeContext, tmp_path: Path
) -> None:
    running = impatient
    deploy_gated(running, function_context("echo"), tmp_path / "never")
    timed_out = wait_until(lambda: [e for e in running.logs("echo") if "was not ready in time" in e["text"]],
                           "the first replica times out")  # fmt: skip
    assert re.fullmatch(r"replica echo-\w+ was not ready in time; restarting in 0\.5s\n", timed_out[0]["text"])
    status = running.status("echo")
    assert (status["replicas"], status.get("availableReplicas", 0)) == (1, 0)  # omitempty
    assert_no_endpoints(running)
    [(_, first), *_] = wait_until(lambda: (found := started(running))[1:] and found, "a second replica starts")
    assert not pid_alive(first)  # stopped before the next one started
    assert running.status("echo").get("availableReplicas", 0) == 0
    assert handled_lines(running) == []


def test_proxy_variables_divert_neither_probes_nor_calls_to_replicas(
    state_dir: Path, function_context: MakeContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replicas are on loopback: a user's ``HTTP_PROXY`` (here a port nothing listens on) must not
    be used to probe or call them, or no replica would ever be ready."""
    gateway = Gateway(GatewayConfig(state_dir, ready_timeout=WAIT, stop_timeout=2.0))
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    try:
        with serve_app(gateway.app) as url, httpx.Client(base_url=url, timeout=WAIT, trust_env=False) as http:
            running = RunningGateway(gateway, url, http)
            running.deploy("echo", function_context("echo"))
            assert running.echo("/function/echo", content=b"direct")["body"] == "direct"
    finally:
        gateway.kill_all()
