"""GraphiQL (``/graphql``), Swagger UI (``/docs``) and ReDoc (``/redoc``) rendered by headless Debian
Chromium against a real server: the DOM must hold each app's own elements, and a screenshot must show
a drawn page, not a blank one.

Chromium is required (``apt-get install -y chromium``): without it these tests fail, they are not
skipped. The machine has no network beyond package registries, so a page that loads anything from
a CDN stays blank here. Every Chromium runs in its own process group, killed when its call ends.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from servey_faas.web import create_app
from tests.demo import load_demo_app
from tests.integration.live_server import serve

#: Seconds one Chromium run may take (a safety net for a hung browser, not a performance threshold).
CHROMIUM_TIMEOUT = 120.0
#: Milliseconds of virtual time Chromium gives the page's scripts before it dumps or shoots.
VIRTUAL_TIME_BUDGET = 8000
WINDOW = (1280, 900)


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        "Chromium is not installed; these tests need Debian's chromium package: apt-get install -y chromium",
        pytrace=False,
    )


@dataclass
class Requests:
    """What the browser asked the server for: ``(method, path)`` per request, and the bodies of the
    POSTs to ``/graphql`` (JSON)."""

    seen: list[tuple[str, str]] = field(default_factory=list)
    graphql_bodies: list[bytes] = field(default_factory=list)

    def clear(self) -> None:
        self.seen.clear()
        self.graphql_bodies.clear()


def recording(app: Any, requests: Requests) -> Any:
    """``app`` wrapped so that every request is recorded."""

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        requests.seen.append((scope["method"], scope["path"]))
        if (scope["method"], scope["path"]) != ("POST", "/graphql"):
            await app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    requests.graphql_bodies.append(b"".join(chunks))
            return message

        await app(scope, recording_receive, send)

    return wrapper


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Requests]]:
    requests = Requests()
    with serve(recording(create_app(load_demo_app()), requests)) as url:
        yield url, requests


def run_chromium(tmp_path: Path, *arguments: str) -> str:
    """Run headless Chromium with the fixed flags and ``arguments``; return its stdout."""
    profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={VIRTUAL_TIME_BUDGET}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        *arguments,
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, cwd=tmp_path
    )
    try:
        stdout, stderr = process.communicate(timeout=CHROMIUM_TIMEOUT)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # renderer and zygote processes included
        except ProcessLookupError:
            pass
        process.wait()
    assert process.returncode == 0, stderr.decode(errors="replace")[-3000:]
    return stdout.decode("utf-8", errors="replace")


def dom_of(tmp_path: Path, url: str) -> str:
    return run_chromium(tmp_path, "--dump-dom", url)


def screenshot_of(tmp_path: Path, url: str) -> Image:
    path = tmp_path / "screenshot.png"
    path.unlink(missing_ok=True)
    run_chromium(tmp_path, f"--screenshot={path}", url)
    return read_png(path.read_bytes())


# -- a tiny PNG reader (RFC 2083: 8-bit RGB/RGBA, non-interlaced, as Chromium writes) --------------


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    pixels: list[tuple[int, int, int]]

    def distinct_colours(self) -> int:
        return len(set(self.pixels))

    def share_not_white(self) -> float:
        return sum(1 for p in self.pixels if min(p) < 245) / len(self.pixels)


def read_png(data: bytes) -> Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unsupported PNG: depth {depth}, colour {colour}"
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    pixels: list[tuple[int, int, int]] = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            up_left = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[i] = (line[i] + predictor) & 0xFF
        pixels.extend((line[i], line[i + 1], line[i + 2]) for i in range(0, stride, channels))
        previous = line
    return Image(width, height, pixels)


def test_the_png_reader_reads_what_it_should() -> None:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    # 2x2 RGB: row 0 unfiltered (red, green), row 1 "up" filter (adds row 0: blue - red, white - green)
    rows = b"\x00" + bytes([255, 0, 0, 0, 255, 0]) + b"\x02" + bytes([1, 0, 255, 255, 0, 255])
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    image = read_png(png)
    assert image.pixels == [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]
    assert image.distinct_colours() == 4
    assert image.share_not_white() == 0.75


def assert_drawn(image: Image) -> None:
    """Not a blank page: many colours, and a good part of the page is not white."""
    assert (image.width, image.height) == WINDOW
    assert image.distinct_colours() >= 16, f"only {image.distinct_colours()} colours: a blank page?"
    assert image.share_not_white() >= 0.02, f"{image.share_not_white():.1%} of the page is drawn"


# -- the pages ------------------------------------------------------------------------------------


def test_graphiql_renders_and_talks_to_the_server(server: tuple[str, Requests], tmp_path: Path) -> None:
    url, requests = server
    requests.clear()
    dom = dom_of(tmp_path, url + "/graphql")
    assert "graphiql-container" in dom
    assert 'class="graphiql-editor"' in dom
    assert "CodeMirror" in dom
    assert ">sayHello<" in dom  # the example query, highlighted in the editor
    assert "Loading GraphiQL…" not in dom
    queries = [json.loads(body)["query"] for body in requests.graphql_bodies]
    assert any("__schema" in q for q in queries), "GraphiQL never fetched the schema"
    asset_paths = [path for _, path in requests.seen if path.startswith("/graphql/assets/")]
    assert len(asset_paths) == 5
    assert_drawn(screenshot_of(tmp_path, url + "/graphql"))


def test_swagger_ui_renders_every_operation(server: tuple[str, Requests], tmp_path: Path) -> None:
    url, requests = server
    requests.clear()
    dom = dom_of(tmp_path, url + "/docs")
    assert 'class="swagger-ui"' in dom
    for path in ("/actions/say-hello", "/actions/quote-order", "/orders/{order_number}", "/actions/to-fahrenheit"):
        assert f'data-path="{path}"' in dom, path
    assert 'class="opblock opblock-get"' in dom and 'class="opblock opblock-put"' in dom
    assert ("GET", "/openapi.json") in requests.seen
    assert_drawn(screenshot_of(tmp_path, url + "/docs"))


def test_redoc_renders_every_operation(server: tuple[str, Requests], tmp_path: Path) -> None:
    url, requests = server
    requests.clear()
    dom = dom_of(tmp_path, url + "/redoc")
    for operation in ("say_hello", "quote_order", "cancel_order", "current_temperature", "to_fahrenheit"):
        assert f'data-section-id="operation/{operation}"' in dom, operation
    assert ("GET", "/openapi.json") in requests.seen
    assert_drawn(screenshot_of(tmp_path, url + "/redoc"))


def test_without_chromium_these_tests_fail_with_the_install_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        chromium()
