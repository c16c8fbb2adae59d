"""REST throughput: ``say_hello`` through servey_faas vs the same handler in plain Starlette and FastAPI.

Run from the repository root, in the dev venv with the bench extra (``pip install -e '.[test,bench]'``),
with wrk installed (``apt-get install -y wrk``)::

    python bench/rest.py                      # both cases, 5 rounds x 10 s each per server
    python bench/rest.py --case async --rounds 3 --duration 5 --connections 32

Two cases, each with three servers (uvicorn factories in ``bench/apps.py``):

- ``sync``: the demo's sync ``say_hello`` action (run on servey_faas's worker threads) vs a sync
  Starlette endpoint and a sync FastAPI path operation (both run in anyio's threadpool);
- ``async``: an ``async def say_hello`` action vs an async Starlette endpoint and an async FastAPI
  path operation (all on the event loop).

Each server is its own ``python -m uvicorn`` subprocess with the same settings (one worker,
``--loop uvloop --http httptools`` unless ``--loop``/``--http`` say otherwise, ``--log-level
warning``, ``--no-access-log``) on 127.0.0.1.
Load comes from ``wrk`` (a separate process). Rounds rotate the servers (A B C, B C A, C A B, ...)
after a warm-up of each. When the machine has 2 or more CPUs, the server runs on CPU 0 and
wrk on CPU 1 (``taskset``), so that they do not compete for one core.

Prints req/s per round, the median of each server, servey/plain against the case's target ratio
(sync 0.9, async 0.8) and servey/FastAPI (must be above 1). Exits 1 when a target is missed, 2 when
the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import sys

import httpx
from _wrk import BenchError, Comparison, Server, compare, parse_arguments  # bench/ is sys.path[0] for a script

PATH = "/actions/say-hello?name=World"
EXPECTED_BODY = b'"Hello World!"'


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__, argv, extra=_add_case)
    cases = list(BENCHES) if args.case == "all" else [args.case]
    status = 0
    for case in cases:
        print(f"== {case} ==")
        status = max(status, compare(BENCHES[case], args))
    return status


def _add_case(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--case", choices=("sync", "async", "all"), default="all", help="which handlers to compare (default all)"
    )


def check_answer(server: Server) -> None:
    """Every server must give the same answer, or the comparison means nothing."""
    response = httpx.get(server.url + PATH, timeout=10)
    if response.status_code != 200 or response.content != EXPECTED_BODY:
        raise BenchError(f"{server.name} answered {response.status_code} {response.content!r}, not {EXPECTED_BODY!r}")
    if response.headers.get("content-type") != "application/json":
        raise BenchError(f"{server.name} answered content-type {response.headers.get('content-type')!r}")


BENCHES = {
    "sync": Comparison(
        subject=("servey_faas", "bench.apps:servey"),
        baseline=("plain", "bench.apps:plain"),
        rivals=(("fastapi", "bench.apps:fastapi_sync"),),
        path=PATH,
        request=f"GET {PATH} (sync handlers)",
        target=0.9,
        check=check_answer,
    ),
    "async": Comparison(
        subject=("servey_faas", "bench.apps:servey_async"),
        baseline=("plain", "bench.apps:plain_async"),
        rivals=(("fastapi", "bench.apps:fastapi_async"),),
        path=PATH,
        request=f"GET {PATH} (async handlers)",
        target=0.8,
        check=check_answer,
    ),
}


if __name__ == "__main__":
    sys.exit(main())
