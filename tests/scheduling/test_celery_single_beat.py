"""Two beats on one deployment: one fires, the other stands by and takes over when it stops."""

from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path

import redis

from tests.scheduling.conftest import HERE, RedisServer, celery_command, process, wait_for

WINDOW = 5.0


def _ticks(client: redis.Redis) -> list[float]:
    """Run times of ``tick`` after its first run (which may wait for the worker to start)."""
    return [float(t) for t in client.lrange("tick", 1, -1)]


def test_only_one_of_two_beats_fires_and_the_other_takes_over(redis_server: RedisServer, tmp_path: Path) -> None:
    broker, counters = redis_server.client(3), redis_server.client(4)
    broker.flushdb()
    counters.flushdb()
    env = {
        "CELERY_BROKER": redis_server.url(3),
        "CELERY_BEAT_LOCK_KEY": "tests:single-beat",
        "SERVEY_TEST_REDIS": redis_server.url(4),
        "SERVEY_ACTION_PATH": "celery_actions",
    }
    logs = [tmp_path / "worker.log", tmp_path / "beat-a.log", tmp_path / "beat-b.log"]
    with contextlib.ExitStack() as stack:
        stack.enter_context(process([*celery_command("celery-worker"), "--pool", "solo"], env, logs[0], cwd=HERE))
        beat_a = stack.enter_context(process(celery_command("celery-beat"), env, logs[1], cwd=HERE))
        wait_for(
            lambda: "lease 'tests:single-beat' taken" in logs[1].read_text(),
            "beat A to take the lease",
            logs=tuple(logs),
        )
        stack.enter_context(process(celery_command("celery-beat"), env, logs[2], cwd=HERE))
        wait_for(lambda: "standing by" in logs[2].read_text(), "beat B to stand by", logs=tuple(logs))

        wait_for(lambda: counters.llen("tick") >= 1, "the first tick", logs=tuple(logs))
        before = counters.llen("tick")
        time.sleep(WINDOW)
        assert counters.llen("tick") - before >= 4
        seconds = [math.floor(t) for t in _ticks(counters)]
        assert len(set(seconds)) == len(seconds), f"two beats fired the same second: {_ticks(counters)}"
        assert "Sending due task" not in logs[2].read_text()

        beat_a.terminate()
        beat_a.wait(timeout=30)
        wait_for(
            lambda: "lease 'tests:single-beat' taken" in logs[2].read_text(), "beat B to take over", logs=tuple(logs)
        )
        after_takeover = counters.llen("tick")
        wait_for(lambda: counters.llen("tick") >= after_takeover + 2, "ticks sent by beat B", logs=tuple(logs))
        seconds = [math.floor(t) for t in _ticks(counters)]
        assert len(set(seconds)) == len(seconds), f"a second fired twice around the take-over: {_ticks(counters)}"
    broker.close()
    counters.close()
