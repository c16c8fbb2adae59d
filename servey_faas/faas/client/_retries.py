"""Bounded retries with exponential backoff, full jitter and ``Retry-After``.

Which calls are retried is the client's decision (idempotent gateway calls, and invocations
only when asked); this module only answers "retry this outcome?" and "wait how long?".
"""

from __future__ import annotations

import email.utils
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

#: Statuses worth another try: the gateway could not reach the provider or the function (502),
#: no endpoints yet (503), a timeout upstream (504). ``docs/openfaas.md#gateway-configuration-and-timeouts``,
#: ``docs/openfaas.md#responses-and-platform-errors``.
RETRY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    ``retries`` is the number of retries after the first attempt (0 disables them);
    ``backoff`` the first delay and ``max_backoff`` the cap, in seconds (delay before retry *n*,
    counted from 1, is drawn uniformly from ``[0, min(max_backoff, backoff * 2**(n-1))]``: "full
    jitter"); a ``Retry-After`` header (seconds or an HTTP date, RFC 9110 §10.2.3) replaces the
    drawn delay, capped at ``max_retry_after`` seconds. ``statuses`` are the retried statuses.
    """

    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_retry_after: float = 60.0
    statuses: frozenset[int] = RETRY_STATUSES

    def __post_init__(self) -> None:
        if self.retries < 0 or self.backoff < 0 or self.max_backoff < 0 or self.max_retry_after < 0:
            raise ValueError(f"retry settings must be >= 0: {self!r}")

    def delay(
        self,
        retry: int,
        headers: Mapping[str, str] | None = None,
        *,
        rand: Callable[[], float] = random.random,
        now: Callable[[], float] | None = None,
    ) -> float:
        """Seconds to wait before retry number ``retry`` (1-based), given the failed response's
        ``headers`` (``None`` after a connection error). ``rand`` returns [0, 1); ``now`` is the
        wall clock in Unix seconds (for HTTP-date ``Retry-After``)."""
        if headers is not None:
            after = retry_after(headers.get("retry-after"), now=now)
            if after is not None:
                return min(after, self.max_retry_after)
        return float(rand()) * min(self.max_backoff, self.backoff * 2.0 ** (retry - 1))


NO_RETRIES = RetryPolicy(retries=0)


def retry_after(value: str | None, *, now: Callable[[], float] | None = None) -> float | None:
    """``Retry-After`` in seconds (≥ 0) from delay-seconds or an HTTP date; ``None`` if absent or
    unparseable (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    import time

    current = (now or time.time)()
    return max(0.0, when.timestamp() - current)


def should_retry_status(policy: RetryPolicy, response: httpx.Response) -> bool:
    """True when ``response``'s status is one ``policy`` retries."""
    return response.status_code in policy.statuses


def is_unsent(error: httpx.TransportError) -> bool:
    """True when the request surely never reached the server (connect failures): safe to resend
    even for a non-idempotent call."""
    return isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout))
