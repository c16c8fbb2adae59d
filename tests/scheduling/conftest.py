"""Fixtures for the scheduling tests: a real redis-server, Celery processes, a virtual clock.

redis-server comes from Debian (``apt-get install -y redis-server``; ``.ci/run`` installs it). A
test that needs it fails, with that hint, when it is missing: it is never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from servey_faas.faas.gateway.processes import free_port

HERE = Path(__file__).parent
#: Seconds to wait for a process to start or stop (a safety net for hangs, not a performance target).
PROCESS_TIMEOUT = 30.0


@dataclass(frozen=True)
class RedisServer:
    port: int

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, db=db, socket_timeout=10)


def _start_redis(exe: str) -> tuple[subprocess.Popen[bytes], int]:
    last = ""
    for _ in range(3):  # a free port may be taken between the probe and redis binding it
        port = free_port()
        proc = subprocess.Popen(
            [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + PROCESS_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping():
                    return proc, port
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        proc.kill()
        out, _ = proc.communicate(timeout=PROCESS_TIMEOUT)
        last = out.decode(errors="replace")[-2000:]
    raise RuntimeError(f"redis-server did not start:\n{last}")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server of this test session on a free 127.0.0.1 port, no persistence; stopped at the end."""
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.fail(
            "redis-server is not installed; these tests need a real Redis: "
            "apt-get update && apt-get install -y redis-server (.ci/run installs it)",
            pytrace=False,
        )
    proc, port = _start_redis(exe)
    try:
        yield RedisServer(port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=PROCESS_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=PROCESS_TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
def counters(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """Redis db 1, emptied: where the test actions count their runs (``SERVEY_TEST_REDIS``)."""
    client = redis_server.client(1)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


def celery_command(run: str) -> list[str]:
    """The command line of ``--run=celery-worker`` / ``--run=celery-beat``: through ``python -m
    servey_faas`` once the run is registered there, else through the scheduling module's own CLI."""
    from servey_faas.cli.main import RUNS

    if run in RUNS:
        return [sys.executable, "-m", "servey_faas", f"--run={run}"]
    return [sys.executable, "-m", "servey_faas.cli.celery", run]


@contextlib.contextmanager
def process(args: list[str], env: Mapping[str, str], log: Path, cwd: Path = HERE) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``args`` in its own process group, output to ``log``; on exit SIGTERM the group, then
    SIGKILL it after :data:`PROCESS_TIMEOUT` seconds, so nothing is left behind."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, env={**os.environ, **env}, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                try:
                    proc.wait(timeout=PROCESS_TIMEOUT)
                    break
                except subprocess.TimeoutExpired:
                    continue
            with contextlib.suppress(ProcessLookupError):  # children of a prefork pool, if any
                os.killpg(proc.pid, signal.SIGKILL)


def wait_for(predicate: object, what: str, timeout: float = 60.0, logs: tuple[Path, ...] = ()) -> None:
    """Poll ``predicate()`` until true; fail naming ``what`` (and showing ``logs``) after ``timeout`` s."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    shown = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"timed out after {timeout:g}s waiting for {what}\n{shown}")


class FakeClock:
    """Virtual time for the scheduler: ``sleep`` waits until :meth:`advance` moves time past the
    wake-up time; both clocks (monotonic and wall) move together."""

    def __init__(self, wall: float = 1_800_000_000.0) -> None:
        self.now = 0.0
        self.wall_offset = wall
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._ids = itertools.count()

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall_offset + self.now

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._ids), future))
        await future

    async def _settle(self) -> None:
        for _ in range(20):
            await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``, waking sleepers in order and letting tasks run."""
        target = self.now + seconds
        await self._settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            if not future.done():
                future.set_result(None)
            await self._settle()
        self.now = target
        await self._settle()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
