"""The local scheduler in real uvicorn servers, on real time: started by the lifespan, one
scheduler across uvicorn workers."""

from __future__ import annotations

import itertools
import socket
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette

from servey_faas import FixedRateTrigger, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.scheduling import CelerySettings, local_schedules
from servey_faas.settings import Settings
from tests.scheduling.conftest import process, wait_for

WINDOW = 5.0


@dataclass
class Record:
    ticks: list[float] = field(default_factory=list)
    failures: list[float] = field(default_factory=list)
    slow_runs: list[tuple[float, float]] = field(default_factory=list)
    window: tuple[float, float] = (0.0, 0.0)

    def in_window(self, times: list[float]) -> int:
        start, end = self.window
        return sum(1 for t in times if start <= t < end)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Record:
    """Serve three 1-second actions with uvicorn for a while; what they did."""
    record = Record()

    @action(triggers=(FixedRateTrigger(1),))
    def tick() -> None:
        record.ticks.append(time.monotonic())

    @action(triggers=(FixedRateTrigger(1),))
    def broken() -> None:
        record.failures.append(time.monotonic())
        raise ValueError("broken on purpose")

    @action(triggers=(FixedRateTrigger(1),))
    def slow() -> None:
        start = time.monotonic()
        time.sleep(1.5)
        record.slow_runs.append((start, time.monotonic()))

    folder = tmp_path_factory.mktemp("served")
    actions = [a for a in map(get_action, (tick, broken, slow)) if a is not None]
    app = ServeyApp.from_registry(ActionRegistry(actions), Settings(project_dir=folder))
    web = Starlette(lifespan=lambda _: local_schedules(app, celery=CelerySettings(), lock_dir=folder))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(web, lifespan="on", log_config=None, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, "uvicorn to start", timeout=30)
        wait_for(lambda: len(record.ticks) >= 1, "the first tick")
        start = time.monotonic()
        time.sleep(WINDOW)
        record.window = (start, time.monotonic())
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
    assert not thread.is_alive(), "uvicorn did not stop"
    return record


def test_fixed_rate_action_fires_at_least_4_times_in_5_seconds(served: Record) -> None:
    assert served.in_window(served.ticks) >= 4, served.ticks


def test_failing_action_keeps_firing(served: Record) -> None:
    assert served.in_window(served.failures) >= 4, served.failures


def test_slow_runs_never_overlap(served: Record) -> None:
    runs = sorted(served.slow_runs)
    assert len(runs) >= 2
    for (_, end), (next_start, _) in itertools.pairwise(runs):
        assert next_start >= end, f"a run started at {next_start} before the previous one ended at {end}"


def test_schedules_stop_with_the_server(served: Record) -> None:
    count = len(served.ticks)
    time.sleep(1.5)
    assert len(served.ticks) == count


_FACTORY = """
import os
import time
from pathlib import Path

from starlette.applications import Starlette

from servey_faas import FixedRateTrigger, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.scheduling import CelerySettings, local_schedules
from servey_faas.settings import Settings


@action(triggers=(FixedRateTrigger(1),))
def stamp() -> None:
    with open(os.environ["STAMP_FILE"], "a") as f:
        f.write(f"{os.getpid()} {time.time()}\\n")


def create() -> Starlette:
    app = ServeyApp.from_registry(ActionRegistry([get_action(stamp)]), Settings(project_dir=Path.cwd()))
    return Starlette(lifespan=lambda _: local_schedules(app, celery=CelerySettings(), lock_dir=Path.cwd()))
"""


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    (tmp_path / "stamp_app.py").write_text(textwrap.dedent(_FACTORY))
    stamps, log = tmp_path / "stamps.txt", tmp_path / "uvicorn.log"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = [sys.executable, "-m", "uvicorn", "stamp_app:create", "--factory", "--workers", "2", "--host", "127.0.0.1"]
    with process(
        [*args, "--port", str(port)], {"STAMP_FILE": str(stamps), "PYTHONPATH": str(tmp_path)}, log, cwd=tmp_path
    ):
        yield stamps, log


def test_one_scheduler_across_uvicorn_workers(two_workers: tuple[Path, Path]) -> None:
    stamps, log = two_workers

    def lines() -> list[str]:
        return stamps.read_text().splitlines() if stamps.exists() else []

    wait_for(lambda: log.read_text().count("Application startup complete") >= 2, "both workers to start", logs=(log,))
    wait_for(lambda: len(lines()) >= 5, "5 stamps", logs=(log,))
    pids = {line.split()[0] for line in lines()}
    assert len(pids) == 1, f"more than one worker ran the schedule: {lines()}"
