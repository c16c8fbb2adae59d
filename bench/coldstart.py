"""Cold start of a generated function entrypoint against a python3-http-style Flask/waitress handler.

Run from the repository root, in the dev venv with the ``bench`` extra (``pip install -e '.[bench]'``,
which adds flask and waitress)::

    python bench/coldstart.py                 # 15 interleaved rounds, this interpreter
    python bench/coldstart.py --venv /tmp/coldstart-venv   # as in an image (see below)
    python bench/coldstart.py --rounds 30 --keep /tmp/coldstart

Measures process start → first ``200`` answer to ``GET /?name=World`` on a free 127.0.0.1 port, with
the current interpreter (or ``--python``), for:

- ``servey``: ``python index.py`` in the build context ``servey-faas --run=build`` writes for the demo
  action ``say_hello`` (its own copy of servey_faas, ``upstream_url`` pointing at the port), i.e. what
  the watchdog's ``fprocess`` starts in the image (``docs/openfaas.md#process-model``);
- ``flask``: a python3-http-style context (``docs/openfaas.md#the-python3-http-template``: the template's ``index.py`` —
  a Flask app building ``event``/``context`` and serving with waitress — and ``function/handler.py``) whose ``handle``
  calls the same ``say_hello``, imported from the same copied ``actions`` package (and the same copy of servey_faas,
  which the action's module imports);
- ``flask-inline`` (reported, not held to the target): the same handler with the function's body
  inlined, importing nothing of the app (no servey_faas at all);
- ``router-rest`` and ``router-graphql``: ``python index.py`` in the build context of the ``api``
  router (every demo action, its ``schemas.json`` and ``openapi.json``), to its first ``200`` of
  ``GET /actions/say-hello?name=World`` and of ``POST /graphql`` ``{ sayHello(name: "World") }``;
  the router calls the ``say-hello`` function through ``OPENFAAS_URL``, here a stub gateway in this
  process (a thread answering ``GET /function/say-hello.../actions/say-hello`` and ``POST
  /function/say-hello...`` with ``"Hello World!"``), so that what is timed is the router alone.
  Held to ``router/servey`` <= 1.5x (``--no-router``: left out).

``--venv DIR`` runs both with a virtual environment holding only what the function image installs
(the context's ``requirements.txt``) plus flask and waitress, created there on first use (pip needs
the package index): a dev environment's extra packages (an editable install's import hook,
jsonschema's optional format checkers) slow both sides down and are not in an image.

The client connects every millisecond until the port accepts, then sends one request. After one
warm-up start of each (bytecode caches written, as the image precompiles), rounds alternate the
order. Prints the median and p90 of each and the ratio of the medians servey/flask, held to the
targets: ratio <= 1.0x and servey median < 400 ms, and router-rest/servey and router-graphql/servey
<= 1.5x. Exits 0 when all are met, 1 otherwise, 2 when it cannot run.
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
import textwrap
import time
from pathlib import Path

TARGET_RATIO = 1.0
TARGET_MS = 400.0
#: The api router's cold start against an action's function (servey).
TARGET_ROUTER_RATIO = 1.5
REPO_ROOT = Path(__file__).resolve().parents[1]
REQUEST = b"GET /?name=World HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
REST_REQUEST = b"GET /actions/say-hello?name=World HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
_GRAPHQL_BODY = b'{"query": "{ sayHello(name: \\"World\\") }"}'
GRAPHQL_REQUEST = (
    b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_GRAPHQL_BODY), _GRAPHQL_BODY)
)

#: The python3-http template's index.py (``docs/openfaas.md#the-python3-http-template``), trimmed to what a GET needs;
#: the port comes from PORT so that both servers listen where the benchmark asks.
FLASK_INDEX = """
import os

from flask import Flask, request
from waitress import serve

from function import handler

app = Flask(__name__)


class Event:
    def __init__(self):
        self.body = request.get_data()
        self.headers = request.headers
        self.method = request.method
        self.query = request.args
        self.path = request.path


class Context:
    def __init__(self):
        self.hostname = os.getenv("HOSTNAME", "localhost")


def format_status_code(res):
    return res.get("statusCode", 200) if isinstance(res, dict) else 200


def format_body(res, content_type):
    if not isinstance(res, dict) or "body" not in res:
        return ""
    if content_type == "application/octet-stream":
        return res["body"]
    return str(res["body"])


def format_headers(res):
    return res.get("headers", {}) if isinstance(res, dict) else {}


def format_response(res):
    if res is None:
        return ("", 200)
    status = format_status_code(res)
    headers = format_headers(res)
    return (format_body(res, headers.get("Content-type", "")), status, headers)


@app.route("/", defaults={"path": ""}, methods=["GET", "PUT", "POST", "PATCH", "DELETE"])
@app.route("/<path:path>", methods=["GET", "PUT", "POST", "PATCH", "DELETE"])
def call_handler(path):
    return format_response(handler.handle(Event(), Context()))


if __name__ == "__main__":
    serve(app, host="127.0.0.1", port=int(os.environ["PORT"]))
"""

FLASK_HANDLER = """
import json

from actions.greetings import say_hello


def handle(event, context):
    return {"statusCode": 200, "body": json.dumps(say_hello(event.query.get("name"))),
            "headers": {"Content-Type": "application/json"}}
"""

FLASK_INLINE_HANDLER = """
import json


def handle(event, context):
    return {"statusCode": 200, "body": json.dumps(f"Hello {event.query.get('name')}!"),
            "headers": {"Content-Type": "application/json"}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def build_servey(root: Path) -> tuple[Path, Path]:
    """The build contexts of ``say_hello`` and of the ``api`` router as ``--run=build`` writes them."""
    sys.path.insert(0, str(REPO_ROOT))
    from servey_faas.app import ServeyApp
    from servey_faas.faas.deploy.packager import BuildOptions, build
    from servey_faas.settings import Settings

    app = ServeyApp.load(Settings.load({"SERVEY_ACTION_PATH": "actions"}, REPO_ROOT))
    result = build(app, BuildOptions(output_dir=root / "serverless", router=True))
    contexts = {f.action_name: f.context for f in result.functions}
    return contexts["say_hello"], contexts[None]


class _StubGateway:
    """A gateway answering every ``GET`` and ``POST /function/...`` with the JSON ``"Hello World!"``
    (what the say-hello function answers to the router's REST request and to its GraphQL resolver's
    call), in a thread of this process: the router's calls cost it nothing."""

    def __init__(self) -> None:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                body = b'"Hello World!"'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def build_flask(root: Path, handler: str, servey_faas_copy: Path) -> Path:
    """A python3-http-style context: index.py, function/handler.py, the copied actions package and
    the same copy of servey_faas the servey context has (the action's module imports it)."""
    context = root
    (context / "function").mkdir(parents=True)
    shutil.copytree(servey_faas_copy, context / "servey_faas", ignore=shutil.ignore_patterns("__pycache__"))
    (context / "index.py").write_text(textwrap.dedent(FLASK_INDEX).lstrip(), encoding="utf-8")
    (context / "function" / "__init__.py").write_text("", encoding="utf-8")
    (context / "function" / "handler.py").write_text(textwrap.dedent(handler).lstrip(), encoding="utf-8")
    shutil.copytree(REPO_ROOT / "actions", context / "actions", ignore=shutil.ignore_patterns("__pycache__"))
    return context


def image_like_venv(venv: Path, requirements: Path) -> str:
    """The interpreter of ``venv``, created with ``requirements`` plus flask and waitress; installed
    again when ``requirements`` changed since (a stale venv would time what an image no longer
    holds, or fail)."""
    python = venv / "bin" / "python"
    wanted = requirements.read_text(encoding="utf-8")
    stamp = venv / "installed-requirements.txt"
    if python.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == wanted:
        return str(python)
    if not python.exists():
        print(f"creating {venv} with {requirements.name} + flask + waitress ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    else:
        print(f"updating {venv}: {requirements.name} changed", flush=True)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-r", str(requirements), "flask", "waitress"], check=True)
    stamp.write_text(wanted, encoding="utf-8")
    return str(python)


def start_to_200(
    context: Path,
    python: str = sys.executable,
    timeout: float = 20.0,
    request: bytes = REQUEST,
    env_extra: dict[str, str] | None = None,
) -> float:
    """Seconds from starting ``python index.py`` in ``context`` to its first 200 on ``request``
    (default ``GET /?name=World``), with ``env_extra`` in its environment."""
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SERVEY_", "PYTHON", "OPENFAAS_"))},
        "upstream_url": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        **(env_extra or {}),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        [python, "index.py"], cwd=context, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = started + timeout
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise RuntimeError(f"{context} exited with {process.returncode}:\n{err[-2000:]}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{context} did not answer within {timeout} s")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
                    sock.sendall(request)
                    data = b""
                    while chunk := sock.recv(65536):
                        data += chunk
            except OSError:
                time.sleep(0.001)
                continue
            elapsed = time.perf_counter() - started
            status = data.split(b" ", 2)[1] if data.startswith(b"HTTP/") else b"?"
            if status != b"200" or b"Hello World!" not in data:
                raise RuntimeError(f"{context} answered {data[:300]!r}")
            return elapsed
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def measure(args: argparse.Namespace, root: Path) -> dict[str, list[float]]:
    """Seconds to the first 200 of each server, ``args.rounds`` interleaved rounds after a warm-up.

    :raises RuntimeError: when a server cannot start or answers wrong, or flask/waitress are missing.
    """
    servey, router = build_servey(root / "servey")
    router_python = args.python
    if args.venv is not None:
        args.python = image_like_venv(args.venv, servey / "requirements.txt")
        router_python = image_like_venv(args.venv.with_name(args.venv.name + "-router"), router / "requirements.txt")
    check = subprocess.run([args.python, "-c", "import flask, waitress"], capture_output=True, check=False)
    if check.returncode != 0:
        raise RuntimeError(f"{args.python} lacks flask or waitress: pip install -e '.[bench]'")
    gateway = _StubGateway()
    to_gateway = {"OPENFAAS_URL": gateway.url}
    flask = build_flask(root / "flask", FLASK_HANDLER, servey / "servey_faas")
    flask_inline = build_flask(root / "flask-inline", FLASK_INLINE_HANDLER, servey / "servey_faas")
    starts = {
        "servey": (servey, args.python, REQUEST, None),
        "flask": (flask, args.python, REQUEST, None),
        "flask-inline": (flask_inline, args.python, REQUEST, None),
    }
    if not args.no_router:
        starts["router-rest"] = (router, router_python, REST_REQUEST, to_gateway)
        starts["router-graphql"] = (router, router_python, GRAPHQL_REQUEST, to_gateway)
    print(f"{args.python}, {args.rounds} rounds, contexts in {root}")
    try:
        for context, python, request, env in starts.values():
            start_to_200(context, python, request=request, env_extra=env)  # warm-up: bytecode, page cache
        times: dict[str, list[float]] = {name: [] for name in starts}
        order = list(starts)
        for i in range(args.rounds):
            for name in order if i % 2 == 0 else reversed(order):
                context, python, request, env = starts[name]
                times[name].append(start_to_200(context, python, request=request, env_extra=env))
            line = "  ".join(f"{name} {times[name][-1] * 1000:6.1f} ms" for name in starts)
            print(f"round {i + 1:2d}: {line}", flush=True)
    finally:
        gateway.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--keep", type=Path, help="write the contexts here and keep them (default: a temp folder)")
    parser.add_argument("--no-router", action="store_true", help="leave the api router's cold start out")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="interpreter that runs both servers (default: this one); e.g. a clean venv holding only the "
        "function's requirements.txt plus flask and waitress, as in an image",
    )
    parser.add_argument(
        "--venv",
        type=Path,
        help="run both with this virtual environment, created on first use with the function's "
        "requirements.txt plus flask and waitress (as in an image); overrides --python",
    )
    args = parser.parse_args(argv)
    root = args.keep or Path(tempfile.mkdtemp(prefix="coldstart-"))
    try:
        times = measure(args, root)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        print(f"cannot run: {e}", file=sys.stderr)
        return 2
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)

    medians = {name: statistics.median(values) * 1000 for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:14s} median {medians[name]:6.1f} ms   p90 {_p90(values) * 1000:6.1f} ms")
    ratio = medians["servey"] / medians["flask"]
    inline = medians["servey"] / medians["flask-inline"]
    ok_ratio, ok_ms = ratio <= TARGET_RATIO, medians["servey"] < TARGET_MS
    print(f"ratio servey/flask: {ratio:.2f}x (target <= {TARGET_RATIO}x): {'OK' if ok_ratio else 'OVER TARGET'}")
    verdict = "OK" if ok_ms else "OVER TARGET"
    print(f"servey median: {medians['servey']:.1f} ms (target < {TARGET_MS:.0f} ms): {verdict}")
    print(f"ratio servey/flask-inline: {inline:.2f}x (no target)")
    ok_router = True
    for name in ("router-rest", "router-graphql"):
        if name in medians:
            router_ratio = medians[name] / medians["servey"]
            ok = router_ratio <= TARGET_ROUTER_RATIO
            ok_router = ok_router and ok
            verdict = "OK" if ok else "OVER TARGET"
            print(f"ratio {name}/servey: {router_ratio:.2f}x (target <= {TARGET_ROUTER_RATIO}x): {verdict}")
    return 0 if ok_ratio and ok_ms and ok_router else 1


if __name__ == "__main__":
    sys.exit(main())
