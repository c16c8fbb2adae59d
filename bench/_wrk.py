"""What the wrk-driven benchmarks share (bench/rest.py, bench/graphql.py): uvicorn servers as
subprocesses on free loopback ports, and wrk runs read back as requests per second."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
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
