"""The local gateway's retries of failed async invocations (kept free of the HTTP stack, so the
command line can show its defaults cheaply)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx

#: The Pro queue-worker's ``httpRetryCodes`` (``docs/openfaas.md#pro-queue-worker-retries``).
DEFAULT_RETRY_CODES = frozenset({429, 502, 500, 504, 408})


@dataclass(frozen=True)
class QueueRetryPolicy:
    """Retries of failed async invocations, modelled on the Pro queue-worker
    (``docs/openfaas.md#pro-queue-worker-retries``).

    ``max_retries`` retries after the first attempt (``0``, the default: none, as CE); an attempt
    is retried when the function answered a status in ``codes`` (Pro's ``httpRetryCodes``), when
    the answer carries ``X-OpenFaaS-Internal`` (the gateway's own error, such as no ready replica),
    or when the invocation itself failed. Retry ``n`` (1, 2, ...) waits ``min_wait * 2**(n-1)``
    seconds, at most ``max_wait`` (Pro's ``initialRetryWait`` 10 s and ``maxRetryWait`` 120 s; the
    ``exponential`` backoff, no jitter); on 429 and 503 a ``Retry-After`` (seconds or an HTTP-date)
    longer than that is waited instead, up to ``max_wait``. The callback carries the last
    attempt's answer, with ``X-Retry`` (retries made) and ``X-Retry-Max`` (``max_retries``).

    Not modelled: the per-function ``com.openfaas.retry.*`` annotations and the jitter choices.

    :raises ValueError: for a negative ``max_retries`` or wait, or ``min_wait > max_wait``.
    """

    max_retries: int = 0
    codes: frozenset[int] = DEFAULT_RETRY_CODES
    min_wait: float = 10.0
    max_wait: float = 120.0

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.min_wait < 0 or self.max_wait < self.min_wait:
            raise ValueError(
                f"retries need max_retries >= 0 and 0 <= min_wait <= max_wait, not {self.max_retries}, "
                f"{self.min_wait}, {self.max_wait}"
            )

    def should_retry(self, status: int, headers: httpx.Headers | None) -> bool:
        """True when an attempt that answered ``status`` (``headers``: ``None`` when the invocation
        failed, reported as 503) is retried, retries left aside."""
        return headers is None or status in self.codes or "x-openfaas-internal" in headers

    def wait(self, retry: int, status: int = 0, headers: httpx.Headers | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (from 1) after an answer ``status`` with
        ``headers`` (see the class docstring)."""
        backoff = min(self.max_wait, self.min_wait * 2.0 ** (retry - 1))
        after = None if headers is None or status not in (429, 503) else headers.get("retry-after")
        if after:
            from servey_faas.faas.client import retry_after  # the client's parser (RFC 9110 §10.2.3)

            return min(self.max_wait, max(backoff, retry_after(after) or 0.0))
        return backoff
