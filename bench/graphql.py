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

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

try:  # run as `python bench/graphql.py`: bench/ is sys.path[0]
    from _wrk import BenchError, Server, run_wrk, start_server
except ImportError:  # imported as bench.graphql by uvicorn, whose app dir is the repository root
    from bench._wrk import BenchError, Server, run_wrk, start_server

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "bench"
TARGET_RATIO = 0.8
PATH = "/graphql"
QUERY = '{ sayHello(name: "x") }'
EXPECTED = {"data": {"sayHello": "Hello x!"}}
LOG_OPTIONS = ("--log-level", "warning", "--no-access-log")
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per server (default 5)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per round (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load per server first (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections held by wrk (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop", help="uvicorn --loop")
    parser.add_argument("--http", choices=("httptools", "h11"), default="httptools", help="uvicorn --http")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and wrk to separate CPUs")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed; install it with `apt-get install -y wrk` (Debian/Ubuntu) and rerun")
    cpus = sorted(os.sched_getaffinity(0))
    pin = not args.no_pin and shutil.which("taskset") is not None and len(cpus) >= 2
    server_cpu, load_cpu = (str(cpus[0]), str(cpus[1])) if pin else ("", "")
    uvicorn_options = ("--loop", args.loop, "--http", args.http, *LOG_OPTIONS)
    print(f"python {sys.version.split()[0]}, uvicorn {' '.join(uvicorn_options)}, 1 worker, 127.0.0.1")
    print(
        f"wrk: {args.threads} thread(s), {args.connections} connections, {args.duration} s per round, "
        f"{args.rounds} rounds per server, warm-up {args.warmup} s"
    )
    print(f"CPU pinning: server on CPU {server_cpu}, wrk on CPU {load_cpu}" if pin else "CPU pinning: off")
    print(f"POST {PATH} {json.dumps({'query': QUERY})}")
    with contextlib.ExitStack() as stack:
        script = stack.enter_context(_post_script())
        servers = [
            stack.enter_context(start_server("servey_faas", "bench.graphql:servey", uvicorn_options, server_cpu)),
            stack.enter_context(start_server("plain strawberry", "bench.graphql:plain", uvicorn_options, server_cpu)),
        ]
        for server in servers:
            check_answer(server)
            load(wrk, script, server, args.warmup, args, load_cpu)
        results: dict[str, list[float]] = {s.name: [] for s in servers}
        for i in range(args.rounds):
            order = servers if i % 2 == 0 else servers[::-1]
            line = []
            for server in order:
                rps = load(wrk, script, server, args.duration, args, load_cpu)
                results[server.name].append(rps)
                line.append(f"{server.name} {rps:9.1f} req/s")
            ratio = results["servey_faas"][-1] / results["plain strawberry"][-1]
            print(f"round {i + 1}: " + ", ".join(line) + f"  (servey/plain {ratio:.2f})")
    servey_rps = statistics.median(results["servey_faas"])
    plain_rps = statistics.median(results["plain strawberry"])
    ratio = servey_rps / plain_rps
    print(f"median servey_faas:       {servey_rps:9.1f} req/s")
    print(f"median plain strawberry:  {plain_rps:9.1f} req/s")
    verdict = "OK" if ratio >= TARGET_RATIO else "BELOW TARGET"
    print(f"ratio servey/plain: {ratio:.2f}x (target >= {TARGET_RATIO}x): {verdict}")
    return 0 if ratio >= TARGET_RATIO else 1


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


def load(wrk: str, script: Path, server: Server, seconds: int, args: argparse.Namespace, cpu: str) -> float:
    """Requests per second of the query POSTed (wrk Lua ``script``) to ``server`` over ``seconds`` seconds."""
    return run_wrk(
        wrk, server, PATH, seconds=seconds, threads=args.threads, connections=args.connections, cpu=cpu, script=script
    )


def check_answer(server: Server) -> None:
    """Both servers must give the same answer, or the comparison means nothing."""
    import httpx

    response = httpx.post(server.url + PATH, json={"query": QUERY}, timeout=10)
    if response.status_code != 200 or response.json() != EXPECTED:
        raise BenchError(f"{server.name} answered {response.status_code} {response.content!r}, not {EXPECTED!r}")
    if not response.headers.get("content-type", "").startswith("application/json"):
        raise BenchError(f"{server.name} answered content-type {response.headers.get('content-type')!r}")


if __name__ == "__main__":
    # Run as a script, this file's folder is sys.path[0], where "graphql" would name this file
    # rather than graphql-core; nothing here imports graphql-core, but keep the folder off the path.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
    sys.exit(main())
