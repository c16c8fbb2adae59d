"""A function build context's entrypoint needing only the standard library (copied as ``index.py``):
it serves where ``upstream_url`` points, ``GET /_/ready`` and, on a GET of any other path, the
interpreter it runs on and the version of the distribution named by ``REPORT_DISTRIBUTION`` (``null``
when it is not installed) as JSON. GET only: ``http.server`` does not read the chunked bodies the
gateway forwards (as of-watchdog does), and closing on an unread body resets the connection."""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from urllib.parse import urlsplit


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/_/ready":
            body = b"OK"
        else:
            try:
                version = metadata.version(os.environ.get("REPORT_DISTRIBUTION", "-"))
            except metadata.PackageNotFoundError:
                version = None
            body = json.dumps({"executable": sys.executable, "version": version}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    address = urlsplit(os.environ["upstream_url"])
    ThreadingHTTPServer((address.hostname or "127.0.0.1", address.port or 80), Handler).serve_forever()
