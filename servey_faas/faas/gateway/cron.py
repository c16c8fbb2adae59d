"""The local gateway's cron-connector: functions annotated ``topic: cron-function`` are invoked on
their ``schedule`` annotation (``docs/openfaas.md#cron-connector``).

What it does as the CE cron-connector does (``docs/openfaas.md#cron-connector``):

* a function is scheduled when its annotations hold ``topic`` = exactly ``cron-function`` and a
  ``schedule`` that robfig/cron v3 accepts: 5 fields (minute hour day-of-month month day-of-week),
  a descriptor (``@hourly``, ``@daily``, ...) or ``@every <Go duration>`` (whole seconds, at least
  one). A schedule that does not parse is skipped: one line in the gateway's log and in the
  function's own logs (``/system/logs``), nothing else;
* each firing is ``POST /function/NAME.NS`` with no body, no ``Content-Type``, Go's
  ``User-Agent`` and the headers ``X-Topic: cron-function`` and ``X-Connector: cron-connector``,
  sent through the gateway's own routes, so it is proxied, counted (``invocationCount``) and
  given an ``X-Call-Id`` like any call. No ``Authorization`` is sent: a function deployed with
  ``jwt_auth=true`` answers 401, as it does under CE;
* no overlap protection: every firing runs in its own task, so a call slower than the period
  overlaps the next one; results and errors are only logged (``servey_faas.faas.gateway.cron``
  logger, INFO for each answer, WARNING for failures), never retried;
* an ``@every`` schedule first fires one full period after it is added; runs missed while the
  gateway was down (or its event loop busy) are not caught up.

Where it differs from CE, on purpose:

* no ``rebuild_interval`` (CE: every 10 s it lists ``/system/namespaces`` and
  ``/system/functions`` and diffs ``(name, namespace, schedule)``): the gateway tells the
  connector about every deploy, update and removal, so a schedule is added, changed or dropped
  at once, and a removed function never fires again (under CE it may fire, and get a 404 or 503,
  for up to one interval). At gateway start the saved deployments are scheduled right away (CE's
  first discovery waits one interval);
* ``@every`` runs keep the phase of the moment they were added (``origin + k·period``) instead
  of robfig's "one period after the last run", so late runs do not shift the later ones;
* cron expressions use the gateway machine's local time zone; a ``CRON_TZ=``/``TZ=`` prefix is
  not accepted (it is skipped as unparseable);
* always synchronous (CE's ``asynchronous_invocation=true`` is not offered); one connector per
  gateway, so functions fire once per period whatever their scale.

Schedules are parsed and fired by :mod:`servey_faas.cron` (the rules and arithmetic of
``CronTrigger``, the packager, the local scheduler and Celery beat).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpx

from servey_faas.cron import FixedRateSchedule, Schedule, schedule_of
from servey_faas.errors import ConfigurationError
from servey_faas.faas.client.models import FunctionDeployment
from servey_faas.faas.gateway.logs import LogBook
from servey_faas.faas.wire import CRON_TOPIC

#: The headers of every cron invocation (``docs/openfaas.md#discovery-invocation-and-auth``): Go's default
#: ``User-Agent``, the topic and the connector.
CRON_HEADERS = {
    "User-Agent": "Go-http-client/1.1",
    "Accept-Encoding": "gzip",
    "X-Topic": CRON_TOPIC,
    "X-Connector": "cron-connector",
}
#: Longest single sleep (seconds) while waiting for a cron time, so wall-clock changes are followed.
_MAX_SLEEP = 60.0
_logger = logging.getLogger(__name__)


def cron_expression(spec: FunctionDeployment) -> str | None:
    """The ``schedule`` annotation of ``spec`` when it is a cron function (``topic`` exactly
    ``cron-function``, ``docs/openfaas.md#schedule-annotations``); ``None`` otherwise (whether or not the schedule
    parses)."""
    annotations = spec.annotations or {}
    if annotations.get("topic") != CRON_TOPIC or "schedule" not in annotations:
        return None
    return annotations["schedule"]


@dataclass
class _Entry:
    """One scheduled function: its ``expression``, parsed ``schedule`` and firing task."""

    name: str
    namespace: str
    expression: str
    schedule: Schedule
    task: asyncio.Task[None] | None = None

    @property
    def target(self) -> str:
        return f"{self.name}.{self.namespace}"


class CronConnector:
    """Fires the cron functions of a gateway (see the module docstring) through ``gateway``, an
    ``httpx.AsyncClient`` whose base URL reaches the gateway's own routes. ``logs`` receives the
    line saying a function's schedule was skipped.

    Use from one event loop: :meth:`refresh` after every change of the deployments, :meth:`close`
    at shutdown. ``clock`` (epoch seconds) is the wall clock cron expressions are read on.
    """

    def __init__(self, gateway: httpx.AsyncClient, logs: LogBook, *, clock: Callable[[], float] = time.time) -> None:
        self.gateway = gateway
        self.logs = logs
        self._clock = clock
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._skipped: dict[tuple[str, str], str] = {}
        self._inflight: set[asyncio.Task[None]] = set()

    def scheduled(self) -> dict[str, str]:
        """``{"NAME.NS": schedule}`` of every function being fired (a copy, safe from any thread)."""
        return {entry.target: entry.expression for entry in list(self._entries.values())}

    def refresh(self, deployments: Iterable[FunctionDeployment]) -> None:
        """Make the schedules those of ``deployments`` (namespaces filled in): new cron functions
        are added, those whose schedule changed are restarted on the new one (the old one stops at
        once), and those gone or no longer annotated are dropped. Calls already running go on."""
        wanted: dict[tuple[str, str], str] = {}
        for spec in deployments:
            expression = cron_expression(spec)
            if expression is not None:
                wanted[(spec.namespace, spec.service)] = expression
        for key in [k for k, entry in self._entries.items() if wanted.get(k) != entry.expression]:
            self._drop(key)
        self._skipped = {k: e for k, e in self._skipped.items() if wanted.get(k) == e}
        for key, expression in wanted.items():
            if key not in self._entries and key not in self._skipped:
                self._add(key, expression)

    async def close(self) -> None:
        """Stop every schedule and cancel the calls still running."""
        tasks = [entry.task for entry in self._entries.values() if entry.task is not None]
        self._entries.clear()
        tasks += list(self._inflight)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # --- schedules -------------------------------------------------------------------------------

    def _add(self, key: tuple[str, str], expression: str) -> None:
        namespace, name = key
        try:
            schedule = schedule_of(expression)
        except ConfigurationError as e:
            self._skipped[key] = expression
            message = f"cron-connector: {name}.{namespace} not scheduled, its schedule does not parse: {e}"
            _logger.warning("%s", message)
            self.logs.append(name, namespace, "", message + "\n")
            return
        entry = _Entry(name, namespace, expression, schedule)
        entry.task = asyncio.get_running_loop().create_task(self._fire_on_schedule(entry), name=f"cron:{entry.target}")
        self._entries[key] = entry
        _logger.info("cron-connector: %s scheduled on %r", entry.target, expression)

    def _drop(self, key: tuple[str, str]) -> None:
        entry = self._entries.pop(key)
        if entry.task is not None:
            entry.task.cancel()
        _logger.info("cron-connector: %s no longer scheduled (was %r)", entry.target, entry.expression)

    async def _fire_on_schedule(self, entry: _Entry) -> None:
        schedule = entry.schedule
        clock = self._clock
        if isinstance(schedule, FixedRateSchedule):  # a fixed rate runs on the monotonic clock, from now
            clock = time.monotonic
            schedule = schedule.anchored(clock())
        fire = schedule.next_fire(clock())
        while True:
            while (delay := fire - clock()) > 0:
                await asyncio.sleep(min(delay, _MAX_SLEEP))
            task = asyncio.get_running_loop().create_task(self._invoke(entry), name=f"cron-call:{entry.target}")
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            fire = schedule.next_fire(max(fire, clock()))

    async def _invoke(self, entry: _Entry) -> None:
        """One firing: ``POST /function/NAME.NS`` with no body (``docs/openfaas.md#discovery-invocation-and-auth``), its
        answer logged."""
        started = time.perf_counter()
        request = self.gateway.build_request("POST", f"/function/{entry.target}", headers=CRON_HEADERS)
        del request.headers["accept"]  # Go's client sends none
        try:
            response = await self.gateway.send(request)
        except httpx.HTTPError as e:
            _logger.warning("cron-connector: invoking %s failed: %s", entry.target, e)
            return
        took = time.perf_counter() - started
        _logger.info(
            "cron-connector: %s [%s] answered %d in %.3fs (X-Call-Id %s)",
            entry.target,
            entry.expression,
            response.status_code,
            took,
            response.headers.get("x-call-id", ""),
        )
