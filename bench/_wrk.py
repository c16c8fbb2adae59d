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
    pid: int = 0

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far (Linux ``/proc``; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


@contextlib.contextmanager
def start_server(name: str, factory: str, options: Sequence[str], cpu: str) -> Iterator[Server]:
    """A uvicorn subprocess serving ``factory`` on a free 127.0.0.1 port (on CPU ``cpu`` when
    given); terminated on exit."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", factory, "--factory", "--app-dir", str(REPO_ROOT)]
    command += ["--host", "127.0.0.1", "--port", str(port), *options]
    with start_command(name, factory, command, port, cpu) as server:
        yield server


@contextlib.contextmanager
def start_command(name: str, factory: str, command: Sequence[str], port: int, cpu: str) -> Iterator[Server]:
    """A server subprocess running ``command`` (listening on 127.0.0.1:``port``; on CPU ``cpu``
    when given) from the repository root, ready when it answers; terminated on exit."""
    if cpu:
        command = ["taskset", "-c", cpu, *command]
    process = subprocess.Popen(command, cwd=REPO_ROOT)
    try:
        server = Server(name, factory, f"http://127.0.0.1:{port}", process.pid)  # taskset execs: same pid
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
) -> Load:
    """What wrk measured against ``server.url + path`` over ``seconds`` seconds (with the Lua
    ``script`` when given, e.g. to POST), and the server's CPU time per request meanwhile.

    :raises BenchError: when wrk fails or saw socket errors or non-2xx answers.
    """
    command = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(server.url + path)
    if cpu:
        command = ["taskset", "-c", cpu, *command]
    cpu_before = server.cpu_seconds()
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    cpu_used = server.cpu_seconds() - cpu_before
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    for problem in ("Socket errors", "Non-2xx or 3xx responses"):
        if problem in done.stdout:
            raise BenchError(f"wrk against {server.name}: {problem}:\n{done.stdout}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    count = re.search(r"(\d+) requests in", done.stdout)
    if match is None or count is None:
        raise BenchError(f"cannot read Requests/sec in wrk's output:\n{done.stdout}")
    return Load(float(match.group(1)), cpu_used / max(int(count.group(1)), 1) * 1e6)


@dataclass(frozen=True)
class Load:
    """One wrk run: requests per second, and the server's CPU time per request in µs. The second
    does not depend on what else the machine runs meanwhile: on a shared machine it tells the
    servers' own costs apart where req/s are noisy."""

    rps: float
    cpu_us: float


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
    ``path``, held to ``target`` (subject/baseline req/s); the subject must also be ahead of each
    of ``rivals`` (subject/rival req/s > 1). ``check`` verifies a server's answer; ``request``
    describes the request in the output."""

    subject: tuple[str, str]
    baseline: tuple[str, str]
    path: str
    request: str
    target: float
    check: Callable[[Server], None]
    rivals: tuple[tuple[str, str], ...] = ()


def parse_arguments(
    doc: str | None, argv: list[str] | None, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    """The options every wrk benchmark takes (rounds, duration, warm-up, wrk and uvicorn settings),
    plus those ``extra`` adds to the parser."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    if extra is not None:
        extra(parser)
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
    """Run ``bench``: every server, a warm-up each, then interleaved rounds (A B, B A, ...; A B C,
    B C A, ... with rivals); print req/s per round, the medians and the ratios. Returns 0 when
    every target is met, 1 when not, 2 when the benchmark cannot run (the error is printed)."""
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

    def load(server: Server, seconds: int) -> Load:
        return run_wrk(
            wrk, server, bench.path, seconds=seconds, threads=args.threads, connections=args.connections,
            cpu=load_cpu, script=script,
        )  # fmt: skip

    named = [bench.subject, bench.baseline, *bench.rivals]
    subject, baseline = named[0][0], named[1][0]
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(start_server(name, factory, uvicorn_options, server_cpu)) for name, factory in named
        ]
        for server in servers:
            bench.check(server)
            load(server, args.warmup)
        results: dict[str, list[Load]] = {s.name: [] for s in servers}
        for i in range(args.rounds):
            # interleaved: each round starts with another server (A B C, B C A, C A B, ...), so that
            # no server is always measured first or last
            line = []
            for server in servers[i % len(servers) :] + servers[: i % len(servers)]:
                measured = load(server, args.duration)
                results[server.name].append(measured)
                line.append(f"{server.name} {measured.rps:8.1f} req/s {measured.cpu_us:5.1f} µs")
            round_ratio = results[subject][-1].rps / results[baseline][-1].rps
            print(f"round {i + 1}: " + ", ".join(line) + f"  ({subject}/{baseline} {round_ratio:.2f})")
    width = max(len(name) for name, _ in named) + 1
    medians = {name: statistics.median(r.rps for r in results[name]) for name, _ in named}
    cpu = {name: statistics.median(r.cpu_us for r in results[name]) for name, _ in named}
    for name, rps in medians.items():
        print(f"median {name + ':':<{width}} {rps:9.1f} req/s, {cpu[name]:6.1f} µs of server CPU per request")
    if all(cpu.values()):
        costs = ", ".join(f"{subject}/{name} {cpu[name] / cpu[subject]:.2f}x" for name, _ in named[1:])
        print(f"throughput from CPU per request (what an idle machine would give): {costs}")
    ratio = medians[subject] / medians[baseline]
    ok = ratio >= bench.target
    print(f"ratio {subject}/{baseline}: {ratio:.2f}x (target >= {bench.target}x): {'OK' if ok else 'BELOW TARGET'}")
    for rival, _ in bench.rivals:
        ahead = medians[subject] / medians[rival]
        print(f"ratio {subject}/{rival}: {ahead:.2f}x (target > 1x): {'OK' if ahead > 1 else 'BEHIND'}")
        ok = ok and ahead > 1
    return 0 if ok else 1
