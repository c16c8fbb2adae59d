"""servey_faas.faas.runtime._server: waitress with a graceful drain on SIGTERM (``docs/openfaas.md#shutdown``).

The signal tests run ``drain_app.py`` (``serve_wsgi`` on a free 127.0.0.1 port) as a real
subprocess and talk to it over loopback. Nothing is timed: the tests wait for what the server
says (its log lines, the app's ``started`` lines, the waitress queue warning) with a generous
bound, :data:`TIMEOUT`, that only turns a hang into a failure. These tests also pin the waitress
internals the drain uses (listed in the module's docstring): a waitress upgrade that changes
them fails here.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from servey_faas.errors import ConfigurationError
from servey_faas.faas.runtime import _server
from servey_faas.faas.runtime._server import DrainingServer, serve_wsgi

APP = Path(__file__).with_name("drain_app.py")
#: Bound on every wait, in seconds; generous for a shared machine, and below waitress's
#: ``channel_timeout`` (120 s) so that a server waiting for an idle connection would fail the test.
TIMEOUT = 60.0


class ServerProcess:
    """``drain_app.py`` in a subprocess: its merged stdout/stderr read line by line in a thread."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(APP), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = int(self.wait_for(r"serving on http://127\.0\.0\.1:(\d+)").group(1))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._lines.put(raw.decode(errors="replace").rstrip("\n"))
        self._lines.put(None)

    def wait_for(self, pattern: str) -> re.Match[str]:
        """The first line from now on matching ``pattern``; fails after TIMEOUT or at EOF."""
        while True:
            try:
                line = self._lines.get(timeout=TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r} within {TIMEOUT} s; output so far:\n" + self.log)
            if line is None:
                self._lines.put(None)
                pytest.fail(f"output ended without a line matching {pattern!r}:\n" + self.log)
            self.output.append(line)
            match = re.search(pattern, line)
            if match:
                return match

    @property
    def log(self) -> str:
        return "\n".join(self.output)

    def signal(self, signum: int) -> None:
        self.proc.send_signal(signum)

    def release(self, count: int = 1) -> None:
        """Let ``count`` ``/slow`` requests finish (one byte each on the app's stdin)."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"x" * count)
        self.proc.stdin.flush()

    def wait_exit(self) -> int:
        """The exit code; fails when the process is still running after TIMEOUT."""
        try:
            code = self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server did not exit within {TIMEOUT} s; output:\n" + self.log)
        self._reader.join(TIMEOUT)
        while (line := self._lines.get_nowait() if not self._lines.empty() else None) is not None:
            self.output.append(line)
        return code

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=TIMEOUT)
        finally:
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    stream.close()
            self._reader.join(TIMEOUT)


@pytest.fixture
def start_server() -> Iterator[Callable[..., ServerProcess]]:
    """Starts ``drain_app.py`` with the given arguments; every process is gone after the test."""
    started: list[ServerProcess] = []

    def start(*args: str) -> ServerProcess:
        server = ServerProcess(*args)
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.close()


def assert_refused(port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT).close()


def read_to_eof(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# --- serving -------------------------------------------------------------------------------------


def test_chunked_body_reaches_the_app_and_no_server_header(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server()
    chunks = [b"hello ", b"chunked ", b"\x00\xff" * 5000, b"world"]
    conn = server.connection()
    # An iterable body without Content-Length is sent with Transfer-Encoding: chunked, as the watchdog does.
    conn.request("POST", "/echo", body=iter(chunks), headers={"Content-Type": "application/octet-stream"})
    response = conn.getresponse()
    assert response.status == 200  # a PEP 3333 violation in the environ would be a 500 (wsgiref.validate)
    assert response.read() == b"".join(chunks)
    assert response.getheader("Server") is None
    assert response.getheader("Via") is None

    conn.request("GET", "/boom")
    response = conn.getresponse()
    body = response.read()
    assert response.status == 500
    assert response.getheader("Server") is None
    assert b"boom-secret-detail" not in body and b"Traceback" not in body
    server.wait_for("boom-secret-detail")  # the traceback goes to the log instead
    conn.close()

    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    assert sum("serving on" in line for line in server.output) == 1
    assert server.output[-1].endswith("stopped")


# --- the drain -----------------------------------------------------------------------------------


def test_sigterm_lets_the_request_in_flight_finish_and_refuses_new_connections(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server()
    conn = server.connection()
    conn.request("POST", "/slow", body=b"{}")
    server.wait_for("started slow")

    server.signal(signal.SIGTERM)
    server.wait_for(r"SIGTERM: no longer listening; draining 1 connection\(s\)")
    assert_refused(server.port)
    assert server.proc.poll() is None  # still draining

    server.release()
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"done")
    assert server.wait_exit() == 0


def test_sigterm_serves_a_request_queued_for_a_worker_thread(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server("--threads", "1")
    first, second = server.connection(), server.connection()
    first.request("POST", "/slow", body=b"{}")
    server.wait_for("started slow")
    second.request("POST", "/slow", body=b"{}")
    # waitress's own warning: the second request is received and waits for the one worker thread
    server.wait_for("Task queue depth is 1")

    server.signal(signal.SIGTERM)
    server.wait_for(r"draining 2 connection\(s\)")
    assert_refused(server.port)

    server.release(2)
    for conn in (first, second):
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"done")
    assert server.wait_exit() == 0


def test_sigterm_waits_for_a_request_whose_body_is_still_arriving(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: fn\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        # 100 Continue: the server has received the headers and waits for the body
        assert sock.recv(1024).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")

        server.signal(signal.SIGTERM)
        server.wait_for(r"draining 1 connection\(s\)")
        assert_refused(server.port)

        sock.sendall(b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        answer = read_to_eof(sock)  # the server closes the connection after the response
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == b"hello world"
    assert server.wait_exit() == 0


def test_sigterm_when_idle_closes_keep_alive_connections_and_exits(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server()
    conn = server.connection()
    conn.request("POST", "/echo", body=b"hi")
    response = conn.getresponse()
    assert (response.status, response.read()) == (200, b"hi")
    assert response.getheader("Connection") is None  # kept alive
    assert conn.sock is not None

    server.signal(signal.SIGTERM)
    server.wait_for(r"draining 1 connection\(s\)")
    assert server.wait_exit() == 0  # not after waitress's 120 s idle timeout: TIMEOUT is shorter
    assert conn.sock.recv(1) == b""
    conn.close()


def test_drain_timeout_bounds_a_request_that_never_finishes(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server("--drain-timeout", "0.5")
    conn = server.connection()
    conn.request("POST", "/hang", body=b"{}")
    server.wait_for("started hang")

    server.signal(signal.SIGTERM)
    assert server.wait_exit() == 0
    assert "drain cut short by drain_timeout (0.5 s): closing 1 connection(s)" in server.log
    with pytest.raises(ConnectionError):  # closed without a response
        conn.getresponse()


def test_a_second_signal_cuts_the_drain_short(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server()
    conn = server.connection()
    conn.request("POST", "/hang", body=b"{}")
    server.wait_for("started hang")

    server.signal(signal.SIGTERM)
    server.wait_for(r"draining 1 connection\(s\)")
    server.signal(signal.SIGINT)
    assert server.wait_exit() == 0
    assert "drain cut short by a second stop" in server.log
    with pytest.raises(ConnectionError):
        conn.getresponse()


# --- in process: signal handlers, threads, stop() ----------------------------------------------


class _LogWatch(logging.Handler):
    """Collects the server's log messages; ``wait(pattern)`` blocks until one matches."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        with self._changed:
            self.messages.append(record.getMessage())
            self._changed.notify_all()

    def wait(self, pattern: str) -> re.Match[str]:
        found: list[re.Match[str]] = []

        def matched() -> bool:
            found.extend(m for m in (re.search(pattern, msg) for msg in self.messages) if m)
            return bool(found)

        with self._changed:
            assert self._changed.wait_for(matched, timeout=TIMEOUT), f"no log {pattern!r} in {self.messages}"
        return found[0]


@pytest.fixture
def log_watch() -> Iterator[_LogWatch]:
    watch = _LogWatch()
    logger = logging.getLogger(_server.__name__)
    level = logger.level
    logger.addHandler(watch)
    logger.setLevel(logging.INFO)
    try:
        yield watch
    finally:
        logger.removeHandler(watch)
        logger.setLevel(level)


def assert_workers_exit(besides: Iterable[threading.Thread]) -> None:
    """Every waitress worker thread but ``besides`` ends (each is at most returning from its loop)."""
    for thread in waitress_threads(besides):
        thread.join(TIMEOUT)
    assert waitress_threads(besides) == set()


def waitress_threads(besides: Iterable[threading.Thread] = ()) -> set[threading.Thread]:
    """waitress's worker threads alive now, other than ``besides`` (those of other tests)."""
    return {t for t in threading.enumerate() if t.name.startswith("waitress-")} - set(besides)


def test_signal_handlers_are_installed_only_while_serving(log_watch: _LogWatch) -> None:
    assert threading.current_thread() is threading.main_thread()
    caught: list[int] = []
    handlers_while_serving: list[Any] = []

    def sentinel(signum: int, frame: object) -> None:
        caught.append(signum)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        handlers_while_serving.extend(signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT))
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    answers: list[tuple[int, bytes]] = []

    def client() -> None:
        port = int(log_watch.wait(r"serving on http://127\.0\.0\.1:(\d+)").group(1))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        conn.request("GET", "/")
        response = conn.getresponse()
        answers.append((response.status, response.read()))
        conn.close()
        os.kill(os.getpid(), signal.SIGTERM)  # handled by serve_wsgi's handler, in the main thread

    before = waitress_threads()
    previous_term = signal.signal(signal.SIGTERM, sentinel)
    previous_int = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=client)
    try:
        thread.start()
        serve_wsgi(app, "127.0.0.1", 0, threads=2)
        thread.join(TIMEOUT)
        assert signal.getsignal(signal.SIGTERM) is sentinel
        assert signal.getsignal(signal.SIGINT) is previous_int
    finally:
        signal.signal(signal.SIGTERM, previous_term)
    assert answers == [(200, b"ok")]
    assert caught == []
    assert len(handlers_while_serving) == 2
    assert sentinel not in handlers_while_serving and previous_int not in handlers_while_serving
    assert_workers_exit(besides=before)


def test_stop_from_another_thread_drains(log_watch: _LogWatch) -> None:
    started, release = threading.Event(), threading.Event()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started.set()
        release.wait(TIMEOUT)
        start_response("200 OK", [("Content-Length", "4")])
        return [b"done"]

    before = waitress_threads()
    server = DrainingServer(app, "127.0.0.1", 0, threads=2)
    [(host, port)] = server.addresses
    assert (host, server.urls) == ("127.0.0.1", [f"http://127.0.0.1:{port}"])
    serving = threading.Thread(target=server.serve)
    serving.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        conn.request("GET", "/")
        assert started.wait(TIMEOUT)
        server.stop()
        log_watch.wait(r"stop requested: no longer listening; draining 1 connection\(s\)")
        assert_refused(port)
        release.set()
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"done")
        serving.join(TIMEOUT)
        assert not serving.is_alive()
    finally:
        release.set()
        if serving.is_alive():  # the test failed: a second stop cuts the drain short
            server.stop()
            server.stop()
            serving.join(TIMEOUT)
    assert_workers_exit(besides=before)
    with pytest.raises(RuntimeError):
        server.serve()


def test_close_releases_a_server_that_never_serves() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise AssertionError("never called")

    before = waitress_threads()
    server = DrainingServer(app, "127.0.0.1", 0, threads=3)
    [(_, port)] = server.addresses
    workers = waitress_threads(besides=before)
    assert len(workers) == 3
    server.close()
    assert_refused(port)
    assert_workers_exit(besides=before)
    server.stop()  # harmless once closed


def test_invalid_arguments() -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise AssertionError("never called")

    with pytest.raises(ValueError, match="threads"):
        DrainingServer(app, "127.0.0.1", 0, threads=0)
    with pytest.raises(ValueError, match="drain_timeout"):
        serve_wsgi(app, "127.0.0.1", 0, drain_timeout=-1)


def test_a_waitress_without_the_internals_fails_at_startup() -> None:
    with pytest.raises(ConfigurationError, match="BaseWSGIServer in the socket map"):
        _server._check_waitress([])


def test_the_module_imports_no_asyncio_starlette_or_uvicorn() -> None:
    # The module on its own, without servey_faas.faas.runtime's package __init__ (which is not its concern).
    probe = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('svf_server_probe', {str(Path(_server.__file__))!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('asyncio', 'starlette', 'uvicorn', 'anyio')))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=TIMEOUT, check=True)
    assert result.stdout.strip() == "[]"


def _exchange(port: int, request: bytes) -> tuple[int, str, dict[str, Any]]:
    """Send raw ``request`` bytes; the status, content type and JSON body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ")[1]), headers["content-type"], json.loads(body)


def test_waitress_refusals_carry_json_error_bodies() -> None:
    """What waitress refuses before the app runs (a body over ``max_body_bytes``, broken chunked
    encoding) is answered with the app's JSON error body, not waitress's text; an announced body
    over the limit is refused from its headers, without a 100 Continue."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        raise AssertionError("never called")

    server = DrainingServer(app, "127.0.0.1", 0, threads=1, max_body_bytes=10)
    [(_, port)] = server.addresses
    serving = threading.Thread(target=server.serve)
    serving.start()
    try:
        head = b"POST / HTTP/1.1\r\nHost: x\r\n"
        too_large = (413, "application/json", {
            "error": "payload_too_large", "message": "the request body is larger than the limit of 10 bytes"
        })  # fmt: skip
        announced = head + b"Content-Length: 11\r\nExpect: 100-continue\r\n\r\n"
        assert _exchange(port, announced) == too_large
        chunked = head + b"Transfer-Encoding: chunked\r\n\r\n6\r\n123456\r\n6\r\n123456\r\n0\r\n\r\n"
        assert _exchange(port, chunked) == too_large
        status, content_type, body = _exchange(port, head + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n")
        assert (status, content_type, body["error"]) == (400, "application/json", "bad_request")
    finally:
        server.stop()
        serving.join(TIMEOUT)
