"""The local gateway (``python -m servey_faas --run=gateway``): invoke latency through the gateway
against the function process called directly, and async throughput with ``--max-inflight`` 1 and 4.

Run from the repository root in the dev venv::

    python bench/gateway.py                        # 2000 requests each way, 400 async jobs per setting
    python bench/gateway.py --requests 500 --jobs 100 --inflight 1 4 8

The function is the demo action ``say_hello`` as ``--run=build`` packages it (its build context,
``python index.py``, with the deployment's environment). Everything runs on 127.0.0.1:

- **latency**: the gateway (a subprocess, ``--log-level warning``) runs the function as one
  replica; a second process of the same build context is started directly on its own port. One
  client (``httpx.Client``, keep-alive) sends ``GET /function/say-hello?name=World`` to the
  gateway and ``GET /?name=World`` to the direct process, interleaved one by one, sequentially
  (one request in flight). After ``--warmup`` unmeasured pairs it prints p50, p99 and the mean
  of each, in milliseconds, and the gateway's added p50.
- **async throughput**, for each ``--inflight`` value: a gateway started with that
  ``--max-inflight`` (the same state folder, so the same deployment); a callback receiver
  (uvicorn in a thread) counting POSTs; ``--jobs`` jobs ``POST /async-function/say-hello`` with
  the JSON body ``{"name": "World"}`` and ``X-Callback-Url``, sent as fast as one client can;
  jobs/s = jobs / (last callback received - first job accepted). Every callback must say
  ``X-Function-Status: 200``.

The machine is shared and has 2 cores for the gateway, the function(s), the client and the
callback receiver together: compare figures of one run, not absolute values across runs.
Exits 0 after printing the figures, 2 when something could not be started.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
FUNCTION = "say-hello"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"error: {url} did not answer 200 within {timeout:g}s")


def build_context(root: Path) -> tuple[Path, dict[str, Any]]:
    """The build context of ``say_hello`` as ``--run=build`` writes it, and its deployment (wire JSON)."""
    sys.path.insert(0, str(REPO_ROOT))
    from servey_faas.app import ServeyApp
    from servey_faas.faas.deploy.packager import BuildOptions, build
    from servey_faas.settings import Settings

    app = ServeyApp.load(Settings.load({"SERVEY_ACTION_PATH": "actions"}, REPO_ROOT))
    result = build(app, BuildOptions(output_dir=root / "serverless", router=False))
    built = next(f for f in result.functions if f.action_name == "say_hello")
    deployment = {**built.deployment.to_wire(), "image": built.context.resolve().as_uri()}
    return built.context, deployment


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def gateway(state_dir: Path, max_inflight: int, log: Path) -> Iterator[str]:
    """``--run=gateway`` on a free port with ``state_dir``; yields its base URL once the function is ready."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "servey_faas", "--run=gateway", "--port", str(port), "--state-dir", str(state_dir),
             "--log-level", "warning", "--max-inflight", str(max_inflight)],
            cwd=REPO_ROOT, stdout=out, stderr=out,
        )  # fmt: skip
    try:
        wait_http(f"{url}/healthz")
        yield url
    finally:
        stop(process)


def wait_function(url: str, deployment: dict[str, Any]) -> None:
    with httpx.Client(base_url=url, timeout=60.0) as http:
        if http.get(f"/system/function/{FUNCTION}").status_code == 404:
            response = http.post("/system/functions", json=deployment)
            if response.status_code != 202:
                raise SystemExit(f"error: deploy answered {response.status_code}: {response.text}")
        deadline = time.monotonic() + 60
        while http.get(f"/system/function/{FUNCTION}").json().get("availableReplicas", 0) < 1:
            if time.monotonic() > deadline:
                raise SystemExit("error: the function did not become ready through the gateway")
            time.sleep(0.05)


@contextmanager
def direct_process(context: Path, deployment: dict[str, Any], log: Path) -> Iterator[str]:
    """The function's ``python index.py`` started directly (as the gateway starts a replica); yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **deployment.get("envVars", {}), "fprocess": "python index.py", "mode": "http",
           "upstream_url": url, "OPENFAAS_NAME": FUNCTION, "PYTHONUNBUFFERED": "1"}  # fmt: skip
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "index.py"], cwd=context, env=env, stdout=out, stderr=out)
    try:
        wait_http(f"{url}/_/ready")
        yield url
    finally:
        stop(process)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def latency(gateway_url: str, direct_url: str, requests: int, warmup: int) -> None:
    through: list[float] = []
    direct: list[float] = []
    targets = ((f"{gateway_url}/function/{FUNCTION}", through), (direct_url + "/", direct))
    with httpx.Client(timeout=30.0) as client:
        for i in range(warmup + requests):
            for url, sink in targets if i % 2 == 0 else reversed(targets):
                started = time.perf_counter()
                response = client.get(url, params={"name": "World"})
                took = time.perf_counter() - started
                if response.status_code != 200 or response.json() != "Hello World!":
                    raise SystemExit(f"error: {url} answered {response.status_code}: {response.text[:200]}")
                if i >= warmup:
                    sink.append(took * 1000)
    print(f"latency, {requests} sequential GETs each, interleaved (ms):")
    for name, values in (("through the gateway", through), ("direct to the function", direct)):
        print(f"  {name:<24} p50 {percentile(values, 0.5):7.3f}  p99 {percentile(values, 0.99):7.3f}  "
              f"mean {statistics.fmean(values):7.3f}")  # fmt: skip
    added = percentile(through, 0.5) - percentile(direct, 0.5)
    print(f"  gateway adds (p50)       {added:7.3f} ms ({percentile(through, 0.5) / percentile(direct, 0.5):.2f}x)")


def throughput(gateway_url: str, jobs: int, max_inflight: int) -> float:
    from servey_faas.testing import serve_app

    received: list[tuple[float, str]] = []
    done = threading.Event()

    async def receiver(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        status = dict(scope["headers"]).get(b"x-function-status", b"").decode()
        received.append((time.perf_counter(), status))
        if len(received) >= jobs:
            done.set()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with serve_app(receiver, lifespan="off") as hook, httpx.Client(timeout=30.0) as client:
        first_accepted = None
        for _ in range(jobs):
            response = client.post(f"{gateway_url}/async-function/{FUNCTION}", json={"name": "World"},
                                   headers={"X-Callback-Url": f"{hook}/done"})  # fmt: skip
            if response.status_code != 202:
                raise SystemExit(f"error: enqueue answered {response.status_code}: {response.text}")
            first_accepted = first_accepted or time.perf_counter()
        if not done.wait(600):
            raise SystemExit(f"error: only {len(received)} of {jobs} callbacks arrived")
    assert first_accepted is not None
    failed = [status for _, status in received if status != "200"]
    if failed:
        raise SystemExit(f"error: {len(failed)} callbacks with X-Function-Status other than 200: {failed[:5]}")
    elapsed = max(t for t, _ in received) - first_accepted
    rate = jobs / elapsed
    print(f"  --max-inflight {max_inflight}: {jobs} jobs in {elapsed:.2f} s = {rate:.0f} jobs/s (accept to callback)")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="measured requests each way (default 2000)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured pairs first (default 200)")
    parser.add_argument("--jobs", type=int, default=400, help="async jobs per --max-inflight setting (default 400)")
    parser.add_argument("--inflight", type=int, nargs="+", default=[1, 4], help="--max-inflight values (default 1 4)")
    parser.add_argument("--keep", type=Path, help="keep the work folder here (default: a temporary one)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-gateway-")) if args.keep is None else args.keep
    root.mkdir(parents=True, exist_ok=True)
    log = root / "processes.log"
    try:
        context, deployment = build_context(root)
        state_dir = root / "state"
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; function {FUNCTION} ({context}); logs in {log}")
        with gateway(state_dir, 1, log) as url, direct_process(context, deployment, log) as direct:
            wait_function(url, deployment)
            latency(url, direct, args.requests, args.warmup)
        print(f"async throughput, {args.jobs} jobs per setting, one replica:")
        for inflight in args.inflight:
            with gateway(state_dir, inflight, log) as url:
                wait_function(url, deployment)
                throughput(url, args.jobs, inflight)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
