"""Celery: every action as a task, beat for the scheduled ones, and a single-beat lock.

Imported only when Celery is used (``CELERY_BROKER`` set, or the ``celery-worker`` /
``celery-beat`` runs); importing it needs the ``celery`` package.

* Every action is a task named ``servey_faas.<action name>`` that takes ``params`` (a JSON
  object) and returns the JSON result, through the one invocation path
  (``ActionInvoker.invoke_sync``). Messages and results are JSON only.
* Beat's schedule is configuration data (``beat_schedule``) built when the Celery app is built and
  held by it: nothing hangs off a signal handler that the garbage collector could take (servey's
  Celery schedule was registered by a weakly referenced ``on_after_configure`` handler and never
  ran).
* Beat uses :class:`BeatSchedule`, which fires at the same moments as the local scheduler
  (:mod:`servey_faas.scheduling.schedules`): fixed rates at whole multiples of the interval
  since the epoch (so a beat restart keeps the phase and nothing drifts), cron schedules with
  cron-connector's semantics in local time.
* :class:`SingleBeatScheduler` fires only while it holds a Redis lease
  (:class:`~servey_faas.scheduling.lock.RedisLock`) on the broker, so a second beat is a
  standby, not a duplicate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.beat import Scheduler
from celery.schedules import BaseSchedule, schedstate

from servey_faas.cron import Schedule
from servey_faas.scheduling.lock import RedisLock
from servey_faas.scheduling.schedules import scheduled_actions
from servey_faas.scheduling.settings import CelerySettings

if TYPE_CHECKING:
    from servey_faas.app import ServeyApp
    from servey_faas.invocation import ActionInvoker
    from servey_faas.types import JSON

logger = logging.getLogger("servey_faas.scheduling")

#: Prefix of the task names: the task of action ``say_hello`` is ``servey_faas.say_hello``.
TASK_PREFIX = "servey_faas."
#: Seconds a beat's lease lives without renewal; a standby takes over at most this long after
#: the holder stops.
BEAT_LOCK_TTL = 15.0
#: Seconds between lease renewals by the holding beat (and between tries of a standby).
BEAT_LOCK_RENEW = 2.0
#: Beat wakes at least this often (seconds), so the lease is renewed well within its TTL.
BEAT_MAX_LOOP_INTERVAL = 5
_CONF_LOCK_KEY = "servey_faas_beat_lock_key"


def task_name(action_name: str) -> str:
    """The Celery task name of an action: ``servey_faas.<action name>``."""
    return TASK_PREFIX + action_name


def beat_lock_key(app: ServeyApp, settings: CelerySettings) -> str:
    """``CELERY_BEAT_LOCK_KEY``, else ``servey_faas:celery-beat:<actions module>[:<function prefix>]``."""
    if settings.beat_lock_key:
        return settings.beat_lock_key
    prefix = f":{app.settings.function_prefix}" if app.settings.function_prefix else ""
    return f"servey_faas:celery-beat:{app.settings.action_path}{prefix}"


def celery_client(settings: CelerySettings) -> Celery:
    """A Celery app on ``settings``' broker (and result backend) with JSON-only messages and no
    tasks: enough to send tasks (``send_task``) by name.

    :raises ConfigurationError: when ``CELERY_BROKER`` is not set.
    """
    from servey_faas.errors import ConfigurationError

    if settings.broker_url is None:
        raise ConfigurationError("Celery needs a broker: set CELERY_BROKER, e.g. redis://127.0.0.1:6379/0")
    celery = Celery("servey_faas", broker=settings.broker_url, backend=settings.result_backend, set_as_current=False)
    celery.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_ignore_result=settings.result_backend is None,
        broker_connection_retry_on_startup=True,
        enable_utc=True,
    )
    return celery


def create_celery_app(app: ServeyApp, settings: CelerySettings) -> Celery:
    """The Celery app of ``app``: one task per action and beat's schedule for the scheduled ones.

    Build it once per process and keep it: it holds the tasks and the schedule.

    :raises ConfigurationError: when ``CELERY_BROKER`` is not set, or a scheduled action has
        required params or an invalid cron expression.
    """
    celery = celery_client(settings)
    for name, invoker in app.invokers.items():
        celery.task(name=task_name(name), shared=False, lazy=False)(_task_body(invoker))
    celery.conf.update(
        {
            "beat_schedule": beat_schedule(app, celery),
            "beat_scheduler": SingleBeatScheduler,
            "beat_max_loop_interval": BEAT_MAX_LOOP_INTERVAL,
            _CONF_LOCK_KEY: beat_lock_key(app, settings),
        }
    )
    return celery


def _task_body(invoker: ActionInvoker) -> Callable[..., JSON]:
    def run(params: Mapping[str, Any] | None = None) -> JSON:
        return invoker.invoke_sync(params or {})

    run.__name__ = run.__qualname__ = invoker.name
    return run


def beat_schedule(app: ServeyApp, celery: Celery | None = None) -> dict[str, dict[str, Any]]:
    """Beat's ``beat_schedule`` for ``app``: one entry per (action, schedule trigger), keyed like
    :attr:`~servey_faas.scheduling.schedules.ScheduledAction.key`, sending ``params={}``.

    A message not started before the action's next fire expires (is dropped by the worker), so
    a worker that was down does not run a backlog of stale fires on its return.

    :raises ConfigurationError: as :func:`~servey_faas.scheduling.schedules.scheduled_actions`.
    """
    entries: dict[str, dict[str, Any]] = {}
    now = time.time()
    for job in scheduled_actions(app):
        first = job.schedule.next_fire(now)
        gap = job.schedule.next_fire(first) - first
        entries[job.key] = {
            "task": task_name(job.action_name),
            "schedule": BeatSchedule(job.schedule, app=celery),
            "kwargs": {"params": {}},
            "options": {"expires": gap},
        }
    return entries


class BeatSchedule(BaseSchedule):
    """A Celery beat schedule over a :data:`~servey_faas.scheduling.schedules.Schedule`.

    Times are wall-clock epoch seconds: a :class:`FixedRateSchedule` fires at whole multiples of
    its interval since its origin (0 = the epoch); a cron schedule per
    :class:`~servey_faas.scheduling.schedules.CronSchedule`. Due means "a fire time has passed
    since the last run"; fires missed while beat was down are not caught up.
    """

    def __init__(
        self, schedule: Schedule, nowfun: Callable[[], datetime] | None = None, app: Celery | None = None
    ) -> None:
        super().__init__(nowfun=nowfun, app=app)
        self.schedule = schedule
        self._nowfun = nowfun

    def _next_after(self, moment: datetime) -> float:
        return self.schedule.next_fire(self.maybe_make_aware(moment).timestamp())

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        return timedelta(seconds=self._next_after(last_run_at) - self.now().timestamp())

    def is_due(self, last_run_at: datetime) -> schedstate:
        now = self.now().timestamp()
        due = self._next_after(last_run_at)
        if now >= due:
            return schedstate(True, self.schedule.next_fire(now) - now)
        return schedstate(False, due - now)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BeatSchedule):
            return other.schedule == self.schedule
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.schedule)

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.__class__, (self.schedule, self._nowfun))

    def __repr__(self) -> str:
        return f"<BeatSchedule: {self.schedule.describe()}>"


class SingleBeatScheduler(Scheduler):
    """Beat's in-memory scheduler that fires only while it holds the deployment's Redis lease.

    The lease key is the Celery app's ``servey_faas_beat_lock_key`` setting (see
    :func:`beat_lock_key`); it lives on the broker's Redis. A beat that does not hold it stands
    by, trying again every :data:`BEAT_LOCK_RENEW` seconds; on taking it over, every entry
    restarts from now (no catch-up burst). With a broker that is not Redis there is no lease:
    a warning says to run exactly one beat. Nothing is written to disk (no ``celerybeat-schedule``
    file): missed fires are not caught up after a restart, as with cron-connector
    (``docs/openfaas.md#fixed-rates-as-schedules``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._lock: RedisLock | None = None
        self._renewed_at = float("-inf")
        self._had_lock = False
        self._announced_standby = False
        super().__init__(*args, **kwargs)
        key = self.app.conf.get(_CONF_LOCK_KEY)
        broker = str(self.app.conf.broker_url or "")
        if key and broker.startswith(("redis://", "rediss://", "unix://", "redis+socket://")):
            import redis

            client = redis.Redis.from_url(broker.replace("redis+socket://", "unix://", 1), socket_timeout=5)
            self._lock = RedisLock(client, str(key), ttl=BEAT_LOCK_TTL)
        else:
            logger.warning("the broker is not Redis: no single-beat lease, so run exactly one celery-beat")

    def _holds_lock(self) -> bool:
        lock = self._lock
        if lock is None:
            return True
        now = time.monotonic()
        if lock.held and now - self._renewed_at < BEAT_LOCK_RENEW:
            return True
        from redis.exceptions import RedisError

        try:
            held = lock.try_acquire()
        except RedisError as e:
            logger.warning("beat lease %r: Redis error (%s); not firing until it is renewed", lock.key, e)
            lock.held = held = False
        if held:
            self._renewed_at = now
        return held

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._holds_lock():
            if self._had_lock:
                logger.warning("beat lease %r lost: standing by", self._lock.key if self._lock else "")
            elif not self._announced_standby:
                logger.info("beat lease %r is held by another beat: standing by", self._lock.key if self._lock else "")
            self._announced_standby = True
            self._had_lock = False
            return BEAT_LOCK_RENEW
        if not self._had_lock:
            self._had_lock = True
            self._announced_standby = False
            if self._lock is not None:
                logger.info("beat lease %r taken: this beat schedules", self._lock.key)
            for entry in self.schedule.values():
                entry.last_run_at = entry.default_now()
            self._heap = None
        return min(float(super().tick(*args, **kwargs)), BEAT_LOCK_RENEW)

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._lock is not None:
                try:
                    self._lock.release()
                except Exception as e:  # the lease expires by itself
                    logger.warning("beat lease %r not released: %s", self._lock.key, e)


def run_worker(
    celery: Celery,
    *,
    pool: str = "prefork",
    concurrency: int | None = None,
    loglevel: str = "INFO",
    hostname: str | None = None,
) -> int:
    """Run a Celery worker for ``celery`` in this process until it is stopped (SIGTERM, Ctrl+C);
    return its exit code."""
    worker = celery.Worker(pool_cls=pool, concurrency=concurrency, loglevel=loglevel, hostname=hostname)
    worker.start()
    return int(worker.exitcode or 0)


def run_beat(celery: Celery, *, loglevel: str = "INFO") -> None:
    """Run Celery beat for ``celery`` in this process until it is stopped (SIGTERM, Ctrl+C)."""
    celery.Beat(loglevel=loglevel).run()
