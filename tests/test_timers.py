"""servey_faas.timers: one-shot timers queued by delay, one event-loop timer for all."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from servey_faas.timers import Timers, loop_timers

pytestmark = pytest.mark.anyio


async def test_timers_fire_in_due_order_across_delays() -> None:
    timers = Timers(asyncio.get_running_loop())
    fired: list[str] = []
    done = asyncio.Event()
    timers.call_later(0.03, lambda: fired.append("b 30 ms"))
    timers.call_later(0.01, lambda: fired.append("a 10 ms"))
    timers.call_later(0.03, lambda: fired.append("c 30 ms"))
    timers.call_later(0.05, done.set)

    await done.wait()

    assert fired == ["a 10 ms", "b 30 ms", "c 30 ms"]


async def test_a_cancelled_timer_never_fires_and_the_others_do() -> None:
    timers = Timers(asyncio.get_running_loop())
    fired: list[str] = []
    done = asyncio.Event()
    first = timers.call_later(0.01, lambda: fired.append("first"))
    timers.call_later(0.01, lambda: fired.append("second"))
    timers.call_later(0.02, done.set)

    first.cancel()
    await done.wait()

    assert fired == ["second"]
    assert not first.fired


async def test_fired_is_set_before_the_callback_runs() -> None:
    timers = Timers(asyncio.get_running_loop())
    seen: list[bool] = []
    done = asyncio.Event()
    timer = timers.call_later(0.01, lambda: (seen.append(timer.fired), done.set()))

    await done.wait()

    assert seen == [True]
    timer.cancel()  # a no-op once fired
    assert timer.fired


async def test_a_failing_callback_is_reported_and_the_others_still_fire() -> None:
    loop = asyncio.get_running_loop()
    reported: list[BaseException | None] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context.get("exception")))
    timers = Timers(loop)
    done = asyncio.Event()

    def fail() -> None:
        raise LookupError("broken callback")

    try:
        timers.call_later(0.01, fail)
        timers.call_later(0.01, done.set)
        await done.wait()
    finally:
        loop.set_exception_handler(None)

    assert [type(e) for e in reported] == [LookupError]


async def test_a_shorter_timer_armed_later_fires_first() -> None:
    timers = Timers(asyncio.get_running_loop())
    fired: list[str] = []
    done = asyncio.Event()
    timers.call_later(10.0, lambda: fired.append("late"))
    timers.call_later(0.01, lambda: (fired.append("soon"), done.set()))

    await done.wait()

    assert fired == ["soon"]


async def test_each_loop_has_its_timers() -> None:
    loop = asyncio.get_running_loop()
    assert loop_timers(loop) is loop_timers(loop)

    other = asyncio.new_event_loop()
    try:
        assert loop_timers(other) is not loop_timers(loop)
    finally:
        other.close()


@pytest.mark.parametrize("cancel", [True, False], ids=["cancelled", "left-armed"])
def test_a_loops_timers_do_not_keep_it_alive(cancel: bool) -> None:
    # A big GraphQL request runs on a loop of its own (asyncio.run): each used to stay in memory.
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def arm() -> None:
        loop = asyncio.get_running_loop()
        loops.append(weakref.ref(loop))
        timer = loop_timers(loop).call_later(60, lambda: None)
        if cancel:
            timer.cancel()

    for _ in range(5):
        asyncio.run(arm())
    gc.collect()
    assert [ref() for ref in loops] == [None] * 5
