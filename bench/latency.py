"""Latency of a small request while another connection posts big bodies: the event loop only waits.

The demo actions (``actions/``) are served by the dev server, ``python -m servey_faas`` in a
subprocess (``--server uvicorn``: by ``uvicorn bench.apps:servey --factory``, the same app without
what the dev server adds around it, such as keeping its start-up heap out of the garbage
collector's way, ``servey_faas/heap.py``). One client sends ``GET /actions/say-hello?name=World`` one
at a time on a keep-alive connection and times each answer, first on an idle server, then while
another process posts a 0.9 MiB JSON body to ``POST /actions/quote-order`` (an order of about 21,000
lines: parsed, validated against the JSON Schema and loaded into dataclasses) in a loop, each post
waiting for its answer (200) before the next. It prints p50, p99 and max of both phases, the ratio of
the p99s, and whether the p99 under load is below the target (20 ms). Exit 0 when it is, 1 when not,
2 when the benchmark cannot run.

    python bench/latency.py                      # 2000 requests per phase, ~30 s
    python bench/latency.py --posts-per-second 2.4  # the same load for two versions
    python bench/latency.py --server uvicorn --requests 5000 --loop asyncio --http h11
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import sys
import time
from typing import Any

import httpx
from _wrk import LOG_OPTIONS, BenchError, Server, free_port, start_command, start_server

SMALL = "/actions/say-hello?name=World"
BIG = "/actions/quote-order"
BODY_BYTES = int(0.9 * 1024 * 1024)
_LINE = {"sku": "tea", "quantity": 1, "unit_price": 1.0}


def big_body(size: int = BODY_BYTES) -> tuple[bytes, int]:
    """A ``quote_order`` body of about ``size`` bytes (never more) and its number of order lines."""
    line = json.dumps(_LINE, separators=(",", ":"))
    count = (size - 100) // (len(line) + 1)
    body = '{"order":{"customer":"ada","lines":[' + ",".join([line] * count) + "]}}"
    return body.encode(), count


def post_in_a_loop(url: str, cpu: int | None, started: Any, stop: Any, results: Any, rate: float | None = None) -> None:
    """The background load (its own process): post the big body again and again until ``stop``,
    each post as soon as the last one is answered, or (``rate``, posts per second) no sooner than
    ``1 / rate`` seconds after the last one started; count the answers by status in ``results``."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    body, _ = big_body()
    headers = {"Content-Type": "application/json"}
    with httpx.Client(base_url=url, timeout=120) as client:
        while not stop.is_set():
            sent = time.perf_counter()
            status = client.post(BIG, content=body, headers=headers).status_code
            results[status] = results.get(status, 0) + 1
            started.set()
            if rate is not None:
                stop.wait(max(0.0, sent + 1 / rate - time.perf_counter()))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure(client: httpx.Client, requests: int) -> list[float]:
    """Milliseconds of each of ``requests`` sequential small requests (each must answer 200)."""
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        response = client.get(SMALL)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise BenchError(f"GET {SMALL} answered {response.status_code}: {response.text[:200]}")
    return times


def check(server: Server) -> None:
    answer = httpx.get(server.url + SMALL)
    if (answer.status_code, answer.json()) != (200, "Hello World!"):
        raise BenchError(f"GET {SMALL}: {answer.status_code} {answer.text[:200]}")
    body, lines = big_body()
    quote = httpx.post(server.url + BIG, content=body, headers={"Content-Type": "application/json"}, timeout=120)
    if quote.status_code != 200 or quote.json()["item_count"] != lines:
        raise BenchError(f"POST {BIG} ({len(body)} bytes): {quote.status_code} {quote.text[:200]}")


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="timed small requests per phase (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed small requests first (default 200)")
    parser.add_argument("--target", type=float, default=20.0, help="p99 under load to stay below, ms (default 20)")
    parser.add_argument(
        "--server",
        choices=("dev", "uvicorn"),
        default="dev",
        help="dev: python -m servey_faas (uvicorn's defaults: uvloop, httptools); uvicorn: the app under plain "
        "uvicorn with --loop and --http (default: dev)",
    )
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop", help="uvicorn --loop (--server uvicorn)"
    )
    parser.add_argument(
        "--http", choices=("httptools", "h11"), default="httptools", help="uvicorn --http (--server uvicorn)"
    )
    parser.add_argument(
        "--posts-per-second",
        type=float,
        default=None,
        help="pace the background posts (default: each as soon as the last is answered, so the load grows as the "
        "server gets faster; give a rate to compare versions under the same load)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and the clients to separate CPUs")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    cpus = sorted(os.sched_getaffinity(0))
    pin = not args.no_pin and shutil.which("taskset") is not None and len(cpus) >= 2
    server_cpu, client_cpu = (cpus[0], cpus[1]) if pin else (None, None)
    body, lines = big_body()
    if args.server == "dev":
        port = free_port()
        command = [
            sys.executable,
            "-m",
            "servey_faas",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
        print(f"python {sys.version.split()[0]}, python -m servey_faas --log-level warning, 127.0.0.1")
        server_cm = start_command(
            "servey", "python -m servey_faas", command, port, "" if server_cpu is None else str(server_cpu)
        )
    else:
        options = ("--loop", args.loop, "--http", args.http, *LOG_OPTIONS)
        print(f"python {sys.version.split()[0]}, uvicorn {' '.join(options)}, 1 worker, 127.0.0.1")
        server_cm = start_server("servey", "bench.apps:servey", options, "" if server_cpu is None else str(server_cpu))
    print(f"small: GET {SMALL}, one at a time, {args.requests} timed per phase after {args.warmup} untimed")
    pace = "in a loop" if args.posts_per_second is None else f"at most {args.posts_per_second:g}/s"
    print(f"load: POST {BIG}, {len(body)} bytes ({lines} order lines), {pace} on another connection")
    print(f"CPU pinning: server on CPU {server_cpu}, clients on CPU {client_cpu}" if pin else "CPU pinning: off")
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    with server_cm as server:
        check(server)
        with httpx.Client(base_url=server.url, timeout=120) as client:
            measure(client, args.warmup)
            idle = measure(client, args.requests)
            context = multiprocessing.get_context("spawn")
            with context.Manager() as manager:
                started, stop, results = context.Event(), context.Event(), manager.dict()
                poster = context.Process(
                    target=post_in_a_loop,
                    args=(server.url, client_cpu, started, stop, results, args.posts_per_second),
                )
                poster.start()
                try:
                    if not started.wait(120):
                        raise BenchError(f"the background POST {BIG} never answered")
                    loaded_start = time.perf_counter()
                    loaded = measure(client, args.requests)
                    loaded_seconds = time.perf_counter() - loaded_start
                finally:
                    stop.set()
                    poster.join(180)
                    if poster.is_alive():
                        poster.kill()
                statuses = dict(results)
    if set(statuses) != {200}:
        raise BenchError(f"the background posts answered {statuses}, not only 200")
    posts = statuses[200]
    print(f"background posts answered 200: {posts} ({posts / loaded_seconds:.1f}/s during the loaded phase)")
    for name, times in (("idle", idle), ("loaded", loaded)):
        print(
            f"{name + ':':<8} p50 {statistics.median(times):7.2f} ms  p99 {percentile(times, 99):7.2f} ms  "
            f"max {max(times):8.2f} ms"
        )
    p99 = percentile(loaded, 99)
    ratio = p99 / percentile(idle, 99)
    verdict = "OK" if p99 < args.target else "OVER TARGET"
    print(f"p99 loaded/idle: {ratio:.2f}x; p99 under load {p99:.2f} ms (target < {args.target:g} ms): {verdict}")
    return 0 if p99 < args.target else 1


if __name__ == "__main__":
    sys.exit(main())
