"""Celery on a real Redis: a worker (solo pool) and beat as subprocesses, running the actions of
``celery_actions.py`` through the ``celery-worker`` and ``celery-beat`` runs."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from servey_faas.scheduling import CelerySettings, background_action_channel
from servey_faas.scheduling.celery_app import celery_client
from tests.scheduling import celery_actions
from tests.scheduling.conftest import HERE, RedisServer, celery_command, process, wait_for

#: Seconds a test counts fires for.
WINDOW = 5.0


@dataclass(frozen=True)
class CeleryStack:
    broker: str
    backend: str
    logs: tuple[Path, ...]


@pytest.fixture(scope="module")
def celery_stack(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CeleryStack]:
    """A worker and a beat for ``celery_actions``: broker on db 0, counters on db 1, results on db 2."""
    for db in (0, 1, 2):
        redis_server.client(db).flushdb()
    logs = tmp_path_factory.mktemp("celery")
    env = {
        "CELERY_BROKER": redis_server.url(0),
        "CELERY_RESULT_BACKEND": redis_server.url(2),
        "CELERY_BEAT_LOCK_KEY": "tests:celery-stack",
        "SERVEY_TEST_REDIS": redis_server.url(1),
        "SERVEY_ACTION_PATH": "celery_actions",
    }
    worker_log, beat_log = logs / "worker.log", logs / "beat.log"
    with (
        process([*celery_command("celery-worker"), "--pool", "solo"], env, worker_log, cwd=HERE),
        process([*celery_command("celery-beat")], env, beat_log, cwd=HERE),
    ):
        yield CeleryStack(redis_server.url(0), redis_server.url(2), (worker_log, beat_log))


def _count_in_window(read: object, stack: CeleryStack, what: str) -> int:
    assert callable(read)
    wait_for(lambda: read() >= 1, f"the first {what}", logs=stack.logs)
    before = int(read())
    time.sleep(WINDOW)
    return int(read()) - before


def test_fixed_rate_action_fires_at_least_4_times_in_5_seconds(
    celery_stack: CeleryStack, counters: redis.Redis
) -> None:
    fired = _count_in_window(lambda: counters.llen("tick"), celery_stack, "tick run")
    assert fired >= 4, f"tick ran {fired} times in {WINDOW}s"


def test_each_fire_instant_runs_once_on_whole_seconds(celery_stack: CeleryStack, counters: redis.Redis) -> None:
    wait_for(lambda: counters.llen("tick") >= 5, "5 tick runs", logs=celery_stack.logs)
    times = [float(t) for t in counters.lrange("tick", 1, -1)]  # the first may have waited for the worker
    seconds = [math.floor(t) for t in times]
    assert len(set(seconds)) == len(seconds), f"a second fired twice: {times}"


def test_failing_action_keeps_firing(celery_stack: CeleryStack, counters: redis.Redis) -> None:
    def failures() -> int:
        return int(counters.get("failing_tick") or 0)

    fired = _count_in_window(failures, celery_stack, "failing_tick run")
    assert fired >= 4, f"failing_tick ran {fired} times in {WINDOW}s"
    worker_log = celery_stack.logs[0].read_text(errors="replace")
    assert "failing_tick always fails" in worker_log


def test_task_takes_json_params_and_returns_the_json_result(celery_stack: CeleryStack) -> None:
    client = celery_client(CelerySettings(broker_url=celery_stack.broker, result_backend=celery_stack.backend))
    try:
        result = client.send_task("servey_faas.record", kwargs={"params": {"job": {"label": "direct", "weight": 3}}})
        assert result.get(timeout=60) == "direct x1"
        invalid = client.send_task("servey_faas.record", kwargs={"params": {"job": {"weight": "heavy"}}})
        with pytest.raises(Exception) as caught:
            invalid.get(timeout=60)
        assert "label" in str(caught.value)
        assert "field required" in str(caught.value)
    finally:
        client.close()


def test_background_channel_runs_each_publish_once_on_a_worker(
    celery_stack: CeleryStack, counters: redis.Redis
) -> None:
    channel = background_action_channel(celery_actions.record, celery=CelerySettings(broker_url=celery_stack.broker))
    try:
        ids = [
            channel.publish(celery_actions.Job("a", 2)),
            channel.publish(job=celery_actions.Job("b"), repeat=2),
            channel.publish(celery_actions.Job("c")),
        ]
        assert len(set(ids)) == 3
        wait_for(lambda: counters.llen("record") >= 4, "4 records", logs=celery_stack.logs)
        # Fires are every second: give a duplicate delivery time to show up before counting.
        time.sleep(1.0)
        records = sorted(r.decode() for r in counters.lrange("record", 0, -1))
        assert records == ["a:2", "b:1", "b:1", "c:1"]
    finally:
        channel.close()
