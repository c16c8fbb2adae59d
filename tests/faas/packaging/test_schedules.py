"""Schedules as cron-connector annotations (CONTRACTS.md §4.2, §4.4) and watchdog timeouts (§5.1)."""

from __future__ import annotations

import pytest

from servey_faas import CronTrigger, FixedRateTrigger, action, get_action
from servey_faas.errors import BuildError
from servey_faas.faas.deploy.packager import (
    check_cron_expression,
    fixed_rate_schedule,
    function_timeouts,
    go_duration,
    schedule_of,
)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (1, "1s"),
        (30, "30s"),
        (90, "1m30s"),
        (3600, "1h"),
        (5400, "1h30m"),
        (86400 * 2, "48h"),
        (2.5, "2s500ms"),
        (0.0004, "1ms"),  # rounded up to the millisecond
        (30.0001, "30s1ms"),
    ],
)
def test_go_duration(seconds: float, expected: str) -> None:
    assert go_duration(seconds) == expected


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_go_duration_refuses_non_positive_or_infinite(bad: float) -> None:
    with pytest.raises(ValueError, match="seconds > 0"):
        go_duration(bad)


@pytest.mark.parametrize(
    ("interval", "expected"),
    [
        # every N minutes where N divides 60: exact and aligned to the clock (§4.4)
        (60, "*/1 * * * *"),
        (300, "*/5 * * * *"),
        (600, "*/10 * * * *"),
        (900, "*/15 * * * *"),
        (1800, "*/30 * * * *"),
        # N not dividing 60: */7 would fire 9 times an hour, */45 would alternate 45/15 min
        (420, "@every 7m"),
        (2700, "@every 45m"),
        # every N hours where N divides 24
        (3600, "0 */1 * * *"),
        (7200, "0 */2 * * *"),
        (6 * 3600, "0 */6 * * *"),
        (24 * 3600, "0 */24 * * *"),
        # 5 h does not divide the day; 90 min has no 5-field form; sub-minute rates
        (5 * 3600, "@every 5h"),
        (5400, "@every 1h30m"),
        (30, "@every 30s"),
        (90, "@every 1m30s"),
        (48 * 3600, "@every 48h"),
        (1, "@every 1s"),
        (12.0, "@every 12s"),
    ],
)
def test_fixed_rate_mapping(interval: float, expected: str) -> None:
    assert fixed_rate_schedule(interval) == expected
    check_cron_expression(expected)  # whatever is emitted parses


@pytest.mark.parametrize(
    ("interval", "message"),
    [(0.5, "faster than cron-connector runs"), (1.5, "whole seconds only"), (90.25, "whole seconds only")],
)
def test_fixed_rates_cron_connector_cannot_keep_are_refused(interval: float, message: str) -> None:
    with pytest.raises(BuildError, match=message):
        fixed_rate_schedule(interval)


@pytest.mark.parametrize(
    "expression",
    [
        "*/5 * * * *",
        "0 9 * * MON-FRI",
        "0 9 * * mon,wed,fri",
        "0 0 1 JAN,jul ?",
        "15,45 */2 1-15 * 0-6",
        "5/10 * * * *",  # N/step means N-max/step
        "59 23 31 12 6",
        "@hourly",
        "@midnight",
        "@annually",
        "@every 90s",
        "@every 1h30m",
        "@every 1.5h",
    ],
)
def test_expressions_cron_connector_parses(expression: str) -> None:
    check_cron_expression(expression)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 */5 * * * *", "6 fields, cron-connector takes 5 .*no seconds field"),
        ("* * * *", "4 fields"),
        ("*/5 * * * *; 0 0 * * *", "need OpenFaaS Pro"),
        ("61 * * * *", r"minute '61': out of range 0-59"),
        ("* 24 * * *", "hour '24': out of range 0-23"),
        ("* * 0 * *", "day-of-month '0': out of range 1-31"),
        ("* * * 13 *", "month '13': out of range 1-12"),
        ("* * * * 7", "day-of-week '7': out of range 0-6"),
        ("*/0 * * * *", "step must be a positive number"),
        ("30-10 * * * *", "start is after its end"),
        ("1-2-3 * * * *", "too many '-'"),
        ("*/2/3 * * * *", "too many '/'"),
        ("* * * FOO *", "'FOO' is not a number or a name"),
        ("L * * * *", "is not a number"),
        ("@fortnightly", "unknown descriptor"),
        ("@every soon", "Go duration"),
    ],
)
def test_expressions_cron_connector_refuses(expression: str, message: str) -> None:
    with pytest.raises(BuildError, match=message):
        check_cron_expression(expression)


def test_schedule_of_maps_the_actions_trigger_and_names_the_action() -> None:
    @action(triggers=(FixedRateTrigger(600),))
    def every_ten() -> None: ...

    @action(triggers=(CronTrigger("0 9 * * 1"),))
    def mondays() -> None: ...

    @action
    def unscheduled() -> None: ...

    @action(triggers=(CronTrigger("61 * * * *"),))
    def bad() -> None: ...

    assert schedule_of(get_action(every_ten)) == "*/10 * * * *"  # type: ignore[arg-type]
    assert schedule_of(get_action(mondays)) == "0 9 * * 1"  # type: ignore[arg-type]
    assert schedule_of(get_action(unscheduled)) is None  # type: ignore[arg-type]
    with pytest.raises(BuildError, match=r"^action 'bad': schedule '61 \* \* \* \*': minute"):
        schedule_of(get_action(bad))  # type: ignore[arg-type]


def test_a_cron_expression_that_slipped_past_the_trigger_is_still_refused() -> None:
    trigger = CronTrigger("* * * * *")
    object.__setattr__(trigger, "expression", "0 0 * * * ; 0 12 * * *")  # what the dataclass check would refuse

    @action(triggers=(trigger,))
    def twice() -> None: ...

    with pytest.raises(BuildError, match=r"action 'twice'.*need OpenFaaS Pro"):
        schedule_of(get_action(twice))  # type: ignore[arg-type]


def test_one_schedule_per_function() -> None:
    @action(triggers=(FixedRateTrigger(60), CronTrigger("0 0 * * *")))
    def both() -> None: ...

    @action(triggers=(FixedRateTrigger(60), CronTrigger("*/1 * * * *")))
    def same() -> None: ...

    with pytest.raises(BuildError, match=r"action 'both' has 2 schedules .*one schedule annotation"):
        schedule_of(get_action(both))  # type: ignore[arg-type]
    assert schedule_of(get_action(same)) == "*/1 * * * *"  # type: ignore[arg-type]  # one schedule, given twice


def test_function_timeouts_leave_read_and_write_above_exec() -> None:
    assert function_timeouts(30) == {"exec_timeout": "30s", "read_timeout": "35s", "write_timeout": "35s"}
    assert function_timeouts(2.5) == {"exec_timeout": "2s500ms", "read_timeout": "7s500ms", "write_timeout": "7s500ms"}
