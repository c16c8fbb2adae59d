"""Schedules: when a ``FixedRateTrigger`` or ``CronTrigger`` action is due next.

Pure next-fire arithmetic shared by the local scheduler (:mod:`servey_faas.scheduling.local`)
and Celery beat (:mod:`servey_faas.scheduling.celery_app`), so both fire at the same moments:

* :class:`FixedRateSchedule` fires at ``origin + k·interval`` for k = 1, 2, ... on whatever
  clock ``origin`` was read from (the local scheduler uses ``time.monotonic()``; Celery beat
  uses the wall clock with origin 0, i.e. aligned to the epoch). The k-th fire never depends
  on when earlier runs happened, so lateness never accumulates (servey's threads slept
  ``interval`` after each run and drifted).
* :class:`CronSchedule` fires per a 5-field cron expression or a descriptor, as cron-connector
  accepts them (CONTRACTS.md §4.2), in the local time of the machine (cron-connector uses its
  container's local time zone, normally UTC). ``@every <Go duration>`` is a fixed rate: it
  becomes a :class:`FixedRateSchedule` (durations under 1 s are rounded up to 1 s, as
  cron-connector does).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

from servey_faas.errors import ConfigurationError, ServeyFaasError
from servey_faas.triggers import CronTrigger, FixedRateTrigger

if TYPE_CHECKING:
    from servey_faas.app import ServeyApp

#: Seconds per Go duration unit (``time.ParseDuration``).
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_EVERY = re.compile(r"^@every\s+(\S+)$")
#: cron-connector never fires more often than once a second (robfig/cron rounds ``@every`` up).
MIN_EVERY_SECONDS = 1.0


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration such as ``90s``, ``1h30m`` or ``1.5h`` (no sign, at least one unit).

    :raises ValueError: when ``text`` is not a Go duration.
    """
    pos = 0
    total = 0.0
    for match in _GO_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise ValueError(f"{text!r} is not a Go duration such as 90s or 1h30m")
    return total


@dataclass(frozen=True)
class FixedRateSchedule:
    """Fires at ``origin + k·interval`` (k ≥ 1): seconds on the clock ``origin`` was read from.

    :raises ValueError: when ``interval`` is not > 0.
    """

    interval: float
    origin: float = 0.0

    def __post_init__(self) -> None:
        if not self.interval > 0:
            raise ValueError(f"interval must be > 0 seconds, not {self.interval!r}")

    def anchored(self, origin: float) -> FixedRateSchedule:
        """The same rate, counted from ``origin``."""
        return FixedRateSchedule(self.interval, origin)

    def next_fire(self, after: float) -> float:
        """The first fire time strictly later than ``after`` (never before ``origin + interval``)."""
        k = max(1, math.floor((after - self.origin) / self.interval) + 1)
        fire = self.origin + k * self.interval
        while fire <= after:  # float rounding near a multiple
            k += 1
            fire = self.origin + k * self.interval
        return fire

    def describe(self) -> str:
        return f"every {self.interval:g}s"


@dataclass(frozen=True)
class CronSchedule:
    """Fires per a 5-field cron expression or a descriptor (``@hourly``, ``@daily``, ...), in local
    time; times are epoch seconds (``time.time()``).

    Semantics follow robfig/cron v3 as cron-connector uses it (CONTRACTS.md §4.2): month and
    weekday names, ``?`` as ``*``, day-of-week 0 = Sunday, and a day matching *either* a
    restricted day-of-month or a restricted day-of-week fires. Computed with croniter.

    :raises ConfigurationError: when croniter cannot parse the expression (e.g. minute 99).
    """

    expression: str

    def __post_init__(self) -> None:
        from croniter import croniter

        if self.expression.startswith("@every"):
            raise ConfigurationError(f"{self.expression!r} is a fixed rate: use schedule_for()")
        try:
            croniter(self._croniter_expression(), datetime(2000, 1, 1))
        except (ValueError, KeyError) as e:
            raise ConfigurationError(f"cron expression {self.expression!r} is invalid: {e}") from e

    def _croniter_expression(self) -> str:
        if self.expression.startswith("@"):
            return self.expression
        return " ".join("*" if field == "?" else field for field in self.expression.split())

    def next_fire(self, after: float) -> float:
        """The first fire time strictly later than ``after`` (epoch seconds, local wall time)."""
        from croniter import croniter

        start = datetime.fromtimestamp(after)  # naive local time: cron reads the wall clock
        fire: datetime = croniter(self._croniter_expression(), start, day_or=True).get_next(datetime)
        ts = fire.timestamp()
        while ts <= after:  # defensive: croniter answers "strictly after" to the second
            fire = croniter(self._croniter_expression(), fire, day_or=True).get_next(datetime)
            ts = fire.timestamp()
        return ts

    def describe(self) -> str:
        return f"cron {self.expression!r}"


#: What :func:`schedule_for` returns.
Schedule: TypeAlias = FixedRateSchedule | CronSchedule
#: The triggers that put an action on a schedule.
ScheduleTrigger: TypeAlias = FixedRateTrigger | CronTrigger


def schedule_for(trigger: ScheduleTrigger) -> Schedule:
    """The schedule of a ``FixedRateTrigger`` or ``CronTrigger`` (``@every`` → fixed rate of at
    least :data:`MIN_EVERY_SECONDS`). Fixed rates come with origin 0: :meth:`FixedRateSchedule.anchored`
    moves them.

    :raises ConfigurationError: for a cron expression or ``@every`` duration that does not parse.
    """
    if isinstance(trigger, FixedRateTrigger):
        return FixedRateSchedule(float(trigger.interval))
    every = _EVERY.match(trigger.expression)
    if every:
        try:
            seconds = parse_go_duration(every.group(1))
        except ValueError as e:
            raise ConfigurationError(f"CronTrigger {trigger.expression!r}: {e}") from e
        return FixedRateSchedule(max(seconds, MIN_EVERY_SECONDS))
    return CronSchedule(trigger.expression)


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
