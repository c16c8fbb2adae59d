"""One-shot timers for per-call deadlines, cheaper than one event-loop timer each.

Every action call is bounded by the action's timeout, so a server arms a timer per request and
nearly always cancels it. ``loop.call_at`` plus ``TimerHandle.cancel`` cost ~3 µs a request on
uvloop, a tenth of what a small action costs to serve; :class:`Timers` costs ~0.5 µs: timers of one
delay fire in the order they were armed, so each delay keeps a FIFO queue, cancelled timers leave
it from its head, and one event-loop timer is armed at the earliest due time among the heads.

asyncio is never imported here: the callers' running loop is passed in.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

#: How early (seconds) a timer may fire: the event loop's clock resolution (uvloop counts in ms).
_RESOLUTION = 0.001


class Timer:
    """One armed timer: :meth:`cancel` it, or read :attr:`fired` after its callback ran."""

    __slots__ = ("_callback", "_queue", "fired", "when")

    def __init__(self, when: float, callback: Callable[[], Any], queue: deque[Timer]) -> None:
        #: The loop time (``loop.time()``, seconds) the timer is due at.
        self.when = when
        #: True once the callback has been called.
        self.fired = False
        self._callback: Callable[[], Any] | None = callback
        self._queue = queue

    def cancel(self) -> None:
        """Never call the callback (a no-op once it has run)."""
        self._callback = None
        queue = self._queue
        while queue and queue[0]._callback is None:
            queue.popleft()


class Timers:
    """The timers of one event loop; use :func:`loop_timers` to get the running loop's."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # The loop and its armed handle (which holds the loop) only weakly: the loop is the key of
        # this object in _BY_LOOP, a WeakKeyDictionary, and a strong reference from the value would
        # keep both for ever (a loop per asyncio.run: leaked). The loop holds the handle while it
        # is pending.
        self._loop = weakref.ref(loop)
        self._queues: dict[float, deque[Timer]] = {}
        self._handle: weakref.ref[asyncio.TimerHandle] | None = None
        self._armed_at = float("inf")

    def call_later(self, delay: float, callback: Callable[[], Any]) -> Timer:
        """Call ``callback()`` on the loop ``delay`` seconds from now, unless the timer is cancelled
        first; call it from the loop's thread. An exception the callback raises goes to the loop's
        exception handler."""
        queue = self._queues.get(delay)
        if queue is None:
            queue = self._queues[delay] = deque()
        timer = Timer(self._loop().time() + delay, callback, queue)  # type: ignore[union-attr]  # alive: it runs the caller
        queue.append(timer)
        if timer.when < self._armed_at:
            self._arm(timer.when)
        return timer

    def _arm(self, when: float) -> None:
        pending = None if self._handle is None else self._handle()
        if pending is not None:
            pending.cancel()
        self._handle = weakref.ref(self._loop().call_at(when, self._fire))  # type: ignore[union-attr]
        self._armed_at = when

    def _fire(self) -> None:
        self._handle, self._armed_at = None, float("inf")
        loop = self._loop()
        assert loop is not None  # it runs this callback
        now = loop.time() + _RESOLUTION
        due: list[Timer] = []
        earliest = float("inf")
        for queue in self._queues.values():
            while queue and (queue[0]._callback is None or queue[0].when <= now):
                timer = queue.popleft()
                if timer._callback is not None:
                    due.append(timer)
            if queue:
                earliest = min(earliest, queue[0].when)
        if earliest < float("inf"):
            self._arm(earliest)
        for timer in due:
            callback, timer._callback = timer._callback, None
            timer.fired = True
            try:
                callback()  # type: ignore[misc]  # due timers all have one
            except Exception as e:  # the others must still fire
                loop.call_exception_handler({"message": "exception in a timer callback", "exception": e})


_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Timers] = weakref.WeakKeyDictionary()


def loop_timers(loop: asyncio.AbstractEventLoop) -> Timers:
    """The :class:`Timers` of ``loop``, made on first use; they go away with the loop."""
    timers = _BY_LOOP.get(loop)
    if timers is None:
        timers = _BY_LOOP[loop] = Timers(loop)
    return timers
