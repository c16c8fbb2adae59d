"""The schedule rules every part shares (servey_faas.cron): Go durations, the expressions
cron-connector parses (robfig/cron v3), fixed rates as annotations, and @every as it is run."""

from __future__ import annotations

import pytest

from servey_faas import CronTrigger
from servey_faas.cron import (
    CronSchedule,
    FixedRateSchedule,
    ScheduleError,
    check_expression,
    every_seconds,
    fixed_rate_expression,
    go_duration,
    parse_go_duration,
    schedule_of,
)
from servey_faas.errors import ConfigurationError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90.0), ("1h30m", 5400.0), ("1.5h", 5400.0), ("500ms", 0.5), ("2m3s4ms", 123.004), ("10us", 1e-5)],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_go_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "90", "s", "1x", "-1s", "1s ", "1h 30m"])
def test_not_go_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_go_duration(text)


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
        # every N minutes where N divides 60: exact and aligned to the clock
        # (``docs/openfaas.md#fixed-rates-as-schedules``)
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
    assert fixed_rate_expression(interval) == expected
    check_expression(expected)  # whatever is emitted parses


@pytest.mark.parametrize(
    ("interval", "message"),
    [(0.5, "faster than cron-connector runs"), (1.5, "whole seconds only"), (90.25, "whole seconds only")],
)
def test_fixed_rates_cron_connector_cannot_keep_are_refused(interval: float, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        fixed_rate_expression(interval)


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
    check_expression(expression)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 */5 * * * *", "has 6 fields; cron-connector takes 5: .*no seconds field"),
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
    with pytest.raises(ScheduleError, match=message):
        check_expression(expression)


def test_schedule_of_reads_expressions_as_robfig_cron() -> None:
    assert schedule_of("@every 1h30m") == FixedRateSchedule(5400.0)
    assert schedule_of("@every 1.5s") == FixedRateSchedule(1.0)  # fractions of a second are cut
    assert schedule_of("@every 200ms") == FixedRateSchedule(1.0)  # and 1 s is the least
    assert schedule_of("@hourly") == CronSchedule("@hourly")
    assert isinstance(schedule_of("*/5 * * JAN-MAR mon-fri"), CronSchedule)
    for bad in ("* * * * * *", "@every", "@every 5", "0 0 31 13 *", "CRON_TZ=UTC 0 9 * * *", ""):
        with pytest.raises(ScheduleError):
            schedule_of(bad)


@pytest.mark.parametrize("expression", ["@every .5h", "@every 1.5h", "@every 2m3s4ms", "@every 10us"])
def test_the_trigger_accepts_every_go_duration_the_packager_and_schedulers_do(expression: str) -> None:
    assert CronTrigger(expression).expression == check_expression(expression) == expression
    assert schedule_of(expression) == FixedRateSchedule(every_seconds(expression) or 0.0)


@pytest.mark.parametrize(
    "expression", ["61 * * * *", "0 0 * * * *", "*/5 * * * *; 0 0 * * *", "@fortnightly", "@every"]
)
def test_the_trigger_refuses_what_cron_connector_refuses_with_the_same_words(expression: str) -> None:
    with pytest.raises(ScheduleError) as from_check:
        check_expression(expression)
    with pytest.raises(ValueError) as from_trigger:
        CronTrigger(expression)
    assert str(from_trigger.value) == str(from_check.value)
    assert isinstance(from_check.value, ConfigurationError)


def test_every_runs_in_whole_seconds_at_least_one() -> None:
    assert every_seconds("@every 2.5s") == 2.0
    assert every_seconds("@every 200ms") == 1.0
    assert every_seconds("@every 1h") == 3600.0
    assert every_seconds("@hourly") is None
