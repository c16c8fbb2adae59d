"""A function build context's entrypoint for the local gateway tests (copied as ``index.py``).

It serves where ``upstream_url`` points, as the servey_faas runtime does: ``GET /_/ready`` (503
``not ready`` while the file ``READY_WHEN`` names, when set, does not exist); any other path
echoes the request and what the function sees as JSON (method, path, query, headers, body, pid,
``OPENFAAS_*`` and ``GREETING`` variables, the secrets under ``secret_mount_path``).
``/exit`` ends the process (status 3); ``/sleep?s=SECONDS[&unless=FILE]`` answers after a while
(at once when FILE exists). With ``SPAWN_CHILD=1`` it starts a ``sleep`` child in its process
group and reports its pid. Each request prints one line on stdout (the function log).
"""

import asyncio
import os
import subprocess
import sys
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

CHILD = subprocess.Popen(["sleep", "600"]) if os.environ.get("SPAWN_CHILD") == "1" else None


async def ready(request: Request) -> Response:
    flag = os.environ.get("READY_WHEN")
    if flag and not os.path.exists(flag):
        return PlainTextResponse("not ready", 503)
    return PlainTextResponse("OK")


async def echo(request: Request) -> Response:
    if request.url.path == "/exit":
        os._exit(3)
    if request.url.path == "/sleep" and not os.path.exists(request.query_params.get("unless", "/nonexistent")):
        print(f"sleeping {request.query_params.get('s')}", flush=True)
        await asyncio.sleep(float(request.query_params.get("s", "1")))
    folder = os.environ.get("secret_mount_path", "")
    secrets = {}
    if folder and os.path.isdir(folder):
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                secrets[name] = {"value": f.read(), "mode": oct(os.stat(path).st_mode & 0o777)}
    body = await request.body()
    print(f"handled {request.method} {request.url.path}", flush=True)
    return JSONResponse(
        {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": {k: v for k, v in request.headers.items()},
            "body": body.decode(),
            "pid": os.getpid(),
            "child": CHILD.pid if CHILD else None,
            "env": {k: os.environ.get(k) for k in ("OPENFAAS_NAME", "OPENFAAS_NAMESPACE", "GREETING", "fprocess")},
            "executable": sys.executable,
            "cwd": os.getcwd(),
            "secrets": secrets,
        },
        headers={"X-Function": "echo"},
    )


app = Starlette(
    routes=[
        Route("/_/ready", ready, methods=["GET"]),
        Route("/{rest:path}", echo, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    ]
)

if __name__ == "__main__":
    url = urlsplit(os.environ["upstream_url"])
    print(f"starting on {url.port} as pid {os.getpid()}", flush=True)
    uvicorn.run(app, host=url.hostname or "127.0.0.1", port=url.port or 5000, log_level="warning")
