"""The local gateway's queue-worker: runs the jobs of the durable async queue as the CE
nats-queue-worker does (``docs/openfaas.md#the-ce-queue-worker``, ``docs/openfaas.md#callbacks``) and POSTs each result
to its callback URL; with a :class:`QueueRetryPolicy`, retries failed invocations with exponential backoff as the Pro
queue-worker does (``docs/openfaas.md#pro-queue-worker-retries``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import httpx

from servey_faas.faas.gateway.protocol import HOP_BY_HOP
from servey_faas.faas.gateway.queue import AsyncQueue, QueuedRequest
from servey_faas.faas.gateway.retrying import QueueRetryPolicy

#: ``User-Agent`` of the worker's invocations and of its callbacks (``docs/openfaas.md#the-ce-queue-worker``,
#: ``docs/openfaas.md#callbacks``).
WORKER_USER_AGENT = "openfaas-ce/nats-queue-worker"
CALLBACK_USER_AGENT = "Go-http-client/1.1"
#: Seconds an idle worker sleeps before looking at the queue again when nothing woke it.
_IDLE_POLL = 1.0
_logger = logging.getLogger(__name__)


class QueueWorker:
    """Runs queued jobs, ``max_inflight`` at a time (CE: 1, one job at a time in FIFO order).

    Each job is invoked synchronously through the gateway itself with ``gateway`` (an
    ``httpx.AsyncClient`` whose base URL reaches the gateway's routes): always ``POST
    /function/{Function}{Path or /}[?query]`` with every original header replayed and
    ``User-Agent: openfaas-ce/nats-queue-worker``. ``wait_ready(function)`` is awaited first,
    so jobs accepted before a restart wait for their function's processes to come back. Then,
    when the job has a callback URL, the function's response is POSTed there once with
    ``callbacks`` (``docs/openfaas.md#callbacks``): the body verbatim, the function's headers, and ``X-Call-Id``,
    ``X-Function-Status`` (``503`` when the invoke itself failed), ``X-Function-Name`` (as
    called) and ``X-Duration-Seconds`` (the worker's total time, ``%f`` seconds). A failed
    callback is logged, never retried; its status is ignored. A job is removed from the queue
    only after that, so a job cut short by a stop runs again after the next start (from its
    first attempt). ``retry`` (default: none, as CE) retries failed invocations (see
    :class:`QueueRetryPolicy`); a job waiting for its next attempt keeps its ``max_inflight`` place.
    """

    def __init__(
        self,
        queue: AsyncQueue,
        gateway: httpx.AsyncClient,
        callbacks: httpx.AsyncClient,
        *,
        max_inflight: int = 1,
        wait_ready: Callable[[str], Awaitable[None]],
        retry: QueueRetryPolicy | None = None,
    ) -> None:
        if max_inflight < 1:
            raise ValueError(f"max_inflight must be at least 1, not {max_inflight}")
        self.queue = queue
        self.gateway = gateway
        self.callbacks = callbacks
        self.max_inflight = max_inflight
        self._wait_ready = wait_ready
        self.retry = retry or QueueRetryPolicy()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Tell idle workers a job was queued."""
        self._wake.set()

    async def run(self) -> None:
        """Work until cancelled."""
        await asyncio.gather(*(self._loop() for _ in range(self.max_inflight)))

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            job = await asyncio.to_thread(self.queue.claim)
            if job is None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), _IDLE_POLL)
                continue
            try:
                await self.process(job)
            except Exception:  # one job's failure must not stop the worker
                _logger.exception("async job %s of %s failed", job.call_id, job.function)
            await asyncio.to_thread(self.queue.done, job.id)

    async def process(self, job: QueuedRequest) -> None:
        """Invoke ``job`` and POST its callback (see the class docstring)."""
        started = time.perf_counter()
        await self._wait_ready(job.function)
        # The Host it was accepted on is kept: the job runs as if received there (the IAM issuer of a
        # jwt_auth function's token is that address, ``docs/openfaas.md#token-checks-in-of-watchdog``; see
        # servey_faas.faas.gateway.iam).
        headers = [
            (k, v)
            for k, v in job.headers
            if (k.lower() == "host" or k.lower() not in HOP_BY_HOP) and k.lower() != "user-agent"
        ]
        headers.append(("User-Agent", WORKER_USER_AGENT))
        url = f"/function/{job.function}{job.path or '/'}" + (f"?{job.query}" if job.query else "")
        retries = 0
        while True:
            status, body, out, answered = await self._attempt(job, url, headers)
            if retries >= self.retry.max_retries or not self.retry.should_retry(status, answered):
                break
            retries += 1
            pause = self.retry.wait(retries, status, answered)
            _logger.info(
                "async job %s: %s answered %d; retry %d of %d in %gs",
                job.call_id,
                job.function,
                status,
                retries,
                self.retry.max_retries,
                pause,
            )
            await asyncio.sleep(pause)
        if not job.callback_url:
            return
        replaced = {"x-call-id", "x-function-status", "x-function-name", "x-duration-seconds", "user-agent"}
        out = [(k, v) for k, v in out if k.lower() not in replaced]
        out += [
            ("X-Call-Id", job.call_id),
            ("X-Function-Status", str(status)),
            ("X-Function-Name", job.function),
            ("X-Duration-Seconds", f"{time.perf_counter() - started:f}"),
            ("User-Agent", CALLBACK_USER_AGENT),
        ]
        if self.retry.max_retries:
            out += [("X-Retry", str(retries)), ("X-Retry-Max", str(self.retry.max_retries))]
        try:
            await self.callbacks.post(job.callback_url, content=body, headers=out)
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            # CE accepts a relative URL, then fails here (``docs/openfaas.md#enqueueing-an-async-call``)
            _logger.warning("async job %s: the callback to %s failed: %s", job.call_id, job.callback_url, e)

    async def _attempt(
        self, job: QueuedRequest, url: str, headers: list[tuple[str, str]]
    ) -> tuple[int, bytes, list[tuple[str, str]], httpx.Headers | None]:
        """One invocation of ``job``: its status, body, headers to pass on and the answer's headers
        (``503``, empty and ``None`` when the invocation itself failed)."""
        try:
            response = await self.gateway.post(url, content=job.body, headers=headers)
        except httpx.HTTPError as e:
            _logger.warning("async job %s: invoking %s failed: %s", job.call_id, job.function, e)
            return 503, b"", [], None
        out = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in HOP_BY_HOP]
        return response.status_code, response.content, out, response.headers
