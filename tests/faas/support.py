"""Helpers of the deploy and runtime tests: the demo app, a test app written to a folder, function
processes started from build contexts and called as the watchdog calls its upstream."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from servey_faas.app import ServeyApp
from servey_faas.faas.gateway.processes import free_port
from servey_faas.settings import Settings
from tests.demo import importable

#: The test app: every kind of trigger, a path param, a nested dataclass, an async action, an
#: action that raises, one that reads a secret, timeouts.
TEST_ACTIONS = '''
    """Actions of the deploy and runtime tests."""

    import asyncio
    from dataclasses import dataclass

    from servey_faas import WEB_GET, WEB_POST, CronTrigger, Example, FixedRateTrigger, WebTrigger, action
    from servey_faas.faas.runtime import read_secret


    @dataclass(frozen=True)
    class Point:
        x: int
        y: int


    @action(
        triggers=(WEB_GET,),
        examples=(Example(name="world", params={"name": "World"}, result="Hello World!"),),
    )
    def greet(name: str, punctuation: str = "!") -> str:
        """Greet someone."""
        return f"Hello {name}{punctuation}"


    @action(triggers=(WebTrigger("POST", "/points/{dx}"),), timeout=2.5)
    async def move(dx: int, point: Point) -> Point:
        """Move a point right by dx."""
        await asyncio.sleep(0)
        return Point(point.x + dx, point.y)


    @action(triggers=(WEB_POST,))
    def explode(reason: str = "boom") -> str:
        """Always fails."""
        raise RuntimeError(reason)


    @action(triggers=(FixedRateTrigger(300),))
    def tick() -> int:
        """Every five minutes."""
        return 1


    @action(triggers=(FixedRateTrigger(90),))
    def slow_tick() -> str:
        """Every ninety seconds."""
        return "tock"


    @action(triggers=(CronTrigger("0 9 * * MON-FRI"), WEB_GET), timeout=90)
    def report() -> str:
        """Weekdays at nine."""
        return "report"


    @action(triggers=(WEB_GET,))
    async def nap(seconds: float) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return "rested"


    @action(triggers=(WEB_GET,))
    def show_secret(name: str) -> str:
        """The value of a mounted secret."""
        return read_secret(name)
'''


@dataclass(frozen=True)
class Project:
    """A project folder holding one actions package."""

    root: Path
    package: str

    def settings(self, **environ: str) -> Settings:
        return Settings.load({"SERVEY_ACTION_PATH": self.package, **environ}, self.root)


def write_project(root: Path, package: str, source: str = TEST_ACTIONS) -> Project:
    """Write ``package/__init__.py`` with ``source`` under ``root``."""
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
    return Project(root, package)


def load_app(project: Project, **environ: str) -> ServeyApp:
    with importable(project.root):
        return ServeyApp.load(project.settings(**environ))


@dataclass
class FunctionProcess:
    """``python index.py`` started in a build context, listening where ``upstream_url`` points."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def raw(self, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
        """Send ``request`` bytes as they are (HTTP/1.1, the caller closes), return status, headers
        (lower-case names) and the body (de-chunked if needed)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(request)
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if headers.get("transfer-encoding") == "chunked":
            body = _dechunk(body)
        return status, headers, body


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


@contextlib.contextmanager
def function_process(
    context: Path, environ: Mapping[str, str] | None = None, timeout: float = 30.0
) -> Iterator[FunctionProcess]:
    """Start ``python index.py`` in ``context`` (its own copy of servey_faas first on the path), wait
    until ``GET /_/ready`` answers, yield it; SIGTERM it on exit (killed after 10 s), never left behind.

    :raises RuntimeError: when it exits or does not get ready within ``timeout`` seconds.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SERVEY_", "JWT_", "PYTHON"))}
    env.update({"upstream_url": f"http://127.0.0.1:{port}", **(environ or {})})
    process = subprocess.Popen(
        [sys.executable, "index.py"], cwd=context, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    running = FunctionProcess(process, port)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{context} exited with {process.returncode}: {process.stderr.read()!r}")  # type: ignore[union-attr]
            if time.monotonic() > deadline:
                raise RuntimeError(f"{context} did not get ready within {timeout} s")
            try:
                status, _, _ = running.raw(b"GET /_/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 2.0)
            except OSError:
                time.sleep(0.02)
                continue
            if status == 200:
                break
        yield running
    finally:
        stop(process)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def stop(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM ``process`` and wait (SIGKILL after ``timeout`` s); returns its exit code. Its
    output pipes stay open for reading what it logged."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
