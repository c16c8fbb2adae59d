"""Schedules: when a ``FixedRateTrigger`` or ``CronTrigger`` action is due next.

Pure next-fire arithmetic shared by the local scheduler (:mod:`servey_faas.scheduling.local`)
and Celery beat (:mod:`servey_faas.scheduling.celery_app`), so both fire at the same moments:

* :class:`FixedRateSchedule` fires at ``origin + k·interval`` for k = 1, 2, ... on whatever
  clock ``origin`` was read from (the local scheduler uses ``time.monotonic()``; Celery beat
  uses the wall clock with origin 0, i.e. aligned to the epoch). The k-th fire never depends
  on when earlier runs happened, so lateness never accumulates (servey's threads slept
  ``interval`` after each run and drifted).
* :class:`CronSchedule` fires per a 5-field cron expression or a descriptor, as cron-connector
  accepts them, in the local time of the machine (cron-connector uses its container's local time
  zone, normally UTC). ``@every <Go duration>`` is a fixed rate: it becomes a
  :class:`FixedRateSchedule` of whole seconds, at least one, as cron-connector runs it.

The grammar and the arithmetic live in :mod:`servey_faas.cron`, shared with the packager and the
local gateway's cron-connector; this module adds what an app's schedules are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from servey_faas.cron import FixedRateSchedule, Schedule, schedule_of
from servey_faas.errors import ConfigurationError, ServeyFaasError
from servey_faas.triggers import CronTrigger, FixedRateTrigger

if TYPE_CHECKING:
    from servey_faas.app import ServeyApp

#: The triggers that put an action on a schedule.
ScheduleTrigger: TypeAlias = FixedRateTrigger | CronTrigger


def schedule_for(trigger: ScheduleTrigger) -> Schedule:
    """The schedule of a ``FixedRateTrigger`` (its interval, exactly) or a ``CronTrigger`` (as
    cron-connector runs it, :func:`servey_faas.cron.schedule_of`: ``@every`` in whole seconds, at
    least one). Fixed rates come with origin 0: :meth:`FixedRateSchedule.anchored` moves them.

    :raises ConfigurationError: for an expression that does not parse.
    """
    if isinstance(trigger, FixedRateTrigger):
        return FixedRateSchedule(float(trigger.interval))
    return schedule_of(trigger.expression)


@dataclass(frozen=True)
class ScheduledAction:
    """One action on one schedule: what the schedulers run. ``key`` names it uniquely
    (``<action>`` or ``<action>#<n>`` for an action's n-th schedule trigger, n ≥ 2)."""

    action_name: str
    trigger: ScheduleTrigger
    schedule: Schedule
    key: str

    def describe(self) -> str:
        return f"{self.action_name} ({self.schedule.describe()})"


def scheduled_actions(app: ServeyApp) -> tuple[ScheduledAction, ...]:
    """Every (action, schedule trigger) pair of ``app``, in discovery order.

    Scheduled runs pass no params (``{}``) and no bearer token, so every parameter of a scheduled
    action needs a default (an ``Authorization`` parameter too); this is checked here, at startup,
    not at the first fire.

    :raises ConfigurationError: naming the action, for a scheduled action with required params or
        a required ``Authorization``, or a cron expression that does not parse.
    """
    found: list[ScheduledAction] = []
    for name, action in app.actions.items():
        triggers = [t for t in action.triggers if isinstance(t, (FixedRateTrigger, CronTrigger))]
        if not triggers:
            continue
        required = [p.name for p in app.invokers[name].params if p.required]
        if required:
            raise ConfigurationError(
                f"action {name!r} ({action.location}) has a schedule trigger {triggers[0]!r} but required "
                f"params {', '.join(required)}: scheduled runs pass no params, so give every param a default"
            )
        try:
            app.invokers[name].load_params({})  # what every scheduled run does first
        except ServeyFaasError as e:
            raise ConfigurationError(
                f"action {name!r} ({action.location}) has a schedule trigger {triggers[0]!r} but cannot run "
                f"without params or a bearer token, as scheduled runs do: {e}"
            ) from e
        for n, trigger in enumerate(triggers, start=1):
            try:
                schedule = schedule_for(trigger)
            except ConfigurationError as e:
                raise ConfigurationError(f"action {name!r} ({action.location}): {e}") from e
            found.append(ScheduledAction(name, trigger, schedule, name if n == 1 else f"{name}#{n}"))
    return tuple(found)
