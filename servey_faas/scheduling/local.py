"""The dev server's scheduler: asyncio tasks on the server's event loop, started on application
startup and stopped on shutdown (never at import).

* Fixed rates fire at ``start + k·interval`` computed from one ``time.monotonic()`` origin, never
  by sleeping ``interval`` after a run, so they do not drift.
* Cron schedules (:class:`~servey_faas.scheduling.schedules.CronSchedule`) wait on the wall clock,
  re-reading it at least every :data:`MAX_SLEEP` seconds, so a clock step is noticed.
* Each run goes through the one invocation path, ``app.invoker(name).invoke({})`` (sync actions
  run in a worker thread, never on the event loop).
* An exception in a run is logged with the action's name and traceback; the schedule goes on.
* A run still going when the action is due again is not overlapped: that fire is skipped and
  logged.
* :func:`local_schedules` wraps it all as a Starlette lifespan, with the single-scheduler lock
  (:class:`~servey_faas.scheduling.lock.ProjectLock`) and the hand-over to Celery beat when
  ``CELERY_BROKER`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Protocol

from servey_faas.cron import CronSchedule, FixedRateSchedule
from servey_faas.errors import ActionTimeoutError
from servey_faas.scheduling.lock import ProjectLock
from servey_faas.scheduling.schedules import ScheduledAction, scheduled_actions
from servey_faas.scheduling.settings import CelerySettings

if TYPE_CHECKING:
    from servey_faas.app import ServeyApp

logger = logging.getLogger("servey_faas.scheduling")

#: Longest single sleep (seconds) while waiting on the wall clock for a cron fire.
MAX_SLEEP = 60.0
#: Seconds between two tries of a standby process to take the single-scheduler lock.
STANDBY_RETRY = 2.0


class Clock(Protocol):
    """Where the scheduler reads time and waits; injected by tests (virtual time)."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (``time.monotonic()``)."""
        ...

    def time(self) -> float:
        """Wall-clock seconds since the epoch (``time.time()``)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


@dataclass(frozen=True)
class SystemClock:
    """The real clocks: ``time.monotonic``, ``time.time`` and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class LocalScheduler:
    """Runs ``jobs`` (default: every schedule trigger of ``app``) on the running event loop.

    Use ``async with LocalScheduler(app):`` or :meth:`start` / :meth:`stop`. The origin of every
    fixed rate is :attr:`started_at` (``clock.monotonic()`` at :meth:`start`); the first fire of a
    fixed rate comes one interval after it, as with cron-connector's ``@every``
    (``docs/openfaas.md#fixed-rates-as-schedules``).

    :raises ConfigurationError: at construction, for a scheduled action with required params or
        an invalid cron expression (see :func:`~servey_faas.scheduling.schedules.scheduled_actions`).
    """

    def __init__(
        self, app: ServeyApp, jobs: Sequence[ScheduledAction] | None = None, *, clock: Clock | None = None
    ) -> None:
        self.app = app
        self.jobs: tuple[ScheduledAction, ...] = scheduled_actions(app) if jobs is None else tuple(jobs)
        self.clock: Clock = clock or SystemClock()
        self.started_at: float | None = None
        self._loops: list[asyncio.Task[None]] = []
        self._running: dict[str, asyncio.Task[None]] = {}

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return bool(self._loops)

    async def start(self) -> None:
        """Start one asyncio task per job on the running loop (no-op when already running)."""
        if self._loops:
            return
        sync_job = next((job for job in self.jobs if not self.app.actions[job.action_name].is_async), None)
        if sync_job is not None:
            # The first use of the worker-thread pool starts a thread: pay that now, not as the
            # first fire's lateness.
            await self.app.invoker(sync_job.action_name).threads.run(_noop)
        self.started_at = self.clock.monotonic()
        for job in self.jobs:
            self._loops.append(asyncio.create_task(self._loop(job), name=f"servey-schedule-{job.key}"))
        if self.jobs:
            logger.info("scheduler started: %s", ", ".join(job.describe() for job in self.jobs))

    async def stop(self) -> None:
        """Stop scheduling and cancel runs in progress (a sync action's thread cannot be
        interrupted: stop waits for it to return)."""
        tasks = [*self._loops, *self._running.values()]
        self._loops.clear()
        self._running.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tasks:
            logger.info("scheduler stopped")

    async def __aenter__(self) -> LocalScheduler:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _loop(self, job: ScheduledAction) -> None:
        schedule = job.schedule
        if isinstance(schedule, FixedRateSchedule):
            assert self.started_at is not None
            await self._fixed_rate(job, schedule.anchored(self.started_at))
        else:
            await self._cron(job, schedule)

    async def _fixed_rate(self, job: ScheduledAction, schedule: FixedRateSchedule) -> None:
        clock = self.clock
        due = schedule.next_fire(schedule.origin)
        while True:
            while (remaining := due - clock.monotonic()) > 0:
                await clock.sleep(remaining)
            now = clock.monotonic()
            self._fire(job, now - due)
            missed = int((now - due) // schedule.interval)
            if missed:
                logger.warning("scheduled action %r: %d run(s) missed (the loop was busy)", job.action_name, missed)
            due = schedule.next_fire(now)

    async def _cron(self, job: ScheduledAction, schedule: CronSchedule) -> None:
        clock = self.clock
        due = schedule.next_fire(clock.time())
        while True:
            while (remaining := due - clock.time()) > 0:
                await clock.sleep(min(remaining, MAX_SLEEP))
            now = clock.time()
            self._fire(job, now - due)
            due = schedule.next_fire(max(now, due))

    def _fire(self, job: ScheduledAction, lateness: float) -> None:
        name = job.action_name
        previous = self._running.get(name)
        if previous is not None and not previous.done():
            logger.warning(
                "scheduled action %r is still running from its previous run: skipping this run (%s)",
                name,
                job.schedule.describe(),
            )
            return
        logger.debug("scheduled action %r fires (%.1f ms late)", name, lateness * 1000)
        self._running[name] = asyncio.create_task(self._run(job), name=f"servey-run-{name}")

    async def _run(self, job: ScheduledAction) -> None:
        try:
            await self.app.invoker(job.action_name).invoke({})
        except asyncio.CancelledError:
            raise
        except ActionTimeoutError as e:
            logger.warning("scheduled run: %s (%s); its schedule goes on", e, job.schedule.describe())
        except Exception:
            logger.exception(
                "scheduled action %r failed (%s); its schedule goes on", job.action_name, job.schedule.describe()
            )


def _noop() -> None:
    pass


class LocalSchedules(contextlib.AbstractAsyncContextManager[None]):
    """The dev server's schedules as a Starlette lifespan (see :func:`local_schedules`)."""

    def __init__(
        self,
        app: ServeyApp,
        *,
        celery: CelerySettings | None = None,
        lock_dir: Path | None = None,
        clock: Clock | None = None,
        standby_retry: float = STANDBY_RETRY,
    ) -> None:
        self.app = app
        self._celery = celery
        self._lock_dir = lock_dir
        self._clock = clock
        self._standby_retry = standby_retry
        self.scheduler: LocalScheduler | None = None
        self.lock: ProjectLock | None = None
        self._holder: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        """True when this process holds the lock and runs the schedules."""
        return self.scheduler is not None and self.scheduler.running

    async def __aenter__(self) -> None:
        jobs = scheduled_actions(self.app)  # ConfigurationError at startup, whoever runs them
        celery = CelerySettings.load() if self._celery is None else self._celery
        if not jobs:
            return
        if celery.enabled:
            logger.info(
                "CELERY_BROKER is set: Celery beat runs the %d schedule(s), not the dev server "
                "(start it with: python -m servey_faas --run=celery-beat)",
                len(jobs),
            )
            return
        self.scheduler = LocalScheduler(self.app, jobs, clock=self._clock)
        self.lock = ProjectLock(self.app.settings.project_dir, lock_dir=self._lock_dir)
        if self.lock.try_acquire():
            await self.scheduler.start()
        else:
            logger.info("another process runs this project's schedules (lock %s); standing by", self.lock.path)
            self._holder = asyncio.create_task(
                self._stand_by(self.lock, self.scheduler), name="servey-schedule-standby"
            )

    async def _stand_by(self, lock: ProjectLock, scheduler: LocalScheduler) -> None:
        sleep = self._clock.sleep if self._clock is not None else asyncio.sleep
        while not lock.try_acquire():
            await sleep(self._standby_retry)
        logger.info("took over the schedules (lock %s)", lock.path)
        await scheduler.start()

    async def stop(self) -> None:
        """Stop firing: no new run starts, runs in progress are cancelled (see
        :meth:`LocalScheduler.stop`) and a standby process stops waiting for the lock. The lock is
        kept until exit, so that no other process takes the schedules over meanwhile. The dev
        server calls this as soon as it is told to stop, before it drains requests; exit calls it
        too (idempotent)."""
        holder, self._holder = self._holder, None
        if holder is not None:
            holder.cancel()
            await asyncio.gather(holder, return_exceptions=True)
        if self.scheduler is not None:
            await self.scheduler.stop()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.stop()
        finally:
            if self.lock is not None:
                self.lock.release()


def local_schedules(
    app: ServeyApp,
    *,
    celery: CelerySettings | None = None,
    lock_dir: Path | None = None,
    clock: Clock | None = None,
    standby_retry: float = STANDBY_RETRY,
) -> LocalSchedules:
    """The dev server's schedules, as an async context manager to use as (part of) a Starlette
    lifespan: ``Starlette(..., lifespan=lambda _: local_schedules(app))``.

    On enter (application startup):

    1. every schedule trigger is checked (:func:`~servey_faas.scheduling.schedules.scheduled_actions`):
       a scheduled action with required params raises ``ConfigurationError`` and the server does
       not start;
    2. when ``celery`` (default: :meth:`CelerySettings.load`, i.e. ``CELERY_BROKER``) is enabled,
       nothing runs here: Celery beat owns the schedules;
    3. otherwise the process that takes the project's :class:`~servey_faas.scheduling.lock.ProjectLock`
       (in ``lock_dir``, default the temporary folder) starts a :class:`LocalScheduler`; the other
       workers stand by, retrying every ``standby_retry`` seconds, and take over if the holder
       stops.

    On exit (shutdown) the scheduler stops and the lock is released.
    """
    return LocalSchedules(app, celery=celery, lock_dir=lock_dir, clock=clock, standby_retry=standby_retry)
