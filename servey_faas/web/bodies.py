"""Request bodies on the dev server: read within the size limit, and the work on big ones done off
the event loop.

The event loop only waits. A request body (or query string) of at most :data:`OFF_LOOP_BYTES` is
parsed, validated and loaded on the event loop: that costs at most about a millisecond, less than
handing it to a thread and back. A bigger one is handed to :attr:`Bodies.threads`, a small pool of
its own, so that parsing never waits for the threads sync actions run on (nor the reverse), and the
event loop goes on serving other requests and schedules meanwhile. The result of a REST call goes
there to be rendered too, for any request, when it is big or of a type that may hold anything
(:meth:`Bodies.renders_at_once`): a small request may ask for a big result.

That work holds the GIL, which the interpreter hands to a waiting thread only every "switch
interval" (5 ms by default, ``sys.getswitchinterval()``); a small request needs it several times
(the event loop, then its action's thread, then the event loop again). While a thread works on a
big body, the interval is :data:`SWITCH_INTERVAL` instead, so that a small request waits about a
millisecond at each step rather than five; the previous interval is restored when no big body is
being worked on.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import functools
import operator
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.requests import Request

from servey_faas.settings import LimitSettings
from servey_faas.threads import WorkerThreads

R = TypeVar("R")

#: Types whose values render in a small bounded time, each counted as one value.
_SCALARS = frozenset(
    {type(None), bool, int, float, datetime.datetime, datetime.date, datetime.time, uuid.UUID, decimal.Decimal}
)

#: Bodies and query strings larger than this many bytes are parsed, validated and loaded (and their
#: results dumped) on a worker thread. Validating and loading params costs up to about 1 µs a byte
#: (lists of small dataclasses: JSON Schema validation, then marshy), GraphQL up to 5 µs (its own
#: coercion too), so the event loop spends at most a few milliseconds on a body this size, and a
#: request under it never pays a thread hop (about 20-50 µs).
OFF_LOOP_BYTES = 1024

#: Characters of a text result rendered on the event loop: about 20-30 µs of JSON encoding.
OFF_LOOP_TEXT = 16384

#: Values (items, keys, fields, scalars) of a result rendered on the event loop: finding out walks
#: at most this many (1.5 µs for three small dataclasses, 35 µs at most), and rendering them takes
#: about 100 µs at most.
OFF_LOOP_VALUES = 256

#: Threads for the work on big bodies. The work holds the GIL, so more threads would not finish it
#: sooner: they bound how many big bodies are worked on at once (the others wait their turn). A
#: big GraphQL request keeps its thread until its response is ready, its actions included.
PARSING_THREADS = 8

#: Seconds between two GIL hand-overs (``sys.setswitchinterval``) while a big body is worked on.
SWITCH_INTERVAL = 0.001


class Bodies:
    """How one app's endpoints read request bodies: at most ``limits.max_body_bytes``; work on a
    body bigger than :data:`OFF_LOOP_BYTES` goes to :attr:`threads`."""

    def __init__(self, limits: LimitSettings, threads: WorkerThreads | None = None) -> None:
        self.limits = limits
        self.threads = threads or WorkerThreads(PARSING_THREADS, name="servey-parse")

    async def read(self, request: Request) -> bytes | None:
        """The request body, or None when it is larger than ``limits.max_body_bytes``: known from
        ``Content-Length`` before anything is read, or, sent chunked, as soon as what arrived is
        larger (never more than the limit plus one chunk is kept). The rest of a refused body is
        read and dropped by the server (uvicorn) once the response is sent, so that the client
        receives it."""
        limit = self.limits.max_body_bytes
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return None
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return None
        return bytes(body)

    @staticmethod
    def is_big(size: int) -> bool:
        """True when work on ``size`` bytes of request goes off the event loop."""
        return size > OFF_LOOP_BYTES

    @staticmethod
    def renders_at_once(result: object) -> bool:
        """True when an action's ``result`` is small enough to be dumped and rendered on the event
        loop: at most :data:`OFF_LOOP_VALUES` values (each item, key, field and scalar counts) and
        :data:`OFF_LOOP_TEXT` characters of text in all. A bigger one, or one holding a type this
        does not know, is rendered off the loop, even for a small request
        (``GET /items?count=1000000``). Finding out costs at most about that many steps, whatever
        the result's size."""
        if isinstance(result, str):
            return len(result) <= OFF_LOOP_TEXT
        return type(result) in _SCALARS or _small(result)

    async def off_loop(self, fn: Callable[[], R]) -> R:
        """``fn()`` run on :attr:`threads`, with the caller's context variables, the switch
        interval being :data:`SWITCH_INTERVAL` meanwhile (see the module docstring)."""
        _short_switches.enter()
        try:
            return await self.threads.run(fn)
        finally:
            _short_switches.leave()


def _small(result: object) -> bool:
    """See :meth:`Bodies.renders_at_once`: a walk of at most :data:`OFF_LOOP_VALUES` values."""
    values, text = OFF_LOOP_VALUES, OFF_LOOP_TEXT
    pending: list[Any] = [result]
    while pending:
        value = pending.pop()
        values -= 1
        if values < 0:
            return False
        kind: type = type(value)
        if kind is str or kind is bytes:
            text -= len(value)
            if text < 0:
                return False
        elif kind in _SCALARS or isinstance(value, enum.Enum):
            continue
        elif kind is list or kind is tuple or kind is set or kind is frozenset:
            if len(value) > values:
                return False
            pending.extend(value)
        elif kind is dict:
            if 2 * len(value) > values:
                return False
            pending.extend(value)
            pending.extend(value.values())
        else:
            fields_of = _fields_reader(kind)
            if fields_of is None:  # not a dataclass: a type that may hold anything
                return False
            pending.extend(fields_of(value))
    return True


@functools.cache
def _fields_reader(kind: type) -> Callable[[Any], tuple[Any, ...]] | None:
    """For a dataclass, a function giving the values of an instance's fields; else None."""
    if not dataclasses.is_dataclass(kind):
        return None
    names = [f.name for f in dataclasses.fields(kind)]
    if len(names) == 1:
        name = names[0]
        return lambda value: (getattr(value, name),)
    return operator.attrgetter(*names) if names else lambda value: ()


class _ShortSwitchInterval:
    """Sets the interpreter's switch interval to :data:`SWITCH_INTERVAL` while at least one caller
    is between :meth:`enter` and :meth:`leave` (in any thread, for any app), then restores it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._previous = 0.0

    def enter(self) -> None:
        with self._lock:
            if self._count == 0:
                self._previous = sys.getswitchinterval()
                sys.setswitchinterval(min(self._previous, SWITCH_INTERVAL))
            self._count += 1

    def leave(self) -> None:
        with self._lock:
            self._count -= 1
            if self._count == 0:
                sys.setswitchinterval(self._previous)


_short_switches = _ShortSwitchInterval()
