"""A tiny WSGI app served by ``serve_wsgi`` in a subprocess, for test_function_server.py.

Run as ``python drain_app.py [--threads N] [--drain-timeout S]``: it serves on a free 127.0.0.1
port (logged as ``serving on http://127.0.0.1:PORT``) and exits when ``serve_wsgi`` returns.
The app runs under ``wsgiref.validate`` so every request also checks the environ waitress builds
against PEP 3333.

* ``POST /echo``: 200 with the request body as received (de-chunked);
* ``POST /slow``: prints ``started slow`` on stdout, then blocks until one byte arrives on stdin,
  then 200 ``done``;
* ``POST /hang``: prints ``started hang``, then never answers;
* ``GET /boom``: raises (a 500 whose body must not show the traceback).

stdin and stdout are used through their file descriptors (``os.read``/``os.write``), not
``sys.stdin``/``sys.stdout``, whose locks a blocked worker thread would hold at interpreter exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.validate import validator

from servey_faas.faas.runtime._server import serve_wsgi

_never = threading.Event()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    route = (environ["REQUEST_METHOD"], environ["PATH_INFO"])
    if route == ("POST", "/echo"):
        # waitress decodes a chunked body and sets CONTENT_LENGTH (PEP 3333's read() takes a size)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))])
        return [body]
    if route == ("POST", "/slow"):
        os.write(1, b"started slow\n")
        os.read(0, 1)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return [b"done"]
    if route == ("POST", "/hang"):
        os.write(1, b"started hang\n")
        _never.wait()
    if route == ("GET", "/boom"):
        raise RuntimeError("boom-secret-detail")
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "0")])
    return [b""]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--drain-timeout", type=float, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    serve_wsgi(validator(app), "127.0.0.1", 0, threads=args.threads, drain_timeout=args.drain_timeout)


if __name__ == "__main__":
    main()
