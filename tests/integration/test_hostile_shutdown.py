"""Hostile probes of the dev server's timeouts and shutdown, over real ``python -m servey_faas``
processes: requests that never end, SIGTERM, a second SIGTERM, ``--reload``, action timeouts and
clients that go away; and the start-up heap kept out of the garbage collector's way (a collection of
it would stall every request for milliseconds, ``servey_faas/heap.py``).

Each test writes a small actions module into its own project folder (so that the single-scheduler
lock is its own) and starts the server there on a free port. Every process is stopped and reaped
when its test ends. The deadlines below are safety nets, except where a test checks that a process
stopped within the shutdown grace plus a margin (what the grace promises) and the one 100 ms bound
of the hostile-input suite.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from servey_faas.faas.gateway.processes import free_port

#: Seconds a server may take to start or a probe to show its effect (safety nets).
DEADLINE = 60.0
#: The shutdown grace the servers here are started with (SERVER_SHUTDOWN_GRACE).
GRACE = 1.5
#: How much longer than the grace a stop may take: the drain's last poll, cancelling what is
#: left, the lifespan shutdown and the process exit (tenths of a second), with room for a busy machine.
STOP_MARGIN = 2.0

ACTIONS = '''
    import asyncio
    import os
    import time

    from servey_faas import WEB_GET, WEB_POST, FixedRateTrigger, action


    def mark(text: str) -> None:
        with open(os.environ["MARKS_FILE"], "a", encoding="utf-8") as f:
            f.write(f"{text} {time.time()}\\n")


    @action(triggers=(WEB_GET,))
    def say_hello(name: str) -> str:
        return f"Hello {name}!"


    @action(triggers=(WEB_GET,))
    def server_pid() -> int:
        return os.getpid()


    @action(triggers=(WEB_GET,))
    def slow_echo(text: str = "", delay: float = 0.0) -> str:
        """Sleeps ``delay`` seconds on its worker thread (1e300: for ever), then echoes."""
        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 0.5))
        return text


    @action(triggers=(WEB_GET,))
    async def slow_echo_async(text: str = "", delay: float = 0.0) -> str:
        end = time.monotonic() + delay
        while (left := end - time.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.5))
        return text


    @action(triggers=(WEB_GET,))
    async def stubborn() -> str:
        """Never returns and ignores cancellation: only the hard stop ends its process."""
        while True:
            try:
                await asyncio.sleep(0.5)
            except asyncio.CancelledError:
                mark("stubborn-cancelled")


    @action(triggers=(WEB_GET, WEB_POST), timeout=0.5)
    def sleepy(delay: float) -> str:
        time.sleep(delay)
        mark("sleepy-finished")
        return "rested"


    @action(triggers=(WEB_GET,), timeout=0.5)
    async def sleepy_async(delay: float) -> str:
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            mark("sleepy_async-cancelled")
            raise
        return "rested"


    @action(triggers=(WEB_GET, WEB_POST))
    async def watched(delay: float) -> str:
        mark("watched-started")
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            mark("watched-cancelled")
            raise
        mark("watched-finished")
        return "done"


    @action(triggers=(WEB_GET,))
    def frozen_objects() -> int:
        import gc

        return gc.get_freeze_count()


    @action(triggers=(FixedRateTrigger(0.5),))
    def tick() -> None:
        mark("tick")
'''


@dataclass
class Server:
    """A dev server process and what it wrote."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    marks_file: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def marks(self, name: str) -> list[float]:
        """When each ``name`` mark was written (``time.time()``), in order."""
        if not self.marks_file.exists():
            return []
        lines = self.marks_file.read_text(encoding="utf-8").splitlines()
        return [float(line.split()[1]) for line in lines if line.split()[0] == name]

    def get(self, path: str, timeout: float = DEADLINE) -> httpx.Response:
        return httpx.get(self.url + path, timeout=timeout)

    def stop_time(self, since: float) -> float:
        """Seconds from ``since`` (``time.monotonic()``) until the process exits."""
        self.process.wait(timeout=DEADLINE)
        return time.monotonic() - since


Start = Callable[..., Server]


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Start]:
    """``start(*flags)`` serves :data:`ACTIONS` with ``python -m servey_faas`` (grace :data:`GRACE`)."""
    started: list[Server] = []

    def run(*flags: str) -> Server:
        project = tmp_path / f"project-{len(started)}"
        project.mkdir()
        (project / "shutdown_actions.py").write_text(textwrap.dedent(ACTIONS), encoding="utf-8")
        (project / "pyproject.toml").write_text('[tool.servey_faas]\nactions = "shutdown_actions"\n', encoding="utf-8")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVEY_", "SERVER_"))}
        env.pop("PYTHONPATH", None)
        env.update(PYTHONUNBUFFERED="1", MARKS_FILE=str(project / "marks"), SERVER_SHUTDOWN_GRACE=str(GRACE))
        log = project / "server.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "servey_faas", "--port", str(port), *flags],
                cwd=project,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its group can be killed whole, --reload's worker too
            )
        server = Server(process, f"http://127.0.0.1:{port}", log, project / "marks")
        started.append(server)
        _wait_until_up(server)
        return server

    yield run
    for server in started:
        _kill_group(server.process)


def _wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited with {server.process.returncode}:\n{server.output()}")
        try:
            if server.get("/actions/say-hello?name=up", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the server did not answer:\n{server.output()}")
        time.sleep(0.05)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    process.wait(timeout=DEADLINE)


def _wait_for(condition: Callable[[], bool], what: str, server: Server) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen:\n{server.output()}")
        time.sleep(0.02)


class Hanging:
    """A request sent on a thread of its own; :attr:`response` once answered (or the error)."""

    def __init__(self, server: Server, path: str) -> None:
        self.response: httpx.Response | None = None
        self.error: Exception | None = None
        self._thread = threading.Thread(target=self._send, args=(server, path), daemon=True)
        self._thread.start()

    def _send(self, server: Server, path: str) -> None:
        try:
            self.response = server.get(path)
        except Exception as e:
            self.error = e

    def join(self) -> None:
        self._thread.join(DEADLINE)


def _in_flight(server: Server, path: str) -> Hanging:
    """Send ``path`` and return once the server runs it (a request to it is open)."""
    request = Hanging(server, path)
    time.sleep(0.3)  # a head start; the probe below does not depend on it
    assert request.response is None and request.error is None, (request.response, request.error)
    return request


def _answers_small_request_quickly(server: Server) -> None:
    """The server still answers, and a small request takes under 100 ms (best of three)."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        response = server.get("/actions/say-hello?name=again")
        times.append(time.perf_counter() - started)
        assert (response.status_code, response.json()) == (200, "Hello again!")
    assert min(times) < 0.1, times


# --- a request that never ends, then SIGTERM -----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/actions/slow-echo?delay=100000",
        "/actions/slow-echo?delay=1e300",
        "/actions/slow-echo-async?delay=100000",
        "/actions/slow-echo-async?delay=1e300",
    ],
)
def test_sigterm_stops_schedules_then_exits_within_the_grace(start: Start, path: str) -> None:
    server = start()
    _wait_for(lambda: len(server.marks("tick")) >= 2, "two scheduled runs", server)
    request = _in_flight(server, path)

    sent, sent_at = time.time(), time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    took = server.stop_time(sent_at)
    request.join()

    output = server.output()
    assert took < GRACE + STOP_MARGIN, (took, output)
    assert took >= GRACE - 0.2, (took, output)  # the request was given its grace
    assert server.process.returncode == -signal.SIGTERM
    # a run that was being dispatched when the signal came may still write its mark; no new one starts
    assert len([t for t in server.marks("tick") if t > sent]) <= 1, (sent, server.marks("tick"))
    assert request.response is not None, request.error
    assert request.response.status_code == 503
    assert request.response.json() == {"error": "unavailable", "message": "the server is stopping"}
    assert "ending the process now" not in output  # it stopped by itself, not by the hard stop
    assert "Traceback" not in output


@pytest.mark.parametrize(
    ("flags", "status"),
    [((), -signal.SIGTERM), (("--reload",), 0)],  # the reload supervisor exits 0
    ids=["server", "reload"],
)
def test_a_second_sigterm_stops_at_once(start: Start, flags: tuple[str, ...], status: int) -> None:
    server = start("--shutdown-grace", "30", *flags)
    request = _in_flight(server, "/actions/slow-echo?delay=100000")

    server.process.send_signal(signal.SIGTERM)
    _wait_for(lambda: "Waiting for connections to close" in server.output(), "the drain", server)
    second = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    took = server.stop_time(second)
    request.join()

    assert took < 1 + STOP_MARGIN, (took, server.output())
    assert server.process.returncode == status


def test_an_action_that_ignores_cancellation_does_not_hold_sigterm(start: Start) -> None:
    server = start()
    request = _in_flight(server, "/actions/stubborn")

    sent = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    took = server.stop_time(sent)
    request.join()

    assert server.marks("stubborn-cancelled"), server.output()  # the grace ran out and it was cancelled
    assert took < GRACE + STOP_MARGIN, (took, server.output())
    assert server.process.returncode == -signal.SIGTERM


def test_an_action_that_ignores_cancellation_is_ended_by_the_hard_stop_after_sigint(start: Start) -> None:
    """SIGINT ends uvicorn with KeyboardInterrupt, and asyncio.run then waits for every task to
    take its cancellation: this one never does, so the hard stop ends the process."""
    from servey_faas.cli._dev_server import HARD_STOP_MARGIN

    server = start()
    request = _in_flight(server, "/actions/stubborn")

    sent = time.monotonic()
    server.process.send_signal(signal.SIGINT)
    took = server.stop_time(sent)
    request.join()

    output = server.output()
    assert server.marks("stubborn-cancelled"), output
    assert GRACE + HARD_STOP_MARGIN - 0.2 <= took < GRACE + HARD_STOP_MARGIN + STOP_MARGIN, (took, output)
    assert "Still running after SIGINT: ending the process now" in output
    assert server.process.returncode == 128 + signal.SIGINT


def test_reload_worker_stops_within_the_grace_too(start: Start) -> None:
    server = start("--reload")
    worker = server.get("/actions/server-pid").json()
    assert worker != server.process.pid
    _wait_for(lambda: len(server.marks("tick")) >= 2, "two scheduled runs", server)
    request = _in_flight(server, "/actions/slow-echo?delay=100000")

    sent, sent_at = time.time(), time.monotonic()
    server.process.send_signal(signal.SIGTERM)  # the supervisor, which forwards it to its worker
    took = server.stop_time(sent_at)
    request.join()

    assert took < GRACE + STOP_MARGIN, (took, server.output())
    assert len([t for t in server.marks("tick") if t > sent]) <= 1
    assert request.response is not None and request.response.status_code == 503
    with pytest.raises(ProcessLookupError):  # the supervisor waited for its worker to exit
        os.kill(worker, 0)


# --- timeouts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "action"),
    [("/actions/sleepy?delay=100000", "sleepy"), ("/actions/sleepy-async?delay=100000", "sleepy_async")],
)
def test_a_timeout_answers_504_and_the_server_goes_on(start: Start, path: str, action: str) -> None:
    server = start()

    response = server.get(path)

    assert response.status_code == 504
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": "gateway_timeout",
        "message": f"action {action!r} did not finish within its timeout of 0.5 s",
    }
    _answers_small_request_quickly(server)
    if action == "sleepy_async":
        _wait_for(lambda: bool(server.marks("sleepy_async-cancelled")), "the cancellation", server)
    else:
        _wait_for(lambda: "'sleepy': left running on its worker thread" in server.output(), "the log line", server)


def test_abandoned_sync_calls_are_counted_while_they_run(start: Start) -> None:
    server = start()

    assert server.get("/actions/sleepy?delay=1.5").status_code == 504
    _wait_for(lambda: bool(server.marks("sleepy-finished")), "the abandoned call's end", server)
    assert server.get("/actions/sleepy?delay=100000").status_code == 504
    assert server.get("/actions/sleepy?delay=100000").status_code == 504

    counts = [line.rpartition("(")[2] for line in server.output().splitlines() if "left running" in line]
    # the first call had ended (and left the count) before the next two were abandoned
    assert counts == ["1 such calls running)", "1 such calls running)", "2 such calls running)"]
    _answers_small_request_quickly(server)


def test_a_graphql_field_past_its_timeout_is_a_gateway_timeout_error(start: Start) -> None:
    server = start()

    response = httpx.post(
        server.url + "/graphql", json={"query": "mutation { sleepy(delay: 100000) }"}, timeout=DEADLINE
    )

    assert response.status_code == 200
    assert response.json() == {
        "data": None,
        "errors": [
            {
                "message": "action 'sleepy' did not finish within its timeout of 0.5 s",
                "locations": [{"line": 1, "column": 12}],
                "path": ["sleepy"],
                "extensions": {"code": "GATEWAY_TIMEOUT"},
            }
        ],
    }
    _answers_small_request_quickly(server)


# --- a client that goes away ---------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_client_that_disconnects_cancels_its_async_action(start: Start, method: str) -> None:
    server = start()
    host, port = server.url.removeprefix("http://").split(":")
    if method == "GET":
        request = f"GET /actions/watched?delay=30 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    else:
        body = json.dumps({"delay": 30}).encode()
        request = (
            f"POST /actions/watched HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body

    with socket.create_connection((host, int(port)), timeout=DEADLINE) as sock:
        sock.sendall(request)
        _wait_for(lambda: bool(server.marks("watched-started")), "the action's start", server)

    _wait_for(lambda: bool(server.marks("watched-cancelled")), "the action's cancellation", server)
    assert server.marks("watched-finished") == []
    _answers_small_request_quickly(server)


@pytest.mark.parametrize("flags", [(), ("--reload",)], ids=["server", "reload-worker"])
def test_the_start_up_heap_is_out_of_the_collectors_way(start: Start, flags: tuple[str, ...]) -> None:
    server = start(*flags)
    # Everything built before the first request (modules, the app, its schemas): many thousands of
    # objects; 0 when nothing was frozen.
    assert server.get("/actions/frozen-objects").json() > 10_000
    assert server.get("/actions/say-hello?name=after").json() == "Hello after!"
