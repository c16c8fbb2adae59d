"""A function build context's entrypoint for the cron tests (copied as ``index.py``).

It serves where ``upstream_url`` points: ``GET /_/ready``; any other request appends one JSON
line (``{"event": "start", method, path, headers, body}``) to the file ``RECORD_FILE`` names,
then, when ``HOLD_UNTIL`` names a file, waits until that file exists, appends ``{"event":
"end"}`` and answers 200 ``recorded``.
"""

import asyncio
import json
import os
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route


def record(line: dict) -> None:
    with open(os.environ["RECORD_FILE"], "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


async def ready(request: Request) -> Response:
    return PlainTextResponse("OK")


async def handle(request: Request) -> Response:
    body = await request.body()
    record(
        {
            "event": "start",
            "method": request.method,
            "path": request.url.path,
            "headers": dict(request.headers.items()),
            "body": body.decode(),
        }
    )
    hold = os.environ.get("HOLD_UNTIL")
    while hold and not os.path.exists(hold):
        await asyncio.sleep(0.05)
    record({"event": "end"})
    return PlainTextResponse("recorded")


app = Starlette(
    routes=[
        Route("/_/ready", ready, methods=["GET"]),
        Route("/{rest:path}", handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
)

if __name__ == "__main__":
    url = urlsplit(os.environ["upstream_url"])
    uvicorn.run(app, host=url.hostname or "127.0.0.1", port=url.port or 5000, log_level="warning")
