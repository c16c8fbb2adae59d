"""Per-call overhead of ``GatewayClient.invoke`` against a bare ``httpx.Client.post``.

Run from the repository root, in the dev venv::

    python bench/client.py                    # 20 rounds x 500 calls per client
    python bench/client.py --rounds 20 --calls 2000

Both clients call the same local echo server (this module's ``echo_app``, served by its own
``python -m uvicorn`` subprocess, one worker, on a free 127.0.0.1 port), on the same path
(``/function/echo.openfaas-fn``), with the same 64-byte JSON body over one kept-alive connection:

- ``bare``: ``httpx.Client.post(url, content=body, headers={"Content-Type": ...})`` plus a status check;
- ``gateway``: ``GatewayClient.invoke("echo", body, headers={"Content-Type": ...})``, which also
  builds the call through the shared request layer, generates an ``X-Call-Id`` (``docs/openfaas.md#call-ids``),
  resolves auth (none) and the retry policy (none for invocations) and checks the status.

After a warm-up of each, rounds alternate the order (bare, gateway; gateway, bare; ...). With
2 or more CPUs the server runs on CPU 0 and this process on CPU 1. Prints the per-call time of
each client per round, the medians (and best rounds), the ratio of the medians, and the median of
the per-round ratios gateway/bare, which is held to the target (<= 1.15x): a round times both
clients back to back, so its ratio cancels the drift of a shared machine. Exits 1 when over the
target, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TARGET_RATIO = 1.15
BODY = b'{"name":"World","greeting":"Hello","items":[1,2,3],"flag":true}  '
HEADERS = {"Content-Type": "application/json"}
PATH = "/function/echo.openfaas-fn"
REPO_ROOT = Path(__file__).resolve().parents[1]


async def echo_app(scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    """An ASGI app answering 200 with the request body (the "function" both clients call)."""
    if scope["type"] != "http":
        return
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    await send(
        {"type": "http.response.start", "status": 200,
         "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def echo_server(pin: bool) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.client:echo_app", "--app-dir", str(REPO_ROOT),
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    if pin:
        command = ["taskset", "-c", "0", *command]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        import httpx

        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the echo server exited: {process.stderr.read().decode() if process.stderr else ''}"
                )
            try:
                if httpx.post(f"{url}{PATH}", content=BODY, headers=HEADERS).content == BODY:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the echo server did not start within 20 s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def time_calls(call: Callable[[], object], n: int) -> float:
    """Mean seconds per call over ``n`` calls."""
    start = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - start) / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20, help="measured rounds per client (default 20)")
    parser.add_argument("--calls", type=int, default=500, help="calls per round (default 500)")
    parser.add_argument("--warmup", type=int, default=500, help="unmeasured calls per client first (default 500)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the server and this process to CPUs")
    args = parser.parse_args(argv)

    import httpx

    from servey_faas.faas import GatewayClient

    pin = not args.no_pin and (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    if pin:
        os.sched_setaffinity(0, {1})
    try:
        server = echo_server(pin)
        url = server.__enter__()
    except RuntimeError as e:
        print(f"cannot run: {e}", file=sys.stderr)
        return 2
    try:
        with httpx.Client(base_url=url) as bare, GatewayClient(url, None, environ={}) as gateway:

            def bare_call() -> None:
                response = bare.post(PATH, content=BODY, headers=HEADERS)
                if response.status_code != 200:
                    raise RuntimeError(f"bare call answered {response.status_code}")

            def gateway_call() -> None:
                gateway.invoke("echo", BODY, headers=HEADERS)

            for call in (bare_call, gateway_call):  # warm up and check both see the same answer
                time_calls(call, args.warmup)
            assert gateway.invoke("echo", BODY, headers=HEADERS).content == BODY

            print(f"settings: {args.rounds} rounds x {args.calls} calls, body {len(BODY)} B, server {url}, "
                  f"pinned={pin}, python {sys.version.split()[0]}, httpx {httpx.__version__}")  # fmt: skip
            results: dict[str, list[float]] = {"bare": [], "gateway": []}
            clients = [("bare", bare_call), ("gateway", gateway_call)]
            for r in range(args.rounds):
                order = clients if r % 2 == 0 else clients[::-1]
                for name, call in order:
                    results[name].append(time_calls(call, args.calls))
                print(f"round {r + 1:2d}: bare {results['bare'][-1] * 1e6:7.1f} us/call   "
                      f"gateway {results['gateway'][-1] * 1e6:7.1f} us/call   "
                      f"ratio {results['gateway'][-1] / results['bare'][-1]:.3f}x")  # fmt: skip
    finally:
        server.__exit__(None, None, None)

    bare_median = statistics.median(results["bare"])
    gateway_median = statistics.median(results["gateway"])
    print(f"median: bare {bare_median * 1e6:.1f} us/call, gateway {gateway_median * 1e6:.1f} us/call "
          f"(overhead {(gateway_median - bare_median) * 1e6:+.1f} us/call)")  # fmt: skip
    best_bare, best_gateway = min(results["bare"]) * 1e6, min(results["gateway"]) * 1e6
    print(f"best round: bare {best_bare:.1f} us/call, gateway {best_gateway:.1f} us/call")
    print(f"ratio of medians gateway/bare: {gateway_median / bare_median:.3f}x")
    # Each round measures both clients back to back, so the per-round ratio cancels the machine's
    # drift (other processes); the verdict uses the median of those paired ratios.
    ratio = statistics.median(g / b for g, b in zip(results["gateway"], results["bare"], strict=True))
    verdict = "OK" if ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"median per-round ratio gateway/bare: {ratio:.3f}x (target <= {TARGET_RATIO}x): {verdict}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
