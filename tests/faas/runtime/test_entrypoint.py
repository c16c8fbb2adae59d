"""The generated entrypoint as a real process, called over HTTP the way of-watchdog calls its
upstream (``docs/openfaas.md#of-watchdog-in-http-mode``): path and query as the gateway left them, request bodies
streamed chunked without Content-Length, X-Call-Id and X-Forwarded-* headers, SIGTERM to stop."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servey_faas.faas.deploy.packager import BuildResult

from ..conftest import context_of
from ..support import FunctionProcess, function_process, stop

#: What the watchdog adds to a forwarded request (``docs/openfaas.md#what-the-function-receives``), with Go's client
#: conventions.
WATCHDOG_HEADERS = (
    b"User-Agent: Go-http-client/1.1\r\n"
    b"X-Call-Id: 0b6a3d4e-6f4c-4a47-9f0e-7d1f8f2c1a11\r\n"
    b"X-Start-Time: 1767225600000000000\r\n"
    b"X-Forwarded-For: 10.62.0.1\r\n"
    b"X-Forwarded-Host: gateway.example:8080\r\n"
    b"Accept-Encoding: gzip\r\n"
)


def chunked_post(path: str, body: bytes, *, content_type: bytes | None = b"application/json", pieces: int = 3) -> bytes:
    """A POST as of-watchdog forwards it: ``Transfer-Encoding: chunked`` and no ``Content-Length``."""
    size = max(1, -(-len(body) // pieces))
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n".encode() + WATCHDOG_HEADERS
    if content_type is not None:
        head += b"Content-Type: " + content_type + b"\r\n"
    return head + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n"


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n".encode() + WATCHDOG_HEADERS + b"Connection: close\r\n\r\n"


@pytest.fixture(scope="module")
def greet(test_build: BuildResult) -> Iterator[FunctionProcess]:
    with function_process(context_of(test_build, "greet")) as running:
        yield running


@pytest.fixture(scope="module")
def move(test_build: BuildResult) -> Iterator[FunctionProcess]:
    with function_process(context_of(test_build, "move")) as running:
        yield running


def test_sync_call_with_a_chunked_body(greet: FunctionProcess) -> None:
    status, headers, body = greet.raw(chunked_post("/", b'{"name": "World", "punctuation": "!!"}'))
    assert (status, headers["content-type"], json.loads(body)) == (200, "application/json", "Hello World!!")


def test_get_with_the_query_the_gateway_left(greet: FunctionProcess) -> None:
    status, _, body = greet.raw(get("/?name=Ada&punctuation=%3F"))
    assert (status, json.loads(body)) == (200, "Hello Ada?")
    status, _, body = greet.raw(get("/actions/greet?name=Bo"))
    assert (status, json.loads(body)) == (200, "Hello Bo!")


def test_validation_errors_are_422(greet: FunctionProcess) -> None:
    status, headers, body = greet.raw(chunked_post("/", b'{"name": 7, "extra": true}'))
    assert (status, headers["content-type"]) == (422, "application/json")
    answer = json.loads(body)
    assert (answer["error"], answer["message"]) == ("validation_error", "invalid params")
    assert sorted(answer["errors"], key=lambda e: e["location"]) == [
        {"location": ["body", "extra"], "message": "unexpected field"},
        {"location": ["body", "name"], "message": "7 is not of type 'string'"},
    ]


def test_malformed_bodies_are_400(greet: FunctionProcess) -> None:
    status, _, body = greet.raw(chunked_post("/", b'{"name": '))
    assert (status, json.loads(body)["error"]) == (400, "bad_request")
    status, _, body = greet.raw(chunked_post("/", b"name=World", content_type=b"application/x-www-form-urlencoded"))
    assert (status, json.loads(body)["error"]) == (400, "bad_request")


def test_unknown_paths_and_methods(greet: FunctionProcess) -> None:
    # the gateway strips this prefix (``docs/openfaas.md#url-rules``)
    status, _, body = greet.raw(get("/function/greet"))
    assert (status, json.loads(body)["error"]) == (404, "not_found")
    status, _, _ = greet.raw(b"DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 405


def test_large_chunked_body(move: FunctionProcess) -> None:
    padding = " " * 300_000
    body = ('{"dx": 2,' + padding + '"point": {"x": 1, "y": 5}}').encode()
    status, _, answer = move.raw(chunked_post("/", body, pieces=40))
    assert (status, json.loads(answer)) == (200, {"x": 3, "y": 5})
    status, _, answer = move.raw(chunked_post("/points/4", b'{"point": {"x": 0, "y": 0}}'))
    assert (status, json.loads(answer)) == (200, {"x": 4, "y": 0})


def test_an_action_that_raises_is_a_500_and_its_traceback_goes_to_the_log(test_build: BuildResult) -> None:
    with function_process(context_of(test_build, "explode")) as running:
        status, _, body = running.raw(chunked_post("/", b'{"reason": "kaboom"}'))
        assert (status, json.loads(body)) == (500, {"error": "internal_error", "message": "internal server error"})
        stop(running.process)
        log = running.process.stderr.read().decode()  # type: ignore[union-attr]
    # the watchdog logs every stderr line of its child (``docs/openfaas.md#process-model``)
    assert "action 'explode' failed on POST /" in log and "RuntimeError: kaboom" in log


def test_cron_connector_call_and_secret(test_build: BuildResult, tmp_path: Path) -> None:
    """A cron call is a POST without body or Content-Type (``docs/openfaas.md#discovery-invocation-and-auth``); secrets
    are files under ``secret_mount_path`` (``docs/openfaas.md#secrets-as-files``)."""
    with function_process(context_of(test_build, "tick")) as running:
        request = (
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: Go-http-client/1.1\r\n"
            b"X-Topic: cron-function\r\nX-Connector: cron-connector\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n0\r\n\r\n"
        )
        status, _, body = running.raw(request)
        assert (status, json.loads(body)) == (200, 1)
    (tmp_path / "api-key").write_text("s3cr3t\n")
    with function_process(context_of(test_build, "show_secret"), {"secret_mount_path": str(tmp_path)}) as running:
        status, _, body = running.raw(get("/?name=api-key"))
        assert (status, json.loads(body)) == (200, "s3cr3t")
        status, _, body = running.raw(get("/?name=missing"))
        assert status == 500  # the action raised ConfigurationError; the details stay in the log


def test_sigterm_drains_the_request_in_flight(test_build: BuildResult) -> None:
    """The watchdog forwards SIGTERM to its child at once (``docs/openfaas.md#shutdown``): a request in flight must
    still be answered before the process exits."""
    with function_process(context_of(test_build, "nap")) as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            sock.sendall(get("/?seconds=0.5"))
            time.sleep(0.2)
            running.process.send_signal(signal.SIGTERM)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b'"rested"')
        code = stop(running.process)
        log = running.process.stderr.read().decode()  # type: ignore[union-attr]
    # the function server (servey_faas/faas/runtime/_server.py) drains, then the process exits 0
    assert code == 0
    assert "SIGTERM: no longer listening; draining 1 connection(s)" in log and log.rstrip().endswith("stopped")


def test_self_test_and_startup_errors(test_build: BuildResult) -> None:
    context = context_of(test_build, "greet")
    ok = subprocess.run([sys.executable, "index.py", "--self-test"], cwd=context, capture_output=True, text=True,
                        timeout=60, check=False)  # fmt: skip
    assert (ok.returncode, ok.stdout) == (0, "ok   greet::world\n1 of 1 examples passed\n"), ok.stderr
    bad = subprocess.run([sys.executable, "index.py"], cwd=context, capture_output=True, text=True, timeout=60,
                         env={"upstream_url": "tcp://nowhere"}, check=False)  # fmt: skip
    assert bad.returncode == 1
    assert bad.stderr == "Error: upstream_url must be http://HOST:PORT, not 'tcp://nowhere'\n"
    usage = subprocess.run([sys.executable, "index.py", "--serve"], cwd=context, capture_output=True, text=True,
                           timeout=60, check=False)  # fmt: skip
    assert usage.returncode == 2 and "usage: python index.py [--self-test]" in usage.stderr


def test_the_limits_come_from_the_function_environment(test_build: BuildResult) -> None:
    """``SERVEY_MAX_BODY_BYTES`` and ``SERVEY_MAX_JSON_DEPTH`` set on the function (stack.yml
    ``environment``) bound what its server reads: a chunked body over the limit is a JSON 413 from
    waitress itself, deep JSON a 400."""
    environ = {"SERVEY_MAX_BODY_BYTES": "64", "SERVEY_MAX_JSON_DEPTH": "2"}
    with function_process(context_of(test_build, "greet"), environ) as running:
        status, headers, body = running.raw(chunked_post("/", b'{"name": "' + b"x" * 60 + b'"}'))
        assert (status, headers["content-type"], json.loads(body)) == (
            413,
            "application/json",
            {"error": "payload_too_large", "message": "the request body is larger than the limit of 64 bytes"},
        )
        status, _, body = running.raw(chunked_post("/", b'{"name": [["x"]]}'))
        assert (status, json.loads(body)) == (
            400,
            {"error": "bad_request", "message": "the JSON body is nested deeper than the limit of 2 levels"},
        )
        status, _, body = running.raw(chunked_post("/", b'{"name": "Ada"}'))
        assert (status, json.loads(body)) == (200, "Hello Ada!")
