"""The function logs of the local gateway: each line a replica writes to stdout or stderr, kept
in memory (a bounded ring per function) and served by ``GET /system/logs`` as NDJSON
``LogEntry`` lines (``docs/openfaas.md#logentry-and-log-query-parameters``)."""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from servey_faas.faas.client.models import LogEntry

#: Lines kept per function; older lines are dropped first.
DEFAULT_MAX_LINES = 10_000


@dataclass(frozen=True)
class LogQuery:
    """The parameters of ``GET /system/logs`` (``docs/openfaas.md#logentry-and-log-query-parameters``): ``tail`` ≤ 0 is
    unlimited, ``since`` an aware datetime or ``None``, ``instance`` ``""`` for every replica."""

    name: str
    namespace: str
    instance: str = ""
    tail: int = 0
    follow: bool = False
    since: datetime.datetime | None = None

    def wants(self, entry: LogEntry) -> bool:
        return (not self.instance or entry.instance == self.instance) and (
            self.since is None or entry.timestamp is None or entry.timestamp >= self.since
        )


class LogBook:
    """The log lines of every function, ``max_lines`` kept per function. Thread-safe: replicas'
    reader threads :meth:`append`, the event loop streams (:meth:`stream`)."""

    def __init__(self, max_lines: int = DEFAULT_MAX_LINES) -> None:
        self._max_lines = max_lines
        self._lock = threading.Lock()
        self._lines: dict[tuple[str, str], deque[tuple[int, LogEntry]]] = {}
        self._written: dict[tuple[str, str], int] = {}

    def append(self, name: str, namespace: str, instance: str, text: str) -> None:
        """Add one line (``text`` keeps its ``\\n``), stamped now (UTC)."""
        entry = LogEntry(name, namespace, instance, datetime.datetime.now(datetime.UTC), text)
        key = (namespace, name)
        with self._lock:
            lines = self._lines.setdefault(key, deque(maxlen=self._max_lines))
            number = self._written.get(key, 0)
            lines.append((number, entry))
            self._written[key] = number + 1

    def forget(self, name: str, namespace: str) -> None:
        """Drop the lines of a removed function."""
        with self._lock:
            self._lines.pop((namespace, name), None)
            self._written.pop((namespace, name), None)

    def _after(self, key: tuple[str, str], seen: int) -> tuple[list[LogEntry], int]:
        with self._lock:
            lines = [entry for number, entry in self._lines.get(key, ()) if number >= seen]
            return lines, self._written.get(key, 0)

    async def stream(
        self, query: LogQuery, *, keep_following: Callable[[], bool], poll_interval: float = 0.05
    ) -> AsyncIterator[str]:
        """The NDJSON lines (each ending in ``\\n``) of ``query``: the last ``tail`` wanted lines,
        then, with ``follow``, new lines as they come while ``keep_following()`` is true
        (checked every ``poll_interval`` seconds)."""
        key = (query.namespace, query.name)
        entries, seen = self._after(key, 0)
        entries = [e for e in entries if query.wants(e)]
        if query.tail > 0:
            entries = entries[-query.tail :]
        for entry in entries:
            yield json.dumps(entry.to_wire()) + "\n"
        while query.follow and keep_following():
            await asyncio.sleep(poll_interval)
            fresh, seen = self._after(key, seen)
            for entry in fresh:
                if query.wants(entry):
                    yield json.dumps(entry.to_wire()) + "\n"
