"""Scheduled jobs and background work.

* :func:`local_schedules` — the dev server's scheduler as a Starlette lifespan: fixed-rate and
  cron actions run on the server's event loop, in exactly one process per project.
* :mod:`servey_faas.scheduling.celery_app` — every action as a Celery task and beat for the
  scheduled ones, when ``CELERY_BROKER`` is set (imported only then; needs ``celery``).
* :func:`background_action_channel` and :class:`WebhookEventChannel` — event channels.

Importing this package starts nothing and does not import Celery.
"""

from servey_faas.cron import CronSchedule, FixedRateSchedule, Schedule, parse_go_duration
from servey_faas.scheduling.channels import (
    BackgroundActionChannel,
    BackgroundBackend,
    CeleryBackgroundSender,
    LocalBackgroundWorker,
    WebhookError,
    WebhookEventChannel,
    background_action_channel,
)
from servey_faas.scheduling.local import Clock, LocalScheduler, LocalSchedules, SystemClock, local_schedules
from servey_faas.scheduling.lock import ProjectLock, RedisLock
from servey_faas.scheduling.schedules import ScheduledAction, schedule_for, scheduled_actions
from servey_faas.scheduling.settings import CelerySettings

__all__ = [
    "BackgroundActionChannel",
    "BackgroundBackend",
    "CeleryBackgroundSender",
    "CelerySettings",
    "Clock",
    "CronSchedule",
    "FixedRateSchedule",
    "LocalBackgroundWorker",
    "LocalScheduler",
    "LocalSchedules",
    "ProjectLock",
    "RedisLock",
    "Schedule",
    "ScheduledAction",
    "SystemClock",
    "WebhookError",
    "WebhookEventChannel",
    "background_action_channel",
    "local_schedules",
    "parse_go_duration",
    "schedule_for",
    "scheduled_actions",
]
