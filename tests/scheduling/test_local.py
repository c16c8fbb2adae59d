"""The dev server's scheduler, on virtual time (exact fire times) and on a real uvicorn server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from servey_faas import CronTrigger, FixedRateTrigger, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ConfigurationError
from servey_faas.scheduling import CelerySettings, LocalScheduler, local_schedules
from servey_faas.settings import Settings
from tests.scheduling.conftest import FakeClock

pytestmark = pytest.mark.anyio

NO_CELERY = CelerySettings()


def make_app(*fns: Callable[..., Any], project_dir: Path = Path(".")) -> ServeyApp:
    actions = [get_action(fn) for fn in fns]
    assert all(a is not None for a in actions)
    return ServeyApp.from_registry(
        ActionRegistry(a for a in actions if a is not None), Settings(project_dir=project_dir)
    )


async def test_fixed_rate_fires_at_start_plus_k_intervals_without_drift(clock: FakeClock) -> None:
    starts: list[float] = []

    @action(triggers=(FixedRateTrigger(1),))
    async def slowish() -> None:
        starts.append(clock.monotonic())
        await clock.sleep(0.3)  # a run that takes time must not push later fires back

    async with LocalScheduler(make_app(slowish), clock=clock):
        await clock.advance(5.0)
    assert starts == [1.0, 2.0, 3.0, 4.0, 5.0]


async def test_a_fractional_rate_counts_from_one_origin(clock: FakeClock) -> None:
    starts: list[float] = []

    @action(triggers=(FixedRateTrigger(0.25),))
    async def quick() -> None:
        starts.append(clock.monotonic())

    await clock.advance(10.0)  # the origin is the scheduler's start, not the clock's zero
    async with LocalScheduler(make_app(quick), clock=clock):
        await clock.advance(1.0)
    assert starts == [10.25, 10.5, 10.75, 11.0]


async def test_failing_job_is_logged_with_its_name_and_keeps_firing(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[float] = []

    @action(triggers=(FixedRateTrigger(1),))
    async def always_fails() -> None:
        calls.append(clock.monotonic())
        raise RuntimeError("out of coffee")

    with caplog.at_level(logging.ERROR, logger="servey_faas.scheduling"):
        async with LocalScheduler(make_app(always_fails), clock=clock):
            await clock.advance(5.0)
    assert calls == [1.0, 2.0, 3.0, 4.0, 5.0]
    failures = [r for r in caplog.records if "'always_fails' failed" in r.getMessage()]
    assert len(failures) == 5
    assert failures[0].exc_info is not None and "out of coffee" in str(failures[0].exc_info[1])


async def test_a_run_still_going_is_not_overlapped_and_the_skip_is_logged(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    runs: list[tuple[float, float]] = []

    @action(triggers=(FixedRateTrigger(1),))
    async def slow() -> None:
        start = clock.monotonic()
        await clock.sleep(2.5)
        runs.append((start, clock.monotonic()))

    with caplog.at_level(logging.WARNING, logger="servey_faas.scheduling"):
        async with LocalScheduler(make_app(slow), clock=clock):
            await clock.advance(9.9)
    assert runs == [(1.0, 3.5), (4.0, 6.5), (7.0, 9.5)]
    skips = [r for r in caplog.records if "'slow' is still running" in r.getMessage()]
    assert len(skips) == 6  # the fires due at 2, 3, 5, 6, 8 and 9


async def test_cron_fires_on_the_wall_clock_in_local_time() -> None:
    clock = FakeClock(wall=datetime(2026, 3, 10, 10, 0, 30).timestamp())
    fired: list[datetime] = []

    @action(triggers=(CronTrigger("*/2 * * * *"),))
    async def every_two_minutes() -> None:
        fired.append(datetime.fromtimestamp(clock.time()))

    async with LocalScheduler(make_app(every_two_minutes), clock=clock):
        await clock.advance(5 * 60)
    assert fired == [datetime(2026, 3, 10, 10, 2), datetime(2026, 3, 10, 10, 4)]


async def test_every_descriptor_is_a_fixed_rate(clock: FakeClock) -> None:
    starts: list[float] = []

    @action(triggers=(CronTrigger("@every 1m30s"),))
    async def ninety() -> None:
        starts.append(clock.monotonic())

    async with LocalScheduler(make_app(ninety), clock=clock):
        await clock.advance(300.0)
    assert starts == [90.0, 180.0, 270.0]


async def test_a_scheduled_action_with_required_params_is_rejected_at_startup() -> None:
    @action(triggers=(FixedRateTrigger(60),))
    def needs_a_city(city: str, units: str = "metric") -> str:
        return city + units

    app = make_app(needs_a_city)
    with pytest.raises(ConfigurationError, match=r"action 'needs_a_city' .*required params city"):
        LocalScheduler(app)
    with pytest.raises(ConfigurationError, match="needs_a_city"):
        async with local_schedules(app, celery=NO_CELERY):
            pass


async def test_defaulted_params_are_fine_and_get_their_defaults(clock: FakeClock) -> None:
    seen: list[str] = []

    @action(triggers=(FixedRateTrigger(1),))
    async def greet(name: str = "scheduler") -> None:
        seen.append(name)

    async with LocalScheduler(make_app(greet), clock=clock):
        await clock.advance(1.0)
    assert seen == ["scheduler"]


async def test_nothing_runs_in_the_dev_server_when_celery_owns_the_schedules(clock: FakeClock, tmp_path: Path) -> None:
    calls: list[float] = []

    @action(triggers=(FixedRateTrigger(1),))
    async def owned_by_beat() -> None:
        calls.append(clock.monotonic())

    schedules = local_schedules(
        make_app(owned_by_beat, project_dir=tmp_path),
        celery=CelerySettings(broker_url="redis://127.0.0.1:6379/0"),
        lock_dir=tmp_path,
        clock=clock,
    )
    async with schedules:
        await clock.advance(5.0)
        assert not schedules.active
    assert calls == []


async def test_only_one_of_two_schedulers_for_a_project_runs_and_the_other_takes_over(
    clock: FakeClock, tmp_path: Path
) -> None:
    fired: list[tuple[str, float]] = []

    @action(triggers=(FixedRateTrigger(1),))
    async def from_a() -> None:
        fired.append(("a", clock.monotonic()))

    @action(triggers=(FixedRateTrigger(1),))
    async def from_b() -> None:
        fired.append(("b", clock.monotonic()))

    project = tmp_path / "project"
    first = local_schedules(
        make_app(from_a, project_dir=project), celery=NO_CELERY, lock_dir=tmp_path, clock=clock, standby_retry=0.5
    )
    second = local_schedules(
        make_app(from_b, project_dir=project), celery=NO_CELERY, lock_dir=tmp_path, clock=clock, standby_retry=0.5
    )
    async with first:
        assert first.active
        async with second:
            assert not second.active
            await clock.advance(3.0)
            assert [who for who, _ in fired] == ["a", "a", "a"]
            await first.__aexit__(None, None, None)  # the holder stops (a worker reloaded or shut down)
            assert not first.active
            await clock.advance(0.5)  # the standby's next try
            assert second.active
            fired.clear()
            await clock.advance(2.0)
            assert [who for who, _ in fired] == ["b", "b"]
    assert first.lock is not None and not first.lock.held
    assert second.lock is not None and not second.lock.held


async def test_schedulers_of_different_projects_both_run(clock: FakeClock, tmp_path: Path) -> None:
    @action(triggers=(FixedRateTrigger(1),))
    async def anything() -> None:
        pass

    one = local_schedules(
        make_app(anything, project_dir=tmp_path / "one"), celery=NO_CELERY, lock_dir=tmp_path, clock=clock
    )
    two = local_schedules(
        make_app(anything, project_dir=tmp_path / "two"), celery=NO_CELERY, lock_dir=tmp_path, clock=clock
    )
    async with one, two:
        assert one.active and two.active


async def test_stop_ends_the_firing_and_keeps_the_lock_until_exit(clock: FakeClock, tmp_path: Path) -> None:
    fired: list[float] = []

    @action(triggers=(FixedRateTrigger(1),))
    async def ticking() -> None:
        fired.append(clock.monotonic())

    schedules = local_schedules(
        make_app(ticking, project_dir=tmp_path / "project"), celery=NO_CELERY, lock_dir=tmp_path, clock=clock
    )
    async with schedules:
        await clock.advance(2.0)
        await schedules.stop()  # what the dev server does first when told to stop
        assert not schedules.active
        await clock.advance(3.0)
        assert fired == [1.0, 2.0]
        assert schedules.lock is not None and schedules.lock.held  # no other process takes over meanwhile
        await schedules.stop()  # again: nothing more to do
    assert not schedules.lock.held


async def test_a_stopped_standby_never_takes_over(clock: FakeClock, tmp_path: Path) -> None:
    @action(triggers=(FixedRateTrigger(1),))
    async def anything() -> None:
        pass

    project = tmp_path / "project"
    holder = local_schedules(
        make_app(anything, project_dir=project), celery=NO_CELERY, lock_dir=tmp_path, clock=clock, standby_retry=0.5
    )
    standby = local_schedules(
        make_app(anything, project_dir=project), celery=NO_CELERY, lock_dir=tmp_path, clock=clock, standby_retry=0.5
    )
    async with holder, standby:
        await standby.stop()
        await holder.__aexit__(None, None, None)
        await clock.advance(2.0)
        assert not standby.active


async def test_a_run_past_its_timeout_is_logged_and_the_schedule_goes_on(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    starts: list[float] = []
    cancelled = asyncio.Event()

    @action(triggers=(FixedRateTrigger(1),), timeout=0.05)
    async def hangs() -> None:
        starts.append(clock.monotonic())
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with caplog.at_level(logging.WARNING, logger="servey_faas.scheduling"):
        async with LocalScheduler(make_app(hangs), clock=clock):
            await clock.advance(1.0)
            await asyncio.wait_for(cancelled.wait(), 30)  # the timeout passes in real time
            await asyncio.sleep(0)
            await clock.advance(1.0)  # not skipped: the previous run has ended
    assert starts == [1.0, 2.0]
    assert (
        "scheduled run: action 'hangs' did not finish within its timeout of 0.05 s (every 1s); its schedule goes on"
        in [r.getMessage() for r in caplog.records]
    )
