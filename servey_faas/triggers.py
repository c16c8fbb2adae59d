"""Triggers: what makes an action run (a web request, a fixed rate, a cron schedule)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from servey_faas.cron import check_expression

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_PATH_PARAM = re.compile(r"{([^{}]+)}")


def path_matcher(path: str) -> re.Pattern[str] | None:
    """A pattern whose ``fullmatch`` matches the request paths of the route ``path``, each ``{name}``
    placeholder one non-empty segment (a group named after it), as Starlette's default ``str``
    convertor matches them on the dev server; None for a path without placeholders (compare it
    as it is)."""
    if _PATH_PARAM.search(path) is None:
        return None
    pattern, last = [], 0
    for m in _PATH_PARAM.finditer(path):
        pattern.append(re.escape(path[last : m.start()]) + f"(?P<{m.group(1)}>[^/]+)")
        last = m.end()
    return re.compile("".join(pattern) + re.escape(path[last:]))


@dataclass(frozen=True)
class WebTrigger:
    """Serve the action over HTTP.

    ``method`` is one of GET, POST, PUT, PATCH, DELETE. ``path`` defaults to
    ``/actions/<name with _ as ->``; it may hold ``{param}`` placeholders that name parameters.
    GET and DELETE read params from the query string, the other methods from a JSON object body.
    Over GraphQL, GET becomes a Query field and every other method a Mutation field.

    :raises ValueError: for an unknown method or a path that does not start with ``/``.
    """

    method: HttpMethod = "GET"
    path: str | None = None

    def __post_init__(self) -> None:
        method = str(self.method).upper()
        if method not in _METHODS:
            raise ValueError(f"WebTrigger method must be one of {', '.join(_METHODS)}, not {self.method!r}")
        object.__setattr__(self, "method", method)
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError(f"WebTrigger path must start with '/', not {self.path!r}")

    @property
    def reads_body(self) -> bool:
        """True when params come from a JSON body rather than the query string."""
        return self.method not in ("GET", "DELETE")

    @property
    def path_params(self) -> tuple[str, ...]:
        """Names of the ``{param}`` placeholders in ``path``, in order."""
        return tuple(_PATH_PARAM.findall(self.path or ""))


WEB_GET = WebTrigger("GET")
WEB_POST = WebTrigger("POST")
WEB_PUT = WebTrigger("PUT")
WEB_PATCH = WebTrigger("PATCH")
WEB_DELETE = WebTrigger("DELETE")


@dataclass(frozen=True)
class FixedRateTrigger:
    """Run the action every ``interval`` seconds (int or float > 0), without params.

    On OpenFaaS this becomes the cron-connector schedule ``@every <interval>s``
    (``docs/openfaas.md#cron-connector``).

    :raises ValueError: when ``interval`` is not a finite number greater than 0.
    """

    interval: float

    def __post_init__(self) -> None:
        interval = self.interval
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not 0 < interval < math.inf:
            raise ValueError(f"FixedRateTrigger interval must be a number of seconds > 0, not {interval!r}")


@dataclass(frozen=True)
class CronTrigger:
    """Run the action on a cron schedule, as cron-connector accepts it (``docs/openfaas.md#cron-connector``).

    ``expression`` is a standard 5-field expression (``"*/5 * * * *"``), one of the descriptors
    ``@yearly @annually @monthly @weekly @daily @midnight @hourly``, or ``@every <duration>``
    with a Go duration such as ``30s`` or ``1h30m``: exactly what cron-connector parses
    (:mod:`servey_faas.cron`), checked here, so a schedule that would not run on OpenFaaS is
    refused where it is written.

    :raises ScheduleError: (a ``ValueError``) saying what cron-connector would refuse.
    """

    expression: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "expression", check_expression(self.expression))
