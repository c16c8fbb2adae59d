"""REST throughput: ``say_hello`` through servey_faas vs the same handler in plain Starlette.

Run from the repository root, in the dev venv, with wrk installed (``apt-get install -y wrk``)::

    python bench/rest.py                      # 5 rounds x 10 s each per server
    python bench/rest.py --rounds 3 --duration 5 --connections 32

Each server is its own ``python -m uvicorn`` subprocess with the same settings (one worker,
``--loop uvloop --http httptools`` unless ``--loop``/``--http`` say otherwise, ``--log-level
warning``, ``--no-access-log``) on 127.0.0.1.
Load comes from ``wrk`` (a separate process). Rounds alternate the servers (A B, B A, A B, ...)
after a warm-up of each. When the machine has 2 or more CPUs, the server runs on CPU 0 and
wrk on CPU 1 (``taskset``), so that they do not compete for one core.

Prints req/s per round, the median of each server, and servey/plain against the target ratio
(0.6). Exits 1 when the ratio is below the target, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import sys

import httpx
from _wrk import BenchError, Comparison, Server, compare, parse_arguments  # bench/ is sys.path[0] for a script

TARGET_RATIO = 0.6
PATH = "/actions/say-hello?name=World"
EXPECTED_BODY = b'"Hello World!"'


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__, argv)
    return compare(BENCH, args)


def check_answer(server: Server) -> None:
    """Both servers must give the same answer, or the comparison means nothing."""
    response = httpx.get(server.url + PATH, timeout=10)
    if response.status_code != 200 or response.content != EXPECTED_BODY:
        raise BenchError(f"{server.name} answered {response.status_code} {response.content!r}, not {EXPECTED_BODY!r}")
    if response.headers.get("content-type") != "application/json":
        raise BenchError(f"{server.name} answered content-type {response.headers.get('content-type')!r}")


BENCH = Comparison(
    subject=("servey_faas", "bench.apps:servey"),
    baseline=("plain starlette", "bench.apps:plain"),
    path=PATH,
    request=f"GET {PATH}",
    target=TARGET_RATIO,
    check=check_answer,
)


if __name__ == "__main__":
    sys.exit(main())
