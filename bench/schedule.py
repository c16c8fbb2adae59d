"""Fire-time lateness of the schedulers for a 1-second action: the local scheduler and Celery beat.

Lateness is when the action's body starts minus when it was due:

* local: a sync action (so the run includes the hop to a worker thread) on a
  :class:`~servey_faas.scheduling.LocalScheduler`; due = ``started_at + k·1s`` (monotonic clock);
* Celery: beat + a solo-pool worker on Redis, as subprocesses; fixed rates fire on whole seconds of
  the wall clock, so due = ``floor(t)``. The first run is left out (it may wait for the worker
  to start).

Targets: local p99 < 20 ms, Celery p99 < 250 ms. Usage::

    python bench/schedule.py [--duration 30] [--only local|celery]

Celery uses ``CELERY_BROKER`` when set (a Redis URL), else starts ``redis-server`` on a free
loopback port (``apt-get install -y redis-server``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

INTERVAL = 1.0
TARGETS_MS = {"local": 20.0, "celery": 250.0}


def summary(name: str, lateness: list[float]) -> bool:
    """Print p50, p99 and max lateness in ms; True when p99 meets the target."""
    if not lateness:
        print(f"{name:7s} no fires recorded")
        return False
    ms = sorted(x * 1000 for x in lateness)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, math.ceil(0.99 * len(ms)) - 1)]
    target = TARGETS_MS[name]
    ok = p99 < target
    print(
        f"{name:7s} fires={len(ms):3d}  p50={p50:7.2f} ms  p99={p99:7.2f} ms  max={ms[-1]:7.2f} ms  "
        f"min={ms[0]:7.2f} ms  target p99 < {target:g} ms: {'met' if ok else 'MISSED'}"
    )
    return ok


def bench_local(duration: float) -> list[float]:
    from servey_faas import FixedRateTrigger, action, get_action
    from servey_faas.app import ServeyApp
    from servey_faas.discovery import ActionRegistry
    from servey_faas.scheduling import LocalScheduler

    runs: list[float] = []

    @action(triggers=(FixedRateTrigger(INTERVAL),))
    def bench_tick() -> None:
        runs.append(time.monotonic())

    found = get_action(bench_tick)
    assert found is not None
    app = ServeyApp.from_registry(ActionRegistry([found]))

    async def main() -> float:
        scheduler = LocalScheduler(app)
        async with scheduler:
            await asyncio.sleep(duration + INTERVAL / 2)
        assert scheduler.started_at is not None
        return scheduler.started_at

    origin = asyncio.run(main())
    return [t - (origin + round((t - origin) / INTERVAL) * INTERVAL) for t in runs]


_ACTIONS = """
import os
import time

import redis

from servey_faas import FixedRateTrigger, action


@action(triggers=(FixedRateTrigger(1),))
def bench_tick() -> None:
    now = time.time()
    with redis.Redis.from_url(os.environ["BENCH_REDIS"]) as r:
        r.rpush("bench_tick", now)
"""


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], log: Path, cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)


@contextlib.contextmanager
def _redis_url() -> Iterator[str]:
    if os.environ.get("CELERY_BROKER"):
        yield os.environ["CELERY_BROKER"]
        return
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not installed: apt-get install -y redis-server (or set CELERY_BROKER)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis(host="127.0.0.1", port=port).ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _celery_command(run: str) -> list[str]:
    from servey_faas.cli.main import RUNS

    if run in RUNS:
        return [sys.executable, "-m", "servey_faas", f"--run={run}"]
    return [sys.executable, "-m", "servey_faas.cli.celery", run]


def bench_celery(duration: float) -> list[float]:
    import redis

    with _redis_url() as broker, tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "bench_actions.py").write_text(textwrap.dedent(_ACTIONS))
        counters_url = broker.rsplit("/", 1)[0] + "/9"
        counters = redis.Redis.from_url(counters_url)
        counters.delete("bench_tick")
        env = {
            **os.environ,
            "CELERY_BROKER": broker,
            "CELERY_BEAT_LOCK_KEY": "bench:schedule",
            "BENCH_REDIS": counters_url,
            "SERVEY_ACTION_PATH": "bench_actions",
        }
        env.pop("CELERY_RESULT_BACKEND", None)
        worker = [*_celery_command("celery-worker"), "--pool", "solo", "--loglevel", "WARNING"]
        with (
            _process(worker, env, work / "worker.log", work),
            _process(_celery_command("celery-beat"), env, work / "beat.log", work),
        ):
            deadline = time.monotonic() + 60
            while counters.llen("bench_tick") < 1:
                if time.monotonic() > deadline:
                    logs = "\n".join((work / n).read_text(errors="replace")[-2000:] for n in ("worker.log", "beat.log"))
                    raise SystemExit(f"no Celery fire within 60 s\n{logs}")
                time.sleep(0.05)
            time.sleep(duration + INTERVAL / 2)
        times = [float(t) for t in counters.lrange("bench_tick", 1, -1)]
        counters.delete("bench_tick")
        counters.close()
    return [t - math.floor(t) for t in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds to measure each scheduler (default 30)")
    parser.add_argument("--only", choices=("local", "celery"), help="measure one scheduler only")
    args = parser.parse_args()
    print(f"fire-time lateness of a {INTERVAL:g}-second action over {args.duration:g} s")
    results = []
    if args.only in (None, "local"):
        results.append(summary("local", bench_local(args.duration)))
    if args.only in (None, "celery"):
        results.append(summary("celery", bench_celery(args.duration)))
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
