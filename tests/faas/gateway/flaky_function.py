"""A function build context's entrypoint needing only the standard library (copied as ``index.py``):
it serves where ``upstream_url`` points, ``GET /_/ready`` and, on any other request, counts the
call in the file ``COUNT_FILE`` and answers 500 ``failed attempt N`` for the first ``FAIL_TIMES``
calls, then 200 ``attempt N``."""

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/_/ready":
            status, body = 200, b"OK"
        else:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = os.environ["COUNT_FILE"]
            count = (int(open(path).read()) if os.path.exists(path) else 0) + 1
            with open(path, "w") as f:
                f.write(str(count))
            failing = count <= int(os.environ.get("FAIL_TIMES", "0"))
            status, body = (500, b"failed attempt %d" % count) if failing else (200, b"attempt %d" % count)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


if __name__ == "__main__":
    address = urlsplit(os.environ["upstream_url"])
    ThreadingHTTPServer((address.hostname or "127.0.0.1", address.port or 80), Handler).serve_forever()
