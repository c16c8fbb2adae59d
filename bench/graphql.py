"""GraphQL throughput: servey_faas vs a plain strawberry schema of the same functions.

Run from the repository root, in the dev venv, with wrk installed (``apt-get install -y wrk``)::

    python bench/graphql.py                      # both cases, 5 rounds x 10 s each per server
    python bench/graphql.py --case variables --rounds 3 --duration 5 --connections 32

Two cases, ``POST /graphql`` each:

- ``hello``: ``{ sayHello(name: "x") }``, a string argument and a string result;
- ``variables``: ``mutation Quote($order: OrderInput!) { quoteOrder(order: $order) { orderId customer
  total currency itemCount quotedAt } }`` with a two-line order in ``variables``: an input object
  holding a list of input objects and an enum, and a dataclass result with a UUID, a date-time and
  an enum.

The two servers (uvicorn factories in this file, loaded as ``bench.graphql:<name>``):

- ``servey`` — the demo actions (``actions/``) through ``servey_faas.web.create_app``, as
  ``python -m servey_faas`` serves them: each field resolved through ``ActionInvoker.load_params``
  (JSON Schema validation, marshy) and ``ActionInvoker.call`` (a sync action runs in a worker thread).
- ``plain`` — a strawberry schema whose ``sayHello`` and ``quoteOrder`` fields call the same
  functions (``actions.greetings.say_hello``, ``actions.orders.quote_order``, the input objects
  made into the same dataclasses by hand), with ``ParserCache`` and ``ValidationCache`` (256 entries
  each), served by strawberry's own ASGI app (``strawberry.asgi.GraphQL``). Strawberry runs a sync
  resolver on the event loop and validates nothing beyond GraphQL's own types.

Each server is its own ``python -m uvicorn`` subprocess with the same settings (one worker,
``--loop uvloop --http httptools`` unless ``--loop``/``--http`` say otherwise, ``--log-level
warning``, ``--no-access-log``) on 127.0.0.1. Load comes from ``wrk -s <post.lua>`` (a separate
process). Rounds alternate the servers (A B, B A, ...) after a warm-up of each. With 2 or more CPUs
the server runs on CPU 0 and wrk on CPU 1 (``taskset``).

Prints req/s per round, the median of each server, and servey/plain against the target ratio (1.0)
for each case. Exits 1 when a ratio is below the target, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:  # run as `python bench/graphql.py`: bench/ is sys.path[0]
    from _wrk import BenchError, Comparison, Server, compare, parse_arguments
except ImportError:  # imported as bench.graphql by uvicorn, whose app dir is the repository root
    from bench._wrk import BenchError, Comparison, Server, compare, parse_arguments

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "bench"
TARGET_RATIO = 1.0
PATH = "/graphql"
HELLO = {"query": '{ sayHello(name: "x") }'}
QUOTE = {
    "query": "mutation Quote($order: OrderInput!) "
    "{ quoteOrder(order: $order) { orderId customer total currency itemCount quotedAt } }",
    "variables": {
        "order": {
            "customer": "ada",
            "lines": [{"sku": "tea", "quantity": 2, "unitPrice": 3.5}, {"sku": "cup", "unitPrice": 4.0}],
            "currency": "USD",
            "deliverOn": "2026-12-01",
        }
    },
}
EXPECTED_HELLO = {"data": {"sayHello": "Hello x!"}}
EXPECTED_QUOTE = {
    "data": {
        "quoteOrder": {
            "orderId": "f651a51e-dd0c-5779-b2c8-4c24da2945ec",
            "customer": "ada",
            "total": 11.0,
            "currency": "USD",
            "itemCount": 3,
            "quotedAt": "2026-12-01T00:00:00+00:00",
        }
    }
}
#: The same sizes servey_faas uses (servey_faas.web.graphql.schema).
CACHE_SIZE = 256


# -- the two apps (uvicorn factories) -------------------------------------------------------------


def servey() -> Any:
    """The demo actions through servey_faas (``POST /graphql``)."""
    from servey_faas.app import ServeyApp
    from servey_faas.web import create_app

    return create_app(ServeyApp.load())


def plain() -> Any:
    """The same functions as fields of a plain strawberry schema, served by ``strawberry.asgi.GraphQL``
    (in ``bench/_strawberry_schema.py``: strawberry reads its annotations, which this module's
    ``from __future__ import annotations`` would make strings)."""
    from strawberry.asgi import GraphQL

    try:
        from _strawberry_schema import plain_schema
    except ImportError:
        from bench._strawberry_schema import plain_schema

    return GraphQL(plain_schema(CACHE_SIZE), graphql_ide=None)


# -- the benchmark --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__, argv, extra=_add_case)
    cases = list(BENCHES) if args.case == "all" else [args.case]
    status = 0
    for case in cases:
        print(f"== {case} ==")
        with _post_script(BENCHES[case][1]) as script:
            status = max(status, compare(BENCHES[case][0], args, script))
    return status


def _add_case(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--case", choices=("hello", "variables", "all"), default="all", help="which operation (default all)"
    )


@contextlib.contextmanager
def _post_script(payload: dict[str, Any]) -> Iterator[Path]:
    """A wrk Lua script sending ``payload`` as a JSON POST."""
    lua = (
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(json.dumps(payload))}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        'wrk.headers["Accept"] = "application/json"\n'
    )
    with tempfile.TemporaryDirectory(prefix="bench-graphql-") as tmp:
        path = Path(tmp) / "post.lua"
        path.write_text(lua)
        yield path


def _checker(payload: dict[str, Any], expected: dict[str, Any]) -> Any:
    def check_answer(server: Server) -> None:
        """Both servers must give the same answer, or the comparison means nothing."""
        import httpx

        response = httpx.post(server.url + PATH, json=payload, timeout=10)
        if response.status_code != 200 or response.json() != expected:
            raise BenchError(f"{server.name} answered {response.status_code} {response.content!r}, not {expected!r}")
        if not response.headers.get("content-type", "").startswith("application/json"):
            raise BenchError(f"{server.name} answered content-type {response.headers.get('content-type')!r}")

    return check_answer


def _comparison(payload: dict[str, Any], expected: dict[str, Any]) -> Comparison:
    return Comparison(
        subject=("servey_faas", "bench.graphql:servey"),
        baseline=("plain strawberry", "bench.graphql:plain"),
        path=PATH,
        request=f"POST {PATH} {json.dumps(payload)}",
        target=TARGET_RATIO,
        check=_checker(payload, expected),
    )


BENCHES = {
    "hello": (_comparison(HELLO, EXPECTED_HELLO), HELLO),
    "variables": (_comparison(QUOTE, EXPECTED_QUOTE), QUOTE),
}


if __name__ == "__main__":
    # Run as a script, this file's folder is sys.path[0], where "graphql" would name this file
    # rather than graphql-core; nothing here imports graphql-core, but keep the folder off the path.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
    sys.exit(main())
