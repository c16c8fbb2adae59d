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

import argparse
import contextlib
import os
import shutil
import statistics
import sys

import httpx
from _wrk import BenchError, Server, run_wrk, start_server  # bench/ is sys.path[0] for a script

TARGET_RATIO = 0.6
PATH = "/actions/say-hello?name=World"
EXPECTED_BODY = b'"Hello World!"'
LOG_OPTIONS = ("--log-level", "warning", "--no-access-log")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per server (default 5)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per round (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load per server first (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections held by wrk (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop", help="uvicorn --loop (default uvloop)"
    )
    parser.add_argument(
        "--http", choices=("httptools", "h11"), default="httptools", help="uvicorn --http (default httptools)"
    )
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
    pin = not args.no_pin and shutil.which("taskset") is not None and len(os.sched_getaffinity(0)) >= 2
    cpus = sorted(os.sched_getaffinity(0))
    server_cpu, load_cpu = (str(cpus[0]), str(cpus[1])) if pin else ("", "")

    uvicorn_options = ("--loop", args.loop, "--http", args.http, *LOG_OPTIONS)
    print(f"python {sys.version.split()[0]}, uvicorn {' '.join(uvicorn_options)}, 1 worker, 127.0.0.1")
    print(
        f"wrk: {args.threads} thread(s), {args.connections} connections, {args.duration} s per round, "
        f"{args.rounds} rounds per server, warm-up {args.warmup} s"
    )
    print(f"CPU pinning: server on CPU {server_cpu}, wrk on CPU {load_cpu}" if pin else "CPU pinning: off")
    print(f"GET {PATH}")
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(start_server("servey_faas", "bench.apps:servey", uvicorn_options, server_cpu)),
            stack.enter_context(start_server("plain starlette", "bench.apps:plain", uvicorn_options, server_cpu)),
        ]
        for server in servers:
            check_answer(server)
            load(wrk, server, args.warmup, args, load_cpu)
        results: dict[str, list[float]] = {s.name: [] for s in servers}
        for i in range(args.rounds):
            order = servers if i % 2 == 0 else servers[::-1]
            line = []
            for server in order:
                rps = load(wrk, server, args.duration, args, load_cpu)
                results[server.name].append(rps)
                line.append(f"{server.name} {rps:9.1f} req/s")
            round_ratio = results["servey_faas"][-1] / results["plain starlette"][-1]
            print(f"round {i + 1}: " + ", ".join(line) + f"  (servey/plain {round_ratio:.2f})")
    servey = statistics.median(results["servey_faas"])
    plain = statistics.median(results["plain starlette"])
    ratio = servey / plain
    print(f"median servey_faas:     {servey:9.1f} req/s")
    print(f"median plain starlette: {plain:9.1f} req/s")
    verdict = "OK" if ratio >= TARGET_RATIO else "BELOW TARGET"
    print(f"ratio servey/plain: {ratio:.2f}x (target >= {TARGET_RATIO}x): {verdict}")
    return 0 if ratio >= TARGET_RATIO else 1


def load(wrk: str, server: Server, seconds: int, args: argparse.Namespace, cpu: str) -> float:
    """Requests per second of ``GET PATH`` on ``server`` over ``seconds`` seconds."""
    return run_wrk(wrk, server, PATH, seconds=seconds, threads=args.threads, connections=args.connections, cpu=cpu)


def check_answer(server: Server) -> None:
    """Both servers must give the same answer, or the comparison means nothing."""
    response = httpx.get(server.url + PATH, timeout=10)
    if response.status_code != 200 or response.content != EXPECTED_BODY:
        raise BenchError(f"{server.name} answered {response.status_code} {response.content!r}, not {EXPECTED_BODY!r}")
    if response.headers.get("content-type") != "application/json":
        raise BenchError(f"{server.name} answered content-type {response.headers.get('content-type')!r}")


if __name__ == "__main__":
    sys.exit(main())
