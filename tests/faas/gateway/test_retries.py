"""Retries of failed async invocations (the Pro queue-worker's settings of
``docs/openfaas.md#pro-queue-worker-retries``): off by default as in CE; with ``--async-max-retries`` a job is retried
on the listed statuses with exponential backoff, and the callback carries the last attempt's answer."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from servey_faas.faas.gateway import BasicCredentials, Gateway, GatewayConfig
from servey_faas.faas.gateway.retrying import DEFAULT_RETRY_CODES, QueueRetryPolicy
from servey_faas.testing import serve_app

from .conftest import PASSWORD, USER, WAIT, CallbackReceiver, RunningGateway, pid_alive

FLAKY = Path(__file__).with_name("flaky_function.py")


def test_backoff_doubles_from_the_minimum_up_to_the_maximum() -> None:
    policy = QueueRetryPolicy(max_retries=6)
    assert [policy.wait(n) for n in range(1, 7)] == [10.0, 20.0, 40.0, 80.0, 120.0, 120.0]
    assert policy.codes == DEFAULT_RETRY_CODES == {429, 502, 500, 504, 408}


def test_retry_after_is_honoured_on_429_and_503_only_between_the_bounds() -> None:
    policy = QueueRetryPolicy(max_retries=3, min_wait=1.0, max_wait=60.0)
    assert policy.wait(1, 429, httpx.Headers({"Retry-After": "30"})) == 30.0
    assert policy.wait(1, 503, httpx.Headers({"Retry-After": "0"})) == 1.0  # never below the backoff
    assert policy.wait(1, 429, httpx.Headers({"Retry-After": "600"})) == 60.0
    assert policy.wait(1, 500, httpx.Headers({"Retry-After": "30"})) == 1.0
    assert policy.wait(2, 429, httpx.Headers({"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"})) == 2.0


def test_what_is_retried() -> None:
    policy = QueueRetryPolicy(max_retries=1)
    assert policy.should_retry(500, httpx.Headers())
    assert policy.should_retry(429, httpx.Headers())
    assert not policy.should_retry(400, httpx.Headers())
    assert not policy.should_retry(200, httpx.Headers())
    assert policy.should_retry(404, httpx.Headers({"X-OpenFaaS-Internal": "proxy"}))  # the gateway's own error
    assert policy.should_retry(503, None)  # the invocation failed
    with pytest.raises(ValueError, match="max_retries"):
        QueueRetryPolicy(max_retries=-1)
    with pytest.raises(ValueError, match="min_wait"):
        QueueRetryPolicy(min_wait=5.0, max_wait=1.0)


def gateway_with(state_dir: Path, retry: QueueRetryPolicy | None) -> Iterator[RunningGateway]:
    config = GatewayConfig(state_dir, BasicCredentials(USER, PASSWORD), ready_timeout=WAIT, stop_timeout=2.0)
    if retry is not None:
        config = GatewayConfig(**{**config.__dict__, "retry": retry})
    gateway = Gateway(config)
    seen: set[int] = set()
    try:
        with serve_app(gateway.app) as url, httpx.Client(base_url=url, auth=(USER, PASSWORD), timeout=WAIT) as http:
            running = RunningGateway(gateway, url, http)
            try:
                yield running
            finally:
                seen.update(gateway.supervisor.pids())
    finally:
        gateway.kill_all()
    assert [pid for pid in seen if pid_alive(pid)] == []


def run_flaky(running: RunningGateway, tmp_path: Path, callbacks: CallbackReceiver, fail_times: int) -> Path:
    context = tmp_path / "build" / "flaky"
    context.mkdir(parents=True)
    shutil.copy(FLAKY, context / "index.py")
    count = tmp_path / "count"
    running.deploy("flaky", context, envVars={"COUNT_FILE": str(count), "FAIL_TIMES": str(fail_times)})
    accepted = httpx.post(f"{running.url}/async-function/flaky", content=b"job",
                          headers={"X-Callback-Url": callbacks.url})  # fmt: skip
    assert accepted.status_code == 202
    return count


def test_a_job_failing_twice_then_succeeding_is_retried(tmp_path: Path, callbacks: CallbackReceiver) -> None:
    for running in gateway_with(tmp_path / "state", QueueRetryPolicy(max_retries=3, min_wait=0.05, max_wait=0.2)):
        count = run_flaky(running, tmp_path, callbacks, fail_times=2)
        [callback] = callbacks.wait(1)
        assert callback.headers["x-function-status"] == "200"
        assert callback.body == b"attempt 3"
        assert (callback.headers["x-retry"], callback.headers["x-retry-max"]) == ("2", "3")
        assert count.read_text() == "3"


def test_the_last_failure_is_called_back_when_retries_run_out(tmp_path: Path, callbacks: CallbackReceiver) -> None:
    for running in gateway_with(tmp_path / "state", QueueRetryPolicy(max_retries=1, min_wait=0.05, max_wait=0.05)):
        count = run_flaky(running, tmp_path, callbacks, fail_times=5)
        [callback] = callbacks.wait(1)
        assert (callback.headers["x-function-status"], callback.body) == ("500", b"failed attempt 2")
        assert (callback.headers["x-retry"], callback.headers["x-retry-max"]) == ("1", "1")
        assert count.read_text() == "2"


def test_no_retries_by_default_as_in_ce(tmp_path: Path, callbacks: CallbackReceiver) -> None:
    for running in gateway_with(tmp_path / "state", None):
        count = run_flaky(running, tmp_path, callbacks, fail_times=2)
        [callback] = callbacks.wait(1)
        assert (callback.headers["x-function-status"], callback.body) == ("500", b"failed attempt 1")
        assert "x-retry" not in callback.headers
        assert count.read_text() == "1"


def test_the_cli_checks_the_retry_settings() -> None:
    from servey_faas.cli.gateway import gateway

    bad = CliRunner().invoke(gateway, ["--async-retry-codes", "500,x", "--port", "0"])
    assert bad.exit_code == 2 and "bad retry settings" in bad.output
    backwards = CliRunner().invoke(gateway, ["--async-retry-min-wait", "5", "--async-retry-max-wait", "1"])
    assert backwards.exit_code == 2 and "min_wait" in backwards.output
