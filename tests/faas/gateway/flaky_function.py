"""A function build context's entrypoint for the retry tests (copied as ``index.py``): a WSGI app on
waitress, the python3-http template's server. It serves where ``upstream_url`` points, ``GET /_/ready``
and, on any other request, reads the body, counts the call in the file ``COUNT_FILE`` and answers 500
``failed attempt N`` for the first ``FAIL_TIMES`` calls, then 200 ``attempt N``.

The gateway forwards a body chunked, without ``Content-Length``, as of-watchdog does
(of-watchdog: ``executor/http_runner.go``), so a function's server must read chunked bodies: waitress
does. (A ``http.server`` handler reading ``Content-Length`` bytes left the chunked body unread and
closed the connection, and the kernel's reset could beat the answer to the gateway: "Can't reach
service" for a call the function had answered.)
"""

import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import waitress


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/_/ready":
        status, body = "200 OK", b"OK"
    else:
        environ["wsgi.input"].read()
        path = os.environ["COUNT_FILE"]
        count = (int(open(path).read()) if os.path.exists(path) else 0) + 1
        with open(path, "w") as f:
            f.write(str(count))
        if count <= int(os.environ.get("FAIL_TIMES", "0")):
            status, body = "500 Internal Server Error", b"failed attempt %d" % count
        else:
            status, body = "200 OK", b"attempt %d" % count
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    address = urlsplit(os.environ["upstream_url"])
    waitress.serve(app, host=address.hostname or "127.0.0.1", port=address.port or 80)
