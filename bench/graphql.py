"""GraphQL throughput: ``{ sayHello(name: "x") }`` through servey_faas vs a plain strawberry schema.

Run from the repository root, in the dev venv, with wrk installed (``apt-get install -y wrk``)::

    python bench/graphql.py                      # 5 rounds x 10 s each per server
    python bench/graphql.py --rounds 3 --duration 5 --connections 32

The two servers (uvicorn factories in this file, loaded as ``bench.graphql:<name>``):

- ``servey`` — the demo actions (``actions/``) through ``servey_faas.web.create_app``, as
  ``python -m servey_faas`` serves them: ``POST /graphql``, the ``sayHello`` field resolved through
  ``ActionInvoker.load_params`` (JSON Schema validation, marshy) and ``ActionInvoker.call`` (the
  sync action runs in a worker thread).
- ``plain`` — a strawberry ``Query`` whose ``say_hello`` field is the same function
  (``actions.greetings.say_hello``), with the same ``ParserCache`` and ``ValidationCache`` sizes,
  served by strawberry's own ASGI app (``strawberry.asgi.GraphQL``). Strawberry runs a sync resolver
  on the event loop.

Each server is its own ``python -m uvicorn`` subprocess with the same settings (one worker,
``--loop uvloop --http httptools`` unless ``--loop``/``--http`` say otherwise, ``--log-level
warning``, ``--no-access-log``) on 127.0.0.1. Load comes from ``wrk -s <post.lua>`` (a separate
process). Rounds alternate the servers (A B, B A, ...) after a warm-up of each. With 2 or more CPUs
the server runs on CPU 0 and wrk on CPU 1 (``taskset``).

Prints req/s per round, the median of each server, and servey/plain against the target ratio (0.8).
Exits 1 when the ratio is below the target, 2 when the benchmark cannot run.
"""

from __future__ import annotations

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
TARGET_RATIO = 0.8
PATH = "/graphql"
QUERY = '{ sayHello(name: "x") }'
EXPECTED = {"data": {"sayHello": "Hello x!"}}
#: The same sizes servey_faas uses (servey_faas.web.graphql.schema).
CACHE_SIZE = 256


# -- the two apps (uvicorn factories) -------------------------------------------------------------


def servey() -> Any:
    """The demo actions through servey_faas (``POST /graphql``)."""
    from servey_faas.app import ServeyApp
    from servey_faas.web import create_app

    return create_app(ServeyApp.load())


def plain() -> Any:
    """The same function as a field of a plain strawberry schema, served by ``strawberry.asgi.GraphQL``."""
    import strawberry
    from strawberry.asgi import GraphQL
    from strawberry.extensions import ParserCache, ValidationCache

    from actions.greetings import say_hello  # the repository root is uvicorn's --app-dir

    @strawberry.type
    class Query:
        say_hello_field = strawberry.field(resolver=say_hello, name="sayHello")

    schema = strawberry.Schema(
        query=Query,
        extensions=[lambda: ParserCache(maxsize=CACHE_SIZE), lambda: ValidationCache(maxsize=CACHE_SIZE)],
    )
    return GraphQL(schema, graphql_ide=None)


# -- the benchmark --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(__doc__, argv)
    with _post_script() as script:
        return compare(BENCH, args, script)


@contextlib.contextmanager
def _post_script() -> Iterator[Path]:
    """A wrk Lua script sending the query as a JSON POST."""
    body = json.dumps({"query": QUERY})
    lua = (
        'wrk.method = "POST"\n'
        f"wrk.body = {json.dumps(body)}\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
        'wrk.headers["Accept"] = "application/json"\n'
    )
    with tempfile.TemporaryDirectory(prefix="bench-graphql-") as tmp:
        path = Path(tmp) / "post.lua"
        path.write_text(lua)
        yield path


def check_answer(server: Server) -> None:
    """Both servers must give the same answer, or the comparison means nothing."""
    import httpx

    response = httpx.post(server.url + PATH, json={"query": QUERY}, timeout=10)
    if response.status_code != 200 or response.json() != EXPECTED:
        raise BenchError(f"{server.name} answered {response.status_code} {response.content!r}, not {EXPECTED!r}")
    if not response.headers.get("content-type", "").startswith("application/json"):
        raise BenchError(f"{server.name} answered content-type {response.headers.get('content-type')!r}")


BENCH = Comparison(
    subject=("servey_faas", "bench.graphql:servey"),
    baseline=("plain strawberry", "bench.graphql:plain"),
    path=PATH,
    request=f"POST {PATH} {json.dumps({'query': QUERY})}",
    target=TARGET_RATIO,
    check=check_answer,
)


if __name__ == "__main__":
    # Run as a script, this file's folder is sys.path[0], where "graphql" would name this file
    # rather than graphql-core; nothing here imports graphql-core, but keep the folder off the path.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
    sys.exit(main())
