"""examples/hello_world does what its README says: its tests pass, its dev server answers the curls."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from servey_faas.faas.gateway.processes import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hello_world"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    for name in ("SERVEY_ACTION_PATH", "SERVER_HOST", "SERVER_PORT", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    return env


def test_its_pytest_runs_the_examples_and_the_http_tests() -> None:
    # `pytest` as the README says, with only servey_faas's plugin (the others installed here are
    # slow to import and unused by the example).
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "servey_faas"],
        cwd=EXAMPLE,
        env={**_env(), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    passed = [line.split(" ")[0] for line in completed.stdout.splitlines() if " PASSED" in line]
    assert passed == [
        "test_http.py::test_say_hello_over_http",
        "test_http.py::test_call_builds_the_request_from_the_trigger",
        "test_http.py::test_a_missing_field_is_a_422",
        "say_hello::world",
        "say_hello::default",
        "greet_many::twice",
    ]


@pytest.fixture
def server() -> Iterator[str]:
    """``python -m servey_faas`` started from the example's folder, as the README says."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "servey_faas", "--port", str(port)],
        cwd=EXAMPLE,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60  # a readiness wait, not a measurement
        while True:
            try:
                httpx.get(f"{url}/openapi.json", timeout=5)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read() if process.stdout else ""
                    raise AssertionError(f"the dev server did not start:\n{output}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def test_its_dev_server_answers_the_readme_requests(server: str) -> None:
    assert httpx.get(f"{server}/actions/say-hello", params={"name": "World"}).json() == "Hello World!"
    assert httpx.get(f"{server}/actions/say-hello").json() == "Hello stranger!"
    many = httpx.post(f"{server}/actions/greet-many", json={"greeting": {"name": "Ada", "times": 2}})
    assert many.json() == ["Hello Ada!", "Hello Ada!"]
    invalid = httpx.post(f"{server}/actions/greet-many", json={"greeting": {"times": 2}})
    assert invalid.status_code == 422
    assert invalid.json() == {
        "error": "validation_error",
        "message": "invalid params",
        "errors": [{"location": ["body", "greeting", "name"], "message": "field required"}],
    }
    assert httpx.get(f"{server}/docs").status_code == 200
    assert set(httpx.get(f"{server}/openapi.json").json()["paths"]) == {"/actions/say-hello", "/actions/greet-many"}
