"""Actions the Celery worker and beat of the tests serve (``SERVEY_ACTION_PATH=celery_actions``).

Each run is counted in Redis (``SERVEY_TEST_REDIS``, a URL), so the test process sees what the
worker process did.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import redis

from servey_faas import FixedRateTrigger, action


def _counters() -> redis.Redis:
    return redis.Redis.from_url(os.environ["SERVEY_TEST_REDIS"], socket_timeout=10)


@action(triggers=(FixedRateTrigger(1),))
def tick() -> float:
    """Every second: push the wall-clock time of the run."""
    now = time.time()
    with _counters() as r:
        r.rpush("tick", now)
    return now


@action(triggers=(FixedRateTrigger(1),))
def failing_tick() -> None:
    """Every second: count the run, then fail."""
    with _counters() as r:
        r.incr("failing_tick")
    raise RuntimeError("failing_tick always fails")


@dataclass(frozen=True)
class Job:
    label: str
    weight: int = 1


@action
def record(job: Job, repeat: int = 1) -> str:
    """Not scheduled: run by background channels; pushes ``<label>:<weight>`` ``repeat`` times."""
    with _counters() as r:
        for _ in range(repeat):
            r.rpush("record", f"{job.label}:{job.weight}")
    return f"{job.label} x{repeat}"
