"""Next-fire arithmetic, the schedules of an app, beat's schedule, and the Celery settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from servey_faas import CronTrigger, FixedRateTrigger, WebTrigger, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.authorization import Authorization
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ConfigurationError
from servey_faas.scheduling import (
    CelerySettings,
    CronSchedule,
    FixedRateSchedule,
    schedule_for,
    scheduled_actions,
)


def local(*args: int) -> float:
    return datetime(*args).timestamp()  # type: ignore[arg-type]


def test_fixed_rate_fires_at_origin_plus_k_intervals() -> None:
    s = FixedRateSchedule(1.5, origin=10.0)
    assert s.next_fire(10.0) == 11.5
    assert s.next_fire(0.0) == 11.5  # never before the first interval
    assert s.next_fire(11.5) == 13.0  # strictly later
    assert s.next_fire(11.49) == 11.5
    assert s.next_fire(100.0) == 101.5  # a late caller skips to the next tick, no catch-up
    assert s.anchored(0.0).next_fire(1.0) == 1.5


def test_fixed_rate_has_no_float_drift_far_from_its_origin() -> None:
    s = FixedRateSchedule(0.1, origin=1_795_000_000.0)
    fire = s.origin
    for _ in range(1000):
        fire = s.next_fire(fire)
    assert fire == pytest.approx(1_795_000_100.0, abs=1e-6)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("*/5 * * * *", (2026, 1, 1, 0, 5, 0), (2026, 1, 1, 0, 10, 0)),
        ("*/5 * * * *", (2026, 1, 1, 0, 4, 59), (2026, 1, 1, 0, 5, 0)),
        ("0 9 * * MON-FRI", (2026, 1, 2, 10, 0, 0), (2026, 1, 5, 9, 0, 0)),  # Fri after 9 → Mon
        ("0 0 1 jan *", (2026, 6, 1, 0, 0, 0), (2027, 1, 1, 0, 0, 0)),
        ("0 0 13 * 5", (2026, 1, 1, 0, 0, 0), (2026, 1, 2, 0, 0, 0)),  # day 13 OR Friday (robfig)
        ("0 0 * * 0", (2026, 1, 1, 0, 0, 0), (2026, 1, 4, 0, 0, 0)),  # 0 = Sunday
        ("30 ? * * *", (2026, 1, 1, 0, 31, 0), (2026, 1, 1, 1, 30, 0)),  # ? reads as *
        ("@hourly", (2026, 1, 1, 0, 0, 30), (2026, 1, 1, 1, 0, 0)),
        ("@daily", (2026, 1, 1, 12, 0, 0), (2026, 1, 2, 0, 0, 0)),
        ("@midnight", (2026, 1, 1, 12, 0, 0), (2026, 1, 2, 0, 0, 0)),
        ("@weekly", (2026, 1, 1, 0, 0, 0), (2026, 1, 4, 0, 0, 0)),
        ("@monthly", (2026, 1, 15, 0, 0, 0), (2026, 2, 1, 0, 0, 0)),
        ("@yearly", (2026, 1, 15, 0, 0, 0), (2027, 1, 1, 0, 0, 0)),
        ("@annually", (2026, 1, 15, 0, 0, 0), (2027, 1, 1, 0, 0, 0)),
    ],
)
def test_cron_next_fire_in_local_time(expression: str, after: tuple[int, ...], expected: tuple[int, ...]) -> None:
    schedule = schedule_for(CronTrigger(expression))
    assert isinstance(schedule, CronSchedule)
    assert datetime.fromtimestamp(schedule.next_fire(local(*after))) == datetime(*expected)  # type: ignore[arg-type]


def test_every_is_a_fixed_rate_of_at_least_one_second() -> None:
    assert schedule_for(CronTrigger("@every 1h30m")) == FixedRateSchedule(5400.0)
    assert schedule_for(CronTrigger("@every 250ms")) == FixedRateSchedule(1.0)
    assert schedule_for(FixedRateTrigger(0.5)) == FixedRateSchedule(0.5)


def test_out_of_range_cron_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="99 \\* \\* \\* \\*"):
        schedule_for(CronTrigger("99 * * * *"))


def _app(*fns: object) -> ServeyApp:
    return ServeyApp.from_registry(ActionRegistry(a for a in map(get_action, fns) if a is not None))


@action(triggers=(WebTrigger("GET"), FixedRateTrigger(30), CronTrigger("@hourly")))
def twice(limit: int = 3) -> int:
    return limit


@action(triggers=(WebTrigger("GET"),))
def web_only(q: str) -> str:
    return q


_slipped = CronTrigger("0 0 * * *")
object.__setattr__(_slipped, "expression", "0 61 * * *")  # past the trigger's own check


@action(triggers=(_slipped,))
def bad_hour() -> None:
    pass


def test_scheduled_actions_lists_every_schedule_trigger() -> None:
    jobs = scheduled_actions(_app(twice, web_only))
    assert [(j.key, j.action_name, j.schedule) for j in jobs] == [
        ("twice", "twice", FixedRateSchedule(30.0)),
        ("twice#2", "twice", CronSchedule("@hourly")),
    ]


def test_scheduled_actions_names_the_action_with_a_bad_cron() -> None:
    with pytest.raises(ValueError, match="hour '61': out of range 0-23"):
        CronTrigger("0 61 * * *")  # refused where it is written
    with pytest.raises(ConfigurationError, match=r"action 'bad_hour'.*hour '61'"):
        scheduled_actions(_app(bad_hour))


def test_beat_schedule_sends_empty_params_and_expires_stale_fires() -> None:
    from servey_faas.scheduling.celery_app import beat_schedule

    entries = beat_schedule(_app(twice, web_only))
    assert set(entries) == {"twice", "twice#2"}
    assert entries["twice"]["task"] == "servey_faas.twice"
    assert entries["twice"]["kwargs"] == {"params": {}}
    assert entries["twice"]["options"] == {"expires": 30.0}
    assert entries["twice#2"]["options"] == {"expires": 3600.0}


def test_beat_fixed_rate_is_due_on_whole_multiples_of_the_interval() -> None:
    from servey_faas.scheduling.celery_app import BeatSchedule

    now = datetime(2026, 1, 1, 0, 0, 10, 500_000, tzinfo=UTC)
    schedule = BeatSchedule(FixedRateSchedule(2.0), nowfun=lambda: now)
    due, wait = schedule.is_due(now - timedelta(seconds=0.4))  # last run at 10.1: next at 12.0
    assert not due and wait == pytest.approx(1.5)
    due, wait = schedule.is_due(now - timedelta(seconds=0.6))  # last run at 9.9: 10.0 has passed
    assert due and wait == pytest.approx(1.5)
    assert schedule.remaining_estimate(now) == timedelta(seconds=1.5)
    assert schedule == BeatSchedule(FixedRateSchedule(2.0))


def test_beat_cron_is_due_per_croniter() -> None:
    from servey_faas.scheduling.celery_app import BeatSchedule

    now = datetime.fromtimestamp(local(2026, 1, 1, 10, 0, 20), tz=UTC)
    schedule = BeatSchedule(CronSchedule("* * * * *"), nowfun=lambda: now)
    assert schedule.is_due(now - timedelta(seconds=30)) == (True, pytest.approx(40.0))
    assert schedule.is_due(now - timedelta(seconds=10)) == (False, pytest.approx(40.0))


def test_celery_settings_are_read_once_from_the_environment() -> None:
    assert not CelerySettings.load({}).enabled
    assert not CelerySettings.load({"CELERY_BROKER": "  "}).enabled
    settings = CelerySettings.load(
        {"CELERY_BROKER": "redis://127.0.0.1:6379/0", "CELERY_RESULT_BACKEND": "redis://127.0.0.1:6379/1"}
    )
    assert settings == CelerySettings("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1")
    assert settings.enabled
    with pytest.raises(ConfigurationError, match="CELERY_BROKER"):
        CelerySettings.load({"CELERY_BROKER": "localhost:6379"})


def test_a_scheduled_action_that_needs_a_bearer_token_is_refused() -> None:
    @action(triggers=(FixedRateTrigger(60),))
    def needs_token(auth: Authorization) -> str:
        return auth.subject_id or ""

    @action(triggers=(FixedRateTrigger(60),))
    def token_optional(auth: Authorization | None = None) -> str:
        return "anonymous" if auth is None else "known"

    with pytest.raises(ConfigurationError, match=r"action 'needs_token' .*bearer token"):
        scheduled_actions(_app(needs_token))
    assert [j.action_name for j in scheduled_actions(_app(token_optional))] == ["token_optional"]
