"""Schedules as cron-connector reads them: one home for every rule about them.

A ``CronTrigger`` expression, a ``FixedRateTrigger`` mapped to a ``schedule`` annotation, the local
scheduler, Celery beat and the local gateway's cron-connector all go through this module, so that
an expression is accepted, refused and fired the same way everywhere.

The grammar is robfig/cron v3's, as openfaas/cron-connector parses a function's ``schedule``
annotation (``cron.NewParser(Minute | Hour | Dom | Month | Dow | Descriptor)``; see
``docs/openfaas.md#schedule-syntax``):

* five fields ``minute hour day-of-month month day-of-week``, with ``*``, ``?``, lists, ranges,
  steps, and month (``JAN``) and weekday (``SUN``) names in any case; no seconds field;
* the descriptors ``@yearly @annually @monthly @weekly @daily @midnight @hourly``;
* ``@every <Go duration>`` (Go's ``time.ParseDuration``: ``90s``, ``1h30m``, ``.5h``), a fixed rate
  that robfig/cron runs in whole seconds, at least one (``Every``: rounded down to the second,
  raised to one second);
* several expressions joined by ``;`` are OpenFaaS Pro only: refused.

Nothing here imports croniter until a :class:`CronSchedule` computes a fire time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from servey_faas.errors import ConfigurationError

#: The descriptors robfig/cron v3 knows (``@every`` aside).
DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
#: The shortest ``@every`` period cron-connector keeps, in seconds.
MIN_EVERY_SECONDS = 1.0

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_EVERY = "@every "
_FIELDS = (
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day-of-month", 1, 31, None),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())}),
    ("day-of-week", 0, 6, {d: i for i, d in enumerate("sun mon tue wed thu fri sat".split())}),
)


class ScheduleError(ConfigurationError, ValueError):
    """An expression cron-connector would not parse, or a rate it cannot keep. The message says
    what is wrong (a field out of range, six fields, a ``;`` list, a bad duration...)."""


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration such as ``90s``, ``1h30m`` or ``.5h`` (no sign, at least one unit).

    :raises ScheduleError: when ``text`` is not a Go duration.
    """
    pos = 0
    total = 0.0
    for match in _GO_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or pos != len(text):
        raise ScheduleError(f"{text!r} is not a Go duration such as 90s or 1h30m")
    return total


def go_duration(seconds: float) -> str:
    """``seconds`` as a Go duration: ``30s``, ``1m30s``, ``1h``, ``2s500ms``; fractions are
    rounded up to the millisecond.

    :raises ValueError: for a value that is not finite or not > 0.
    """
    if not 0 < seconds < math.inf:
        raise ValueError(f"a duration must be a number of seconds > 0, not {seconds!r}")
    millis = math.ceil(round(seconds * 1000, 6))
    whole, ms = divmod(millis, 1000)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(hours, "h"), (minutes, "m"), (secs, "s"), (ms, "ms")]
    return "".join(f"{n}{unit}" for n, unit in parts if n)


def normalize(expression: str) -> str:
    """``expression`` with its whitespace runs made single spaces and its ends trimmed."""
    return " ".join(str(expression).split())


def check_expression(expression: str) -> str:
    """``expression`` normalised (:func:`normalize`) when cron-connector's parser accepts it.

    :raises ScheduleError: saying what the parser would refuse: six fields (it has no seconds
        field) or another count, ``;`` lists (Pro only), out-of-range values, zero steps, reversed
        ranges, unknown names, descriptors or durations.
    """
    expr = normalize(expression)
    if not expr:
        raise ScheduleError("a schedule cannot be empty")
    if ";" in expr:
        raise ScheduleError(f"schedule {expression!r}: several expressions joined by ';' need OpenFaaS Pro")
    if expr.startswith("@"):
        if expr in DESCRIPTORS:
            return expr
        if expr == _EVERY.strip() or expr.startswith(_EVERY):
            try:
                parse_go_duration(expr[len(_EVERY) :])
            except ScheduleError:  # (also for a bare '@every': an empty duration)
                raise ScheduleError(
                    f"schedule {expression!r}: '@every' takes a Go duration such as 90s or 1h30m"
                ) from None
            return expr
        raise ScheduleError(
            f"schedule {expression!r}: unknown descriptor (use one of {', '.join(sorted(DESCRIPTORS))} "
            "or '@every <duration>')"
        )
    parts = expr.split(" ")
    if len(parts) != 5:
        extra = " (it has no seconds field)" if len(parts) == 6 else ""
        raise ScheduleError(
            f"schedule {expression!r} has {len(parts)} fields; cron-connector takes 5: minute hour "
            f"day-of-month month day-of-week{extra}"
        )
    for text, (what, low, high, names) in zip(parts, _FIELDS, strict=True):
        for item in text.split(","):
            problem = _item_problem(item, low, high, names)
            if problem:
                raise ScheduleError(f"schedule {expression!r}: {what} {item!r}: {problem}")
    return expr


def _item_problem(item: str, low: int, high: int, names: Mapping[str, int] | None) -> str | None:
    if not item:
        return "an empty list item"
    range_text, *steps = item.split("/")
    if len(steps) > 1:
        return "too many '/'"
    bounds = range_text.split("-")
    if range_text in ("*", "?"):
        start, end = low, high
    else:
        if len(bounds) > 2:
            return "too many '-'"
        try:
            start = _value(bounds[0], names)
            end = _value(bounds[1], names) if len(bounds) == 2 else (high if steps else start)
        except ValueError as e:
            return str(e)
    if steps and (not steps[0].isdigit() or int(steps[0]) == 0):
        return "the step must be a positive number"
    if start < low or end > high:
        return f"out of range {low}-{high}"
    if start > end:
        return "the range's start is after its end"
    return None


def _value(text: str, names: Mapping[str, int] | None) -> int:
    if names is not None and text.lower() in names:
        return names[text.lower()]
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{text!r} is not a number" + (" or a name" if names else ""))
    return int(text)


def every_seconds(expression: str) -> float | None:
    """The period of an ``@every`` expression as robfig/cron runs it (whole seconds, at least
    :data:`MIN_EVERY_SECONDS`); None for any other expression.

    :raises ScheduleError: for an ``@every`` whose duration does not parse.
    """
    expr = normalize(expression)
    if not expr.startswith(_EVERY):
        return None
    return max(MIN_EVERY_SECONDS, float(math.floor(parse_go_duration(expr[len(_EVERY) :]))))


def fixed_rate_expression(interval: float) -> str:
    """The ``schedule`` annotation of a fixed rate of ``interval`` seconds: ``*/N * * * *`` when N
    minutes divides the hour, ``0 */N * * *`` when N hours divides the day (exact and aligned to
    the clock), else ``@every <duration>`` (exact, not aligned). See
    ``docs/openfaas.md#fixed-rates-as-schedules``.

    :raises ScheduleError: for a rate cron-connector cannot keep: under one second, or not a
        whole number of seconds.
    """
    if interval < MIN_EVERY_SECONDS:
        raise ScheduleError(f"every {interval:g}s is faster than cron-connector runs (once a second at most)")
    if interval != int(interval):
        raise ScheduleError(f"every {interval:g}s: cron-connector schedules whole seconds only")
    seconds = int(interval)
    if seconds % 60 == 0:
        minutes = seconds // 60
        if minutes < 60 and 60 % minutes == 0:
            return f"*/{minutes} * * * *"
        if minutes % 60 == 0:
            hours = minutes // 60
            if hours <= 24 and 24 % hours == 0:
                return f"0 */{hours} * * *"
    return f"@every {go_duration(seconds)}"


# --- fire times ----------------------------------------------------------------------------------


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
    """Fires per a 5-field expression or a descriptor (``@hourly``, ``@daily``, ...), in local time;
    times are epoch seconds (``time.time()``). Computed with croniter, with robfig/cron v3's
    semantics: ``?`` as ``*``, day-of-week 0 = Sunday, and a day matching *either* a restricted
    day-of-month or a restricted day-of-week fires.

    :raises ScheduleError: when the expression does not parse (see :func:`check_expression`), or
        is an ``@every`` (a :class:`FixedRateSchedule`: use :func:`schedule_of`).
    """

    expression: str

    def __post_init__(self) -> None:
        expr = check_expression(self.expression)
        if expr.startswith(_EVERY):
            raise ScheduleError(f"{self.expression!r} is a fixed rate: use schedule_of()")
        object.__setattr__(self, "expression", expr)

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


#: A schedule's fire-time arithmetic.
Schedule: TypeAlias = FixedRateSchedule | CronSchedule


def schedule_of(expression: str) -> Schedule:
    """The fire times of ``expression``: ``@every`` is a :class:`FixedRateSchedule` of
    :func:`every_seconds`, anything else a :class:`CronSchedule`.

    :raises ScheduleError: when the expression does not parse.
    """
    seconds = every_seconds(check_expression(expression))
    return FixedRateSchedule(seconds) if seconds is not None else CronSchedule(expression)
