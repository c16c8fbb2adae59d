"""What the wrk-driven benchmarks share (bench/rest.py, bench/graphql.py): uvicorn servers as
subprocesses on free loopback ports, and wrk runs read back as requests per second."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


class BenchError(Exception):
    """The benchmark cannot run (missing tool, server that does not start, wrong answers)."""


@dataclass(frozen=True)
class Server:
    name: str
    # "module:function" from the repository root; bench/ itself is not put on the server's path
    # (bench/graphql.py would hide graphql-core)
    factory: str
    url: str


@contextlib.contextmanager
def start_server(name: str, factory: str, options: Sequence[str], cpu: str) -> Iterator[Server]:
    """A uvicorn subprocess serving ``factory`` on a free 127.0.0.1 port (on CPU ``cpu`` when
    given); terminated on exit."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--app-dir", str(REPO_ROOT)]
    command += ["--host", "127.0.0.1", "--port", str(port), *options]
    if cpu:
        command = ["taskset", "-c", cpu, *command]
    process = subprocess.Popen(command, cwd=REPO_ROOT)
    try:
        server = Server(name, factory, f"http://127.0.0.1:{port}")
        wait_ready(server, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def run_wrk(
    wrk: str,
    server: Server,
    path: str,
    *,
    seconds: int,
    threads: int,
    connections: int,
    cpu: str,
    script: Path | None = None,
) -> float:
    """Requests per second wrk measured against ``server.url + path`` over ``seconds`` seconds
    (with the Lua ``script`` when given, e.g. to POST).

    :raises BenchError: when wrk fails or saw socket errors or non-2xx answers.
    """
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(server.url + path)
    if cpu:
        command = ["taskset", "-c", cpu, *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    for problem in ("Socket errors", "Non-2xx or 3xx responses"):
        if problem in done.stdout:
            raise BenchError(f"wrk against {server.name}: {problem}:\n{done.stdout}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if match is None:
        raise BenchError(f"cannot read Requests/sec in wrk's output:\n{done.stdout}")
    return float(match.group(1))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(server: Server, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{server.name} server exited with {process.returncode} before it was ready")
        try:
            httpx.get(server.url + "/", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise BenchError(f"{server.name} server did not answer within {timeout} s")


LOG_OPTIONS = ("--log-level", "warning", "--no-access-log")


@dataclass(frozen=True)
class Comparison:
    """One benchmark: ``subject`` against ``baseline`` (each ``(name, uvicorn factory)``) on
    ``path``, held to ``target`` (subject/baseline req/s). ``check`` verifies a server's answer;
    ``request`` describes the request in the output; ``script`` is an optional wrk Lua file."""

    subject: tuple[str, str]
    baseline: tuple[str, str]
    path: str
    request: str
    target: float
    check: Callable[[Server], None]


def parse_arguments(doc: str | None, argv: list[str] | None) -> argparse.Namespace:
    """The options every wrk benchmark takes (rounds, duration, warm-up, wrk and uvicorn settings)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per server (default 5)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per round (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load per server first (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections held by wrk (default 32)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop", help="uvicorn --loop")
    parser.add_argument("--http", choices=("httptools", "h11"), default="httptools", help="uvicorn --http")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and wrk to separate CPUs")
    return parser.parse_args(argv)


def compare(bench: Comparison, args: argparse.Namespace, script: Path | None = None) -> int:
    """Run ``bench``: both servers, a warm-up each, then interleaved rounds (A B, B A, ...); print
    req/s per round, the medians and the ratio. Returns 0 when the target is met, 1 when not, 2
    when the benchmark cannot run (the error is printed)."""
    try:
        return _compare(bench, args, script)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


def _compare(bench: Comparison, args: argparse.Namespace, script: Path | None) -> int:
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
    print(bench.request)

    def load(server: Server, seconds: int) -> float:
        return run_wrk(
            wrk, server, bench.path, seconds=seconds, threads=args.threads, connections=args.connections,
            cpu=load_cpu, script=script,
        )  # fmt: skip

    (subject, _), (baseline, _) = bench.subject, bench.baseline
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(start_server(name, factory, uvicorn_options, server_cpu))
            for name, factory in (bench.subject, bench.baseline)
        ]
        for server in servers:
            bench.check(server)
            load(server, args.warmup)
        results: dict[str, list[float]] = {s.name: [] for s in servers}
        for i in range(args.rounds):
            line = []
            for server in servers if i % 2 == 0 else servers[::-1]:
                rps = load(server, args.duration)
                results[server.name].append(rps)
                line.append(f"{server.name} {rps:9.1f} req/s")
            round_ratio = results[subject][-1] / results[baseline][-1]
            print(f"round {i + 1}: " + ", ".join(line) + f"  (servey/plain {round_ratio:.2f})")
    width = max(len(subject), len(baseline)) + 1
    medians = {name: statistics.median(results[name]) for name in (subject, baseline)}
    for name, rps in medians.items():
        print(f"median {name + ':':<{width}} {rps:9.1f} req/s")
    ratio = medians[subject] / medians[baseline]
    verdict = "OK" if ratio >= bench.target else "BELOW TARGET"
    print(f"ratio servey/plain: {ratio:.2f}x (target >= {bench.target}x): {verdict}")
    return 0 if ratio >= bench.target else 1
