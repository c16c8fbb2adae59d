"""Hostile input against the request limits, over the real servers: the dev server (uvicorn) and
an action's function server (waitress, as ``index.py`` serves it).

Every probe asserts the status and the JSON body, then that the same server still answers a small
request within :data:`SMALL_REQUEST_MS` (timed after the probe's answer has arrived).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from servey_faas import WEB_GET, WEB_POST, FixedRateTrigger, action
from servey_faas.app import ServeyApp
from servey_faas.faas.runtime import function_app
from servey_faas.faas.runtime._server import DrainingServer
from servey_faas.settings import LimitSettings, Settings

from .actions_for_tests import app_with
from .live_server import CLIENT_TIMEOUT, serve

#: The one timing assertion: a small request right after a hostile one answers within this.
SMALL_REQUEST_MS = 100.0
LIMIT = LimitSettings().max_body_bytes
DEPTH = LimitSettings().max_json_depth
JSON = {"Content-Type": "application/json"}
TOO_LARGE = {"error": "payload_too_large", "message": f"the request body is larger than the limit of {LIMIT} bytes"}
TOO_DEEP = {"error": "bad_request", "message": f"the JSON body is nested deeper than the limit of {DEPTH} levels"}


@dataclasses.dataclass(frozen=True)
class Node:
    label: str
    children: list[Node] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class Item:
    sku: str


@action(triggers=(WEB_POST,))
def tree_size(root: Node) -> int:
    """Count the nodes of a tree (recursive input)."""
    return 1 + sum(tree_size(c) for c in root.children)


@action(triggers=(WEB_GET,))
def tree_height(tree: Node) -> int:
    """The height of a tree given as JSON in the query string."""
    return 1 + max((tree_height(c) for c in tree.children), default=0)


@action(triggers=(WEB_GET,))
def mirror(tree: Node) -> Node:
    """A tree mirrored (a recursive result, for GraphQL selections)."""
    return Node(tree.label, [mirror(c) for c in reversed(tree.children)])


@action(triggers=(WEB_POST,))
def count_items(items: list[Item]) -> int:
    """How many items were sent."""
    return len(items)


ACTIONS = (tree_size, tree_height, mirror, count_items)
#: The small request made on each action's server after a probe: (method, path, params).
SMALL = {
    "tree_size": ("POST", "/actions/tree-size", {"root": {"label": "a"}}),
    "count_items": ("POST", "/actions/count-items", {"items": [{"sku": "a"}]}),
    "tree_height": ("GET", "/actions/tree-height", {"tree": '{"label": "a"}'}),
}


def tree(json_depth: int) -> dict[str, Any]:
    """A ``Node`` whose JSON nests ``json_depth`` levels (odd: each level below the root is a list
    and an object)."""
    assert json_depth % 2 == 1
    node: dict[str, Any] = {"label": "x"}
    for _ in range(json_depth // 2):
        node = {"label": "x", "children": [node]}
    return node


def nodes(json_depth: int) -> int:
    return json_depth // 2 + 1


def literal(json_depth: int) -> str:
    """The GraphQL input literal of :func:`tree`."""
    node = '{label: "x"}'
    for _ in range(json_depth // 2):
        node = '{label: "x", children: [' + node + "]}"
    return node


@dataclasses.dataclass
class Target:
    """A server to probe: ``urls`` gives the base URL serving each action."""

    name: str
    urls: dict[str, str]
    clients: dict[str, httpx.Client] = dataclasses.field(default_factory=dict)

    def client(self, action_name: str) -> httpx.Client:
        if action_name not in self.clients:
            self.clients[action_name] = httpx.Client(base_url=self.urls[action_name], timeout=CLIENT_TIMEOUT)
        return self.clients[action_name]

    def assert_still_answers(self, action_name: str) -> None:
        """A small valid request to the server of ``action_name``, made after the probe answered,
        answers 200 within :data:`SMALL_REQUEST_MS`."""
        method, path, params = SMALL[action_name]
        client = self.client(action_name)
        start = time.perf_counter()
        if method == "GET":
            response = client.get(path, params=params)
        else:
            response = client.post(path, json=params)
        elapsed_ms = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, response.text
        assert elapsed_ms < SMALL_REQUEST_MS, f"{self.name}: the small request took {elapsed_ms:.1f} ms"


@contextlib.contextmanager
def function_servers(app: ServeyApp) -> Iterator[dict[str, str]]:
    """Each action of ``app`` served by its function's WSGI app on waitress, as ``index.py`` does."""
    with contextlib.ExitStack() as stack:
        urls = {}
        for name in app.invokers:
            urls[name] = stack.enter_context(_waitress(app, name))
        yield urls


@contextlib.contextmanager
def _waitress(app: ServeyApp, action_name: str) -> Iterator[str]:
    wsgi = function_app(app, action_name)
    server = DrainingServer(wsgi, "127.0.0.1", 0, threads=4, max_body_bytes=wsgi.max_body_bytes)
    thread = threading.Thread(target=server.serve, name=f"waitress-{action_name}", daemon=True)
    thread.start()
    try:
        yield server.urls[0]
    finally:
        server.stop()
        thread.join(CLIENT_TIMEOUT)
        wsgi.close()


@contextlib.contextmanager
def targets(limits: LimitSettings) -> Iterator[dict[str, Target]]:
    app = app_with(*ACTIONS)
    app = dataclasses.replace(app, settings=Settings(limits=limits))
    with serve(app) as dev, function_servers(app) as functions:
        found = {
            "dev server": Target("dev server", {name: dev for name in app.invokers}),
            "function": Target("function", functions),
        }
        try:
            yield found
        finally:
            for target in found.values():
                for client in target.clients.values():
                    client.close()


@pytest.fixture(scope="module")
def default_targets() -> Iterator[dict[str, Target]]:
    with targets(LimitSettings()) as found:
        yield found


@pytest.fixture(params=["dev server", "function"])
def target(request: pytest.FixtureRequest, default_targets: dict[str, Target]) -> Target:
    found: Target = default_targets[request.param]
    return found


# --- a raw HTTP/1.1 client: bodies a well-behaved client library would not send ---------------------


def raw_exchange(url: str, head: str, chunks: Iterable[bytes] = ()) -> tuple[int, bytes, int]:
    """Send the request ``head`` (headers, no blank line), then ``chunks`` (chunked encoding) until
    the server answers; return the status, the body and how many body bytes were sent.

    A 100 Continue is skipped. The server may answer (and close) before the body is all sent:
    sending stops as soon as an answer can be read, or when the server stops reading.
    """
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=CLIENT_TIMEOUT) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n")
        sent = 0
        for chunk in chunks:
            if select.select([sock], [], [], 0)[0]:
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        received = b""
        while True:
            head_end = received.find(b"\r\n\r\n")
            if head_end >= 0 and received.startswith(b"HTTP/1.1 100"):
                received = received[head_end + 4 :]
                continue
            if head_end >= 0:
                lines = received[:head_end].decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                length = int(headers["content-length"])
                if len(received) >= head_end + 4 + length:
                    return int(lines[0].split(" ")[1]), received[head_end + 4 : head_end + 4 + length], sent
            data = sock.recv(65536)
            assert data, f"the connection closed before a whole answer: {received!r}"
            received += data


def megabytes(total: int, size: int = 65536) -> Iterator[bytes]:
    """``total`` bytes of JSON-ish filler in chunks of ``size``."""
    chunk = b" " * size
    for _ in range(total // size):
        yield chunk


# --- bodies over the size limit -----------------------------------------------------------------------


def test_a_huge_announced_body_is_refused_before_it_is_sent(target: Target) -> None:
    """Content-Length over the limit: 413 at once; with ``Expect: 100-continue`` (as curl sends
    for big bodies) the client never sends a byte of it (RFC 9110 §10.1.1)."""
    head = (
        "POST /actions/count-items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {50 * 1024 * 1024}\r\nExpect: 100-continue"
    )
    status, body, sent = raw_exchange(target.urls["count_items"], head)
    assert (status, json.loads(body), sent) == (413, TOO_LARGE, 0)
    target.assert_still_answers("count_items")


def test_a_huge_chunked_body_is_refused_while_it_streams(target: Target) -> None:
    head = (
        "POST /actions/count-items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
    )
    status, body, sent = raw_exchange(target.urls["count_items"], head, megabytes(16 * LIMIT))
    assert (status, json.loads(body)) == (413, TOO_LARGE)
    assert sent < 16 * LIMIT  # refused while the client was still sending
    target.assert_still_answers("count_items")


def test_a_body_just_over_the_limit_is_refused_and_one_at_the_limit_is_read(target: Target) -> None:
    client = target.client("count_items")
    items = json.dumps({"items": [{"sku": "x"}]}).encode()
    at_limit = items[:-1] + b" " * (LIMIT - len(items)) + b"}"
    assert len(at_limit) == LIMIT
    answer = client.post("/actions/count-items", content=at_limit, headers=JSON)
    assert (answer.status_code, answer.json()) == (200, 1)
    over = client.post("/actions/count-items", content=at_limit + b" ", headers=JSON)
    assert (over.status_code, over.json()) == (413, TOO_LARGE)
    target.assert_still_answers("count_items")


def test_two_hundred_thousand_objects_are_refused_by_size(target: Target) -> None:
    body = json.dumps({"items": [{"sku": "x"}] * 200_000}).encode()  # 2.6 MB
    answer = target.client("count_items").post("/actions/count-items", content=body, headers=JSON)
    assert (answer.status_code, answer.json()) == (413, TOO_LARGE)
    target.assert_still_answers("count_items")


def test_the_refusals_are_the_same_bytes_on_both_servers(default_targets: dict[str, Target]) -> None:
    bodies = set()
    for target in default_targets.values():
        answer = target.client("count_items").post("/actions/count-items", content=b" " * (LIMIT + 1), headers=JSON)
        bodies.add((answer.status_code, answer.headers["content-type"], answer.content))
    assert len(bodies) == 1


# --- JSON nesting -------------------------------------------------------------------------------------


def test_deep_json_is_refused_before_it_is_parsed(target: Target) -> None:
    deep = b'{"items": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    answer = target.client("count_items").post("/actions/count-items", content=deep, headers=JSON)
    assert (answer.status_code, answer.json()) == (400, TOO_DEEP)
    target.assert_still_answers("count_items")


def test_recursive_input_at_the_depth_limit_passes_and_one_level_more_is_refused(target: Target) -> None:
    """The params object counts: ``{"root": <tree>}`` nests one level more than the tree."""
    client = target.client("tree_size")
    inside = client.post("/actions/tree-size", json={"root": tree(DEPTH - 1)})
    assert (inside.status_code, inside.json()) == (200, nodes(DEPTH - 1))
    over = client.post("/actions/tree-size", json={"root": tree(DEPTH + 1)})
    assert (over.status_code, over.json()) == (400, TOO_DEEP)
    target.assert_still_answers("tree_size")


def test_deep_json_in_a_query_param(target: Target) -> None:
    client = target.client("tree_height")
    inside = client.get("/actions/tree-height", params={"tree": json.dumps(tree(DEPTH - 1))})
    assert (inside.status_code, inside.json()) == (200, nodes(DEPTH - 1))
    deep = client.get("/actions/tree-height", params={"tree": "[" * 5_000 + "]" * 5_000})
    assert (deep.status_code, deep.json()) == (
        400,
        {
            "error": "bad_request",
            "message": f"the JSON of 'tree' is nested deeper than the limit of {DEPTH} levels "
            "(counting the params object)",
        },
    )
    target.assert_still_answers("tree_height")


def test_a_raised_depth_limit_works_on_every_transport() -> None:
    """The largest depth limit accepted still validates, loads and answers everywhere (no
    RecursionError in JSON Schema validation, marshalling or GraphQL)."""
    from servey_faas.settings import MAX_JSON_DEPTH_LIMIT

    deepest = MAX_JSON_DEPTH_LIMIT - 1  # odd: the tree inside the params object
    with targets(LimitSettings(max_json_depth=MAX_JSON_DEPTH_LIMIT)) as found:
        for target in found.values():
            answer = target.client("tree_size").post("/actions/tree-size", json={"root": tree(deepest)})
            assert (answer.status_code, answer.json()) == (200, nodes(deepest)), target.name
        graphql = (
            found["dev server"]
            .client("tree_size")
            .post(
                "/graphql",
                json={"query": "mutation($r: NodeInput!) { treeSize(root: $r) }", "variables": {"r": tree(deepest)}},
            )
        )
        assert graphql.json() == {"data": {"treeSize": nodes(deepest)}}


# --- GraphQL ------------------------------------------------------------------------------------------


@pytest.fixture
def graphql(default_targets: dict[str, Target]) -> Iterator[httpx.Client]:
    yield default_targets["dev server"].client("tree_size")


def post_graphql(client: httpx.Client, query: str, variables: dict[str, Any] | None = None) -> httpx.Response:
    return client.post("/graphql", json={"query": query, "variables": variables})


def graphql_error(message: str, code: str = "BAD_REQUEST") -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": code}}]}


def test_graphql_variables_at_the_limit_pass_and_deeper_are_refused(
    graphql: httpx.Client, default_targets: dict[str, Target]
) -> None:
    query = "mutation($r: NodeInput!) { treeSize(root: $r) }"
    inside = post_graphql(graphql, query, {"r": tree(DEPTH - 1)})
    assert (inside.status_code, inside.json()) == (200, {"data": {"treeSize": nodes(DEPTH - 1)}})
    too_deep = graphql_error(f"variables are nested deeper than the limit of {DEPTH} levels")
    over = post_graphql(graphql, query, {"r": tree(DEPTH + 1)})
    assert (over.status_code, over.json()) == (400, too_deep)
    deep_body = b'{"query": "{ __typename }", "variables": {"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}}"
    deep = graphql.post("/graphql", content=deep_body, headers=JSON)
    assert (deep.status_code, deep.json()) == (400, too_deep)
    over_get = graphql.get("/graphql", params={"query": "{ __typename }", "variables": "[" * 3_000 + "]" * 3_000})
    assert (over_get.status_code, over_get.json()) == (400, too_deep)
    default_targets["dev server"].assert_still_answers("tree_size")


def test_graphql_literals_at_the_limit_pass_and_deeper_are_refused(
    graphql: httpx.Client, default_targets: dict[str, Target]
) -> None:
    inside = post_graphql(graphql, f"mutation {{ treeSize(root: {literal(DEPTH - 1)}) }}")
    assert (inside.status_code, inside.json()) == (200, {"data": {"treeSize": nodes(DEPTH - 1)}})
    over = post_graphql(graphql, f"mutation {{ treeSize(root: {literal(DEPTH + 1)}) }}")
    assert over.status_code == 200  # GraphQL over HTTP: a validation error in a JSON answer
    [error] = over.json()["errors"]
    assert error["message"] == (
        f"an argument value is nested deeper than the limit of {DEPTH} levels (counting the arguments object)"
    )
    deep = post_graphql(graphql, "{ mirror(tree: " + "[" * 10_000 + "]" * 10_000 + ") { label } }")
    assert deep.status_code == 200
    assert [e["message"] for e in deep.json()["errors"]] == [
        "Syntax Error: Document is nested too deeply. Parsing aborted."  # graphql-core's own bound
    ]
    default_targets["dev server"].assert_still_answers("tree_size")


def test_graphql_query_depth_and_aliases(graphql: httpx.Client, default_targets: dict[str, Target]) -> None:
    limits = LimitSettings()

    def selection(depth: int) -> str:
        return "label" if depth == 0 else "label children { " + selection(depth - 1) + " }"

    inside = post_graphql(
        graphql, f'{{ mirror(tree: {{label: "a"}}) {{ {selection(limits.graphql_max_depth - 1)} }} }}'
    )
    assert inside.json() == {"data": {"mirror": {"label": "a", "children": []}}}
    deep = post_graphql(graphql, f'{{ mirror(tree: {{label: "a"}}) {{ {selection(limits.graphql_max_depth)} }} }}')
    assert [e["message"] for e in deep.json()["errors"]] == [
        f"'anonymous' exceeds maximum operation depth of {limits.graphql_max_depth}"
    ]
    many = " ".join(f'a{i}: mirror(tree: {{label: "a"}}) {{ label }}' for i in range(limits.graphql_max_aliases + 1))
    aliased = post_graphql(graphql, f"{{ {many} }}")
    assert [e["message"] for e in aliased.json()["errors"]] == [
        f"{limits.graphql_max_aliases + 1} aliases found. Allowed: {limits.graphql_max_aliases}"
    ]
    default_targets["dev server"].assert_still_answers("tree_size")


def test_graphql_body_over_the_limit(default_targets: dict[str, Target]) -> None:
    target = default_targets["dev server"]
    head = "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
    status, body, _ = raw_exchange(target.urls["tree_size"], head, megabytes(4 * LIMIT))
    assert (status, json.loads(body)) == (
        413,
        graphql_error(f"the request body is larger than the limit of {LIMIT} bytes", "PAYLOAD_TOO_LARGE"),
    )
    target.assert_still_answers("tree_size")


# --- big bodies inside a raised limit: worked on off the event loop -------------------------------


def test_two_hundred_thousand_objects_inside_a_raised_limit() -> None:
    body = json.dumps({"items": [{"sku": "x"}] * 200_000}).encode()
    with targets(LimitSettings(max_body_bytes=4 * 1024 * 1024)) as found:
        for target in found.values():
            answer = target.client("count_items").post("/actions/count-items", content=body, headers=JSON)
            assert (answer.status_code, answer.json()) == (200, 200_000), target.name
            target.assert_still_answers("count_items")
        graphql = (
            found["dev server"]
            .client("count_items")
            .post(
                "/graphql",
                json={
                    "query": "mutation($i: [ItemInput!]!) { countItems(items: $i) }",
                    "variables": {"i": [{"sku": "x"}] * 150_000},
                },
            )
        )
        assert graphql.json() == {"data": {"countItems": 150_000}}
        found["dev server"].assert_still_answers("count_items")


def test_a_big_body_delays_no_scheduled_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """While 200,000 objects are validated and loaded (seconds of work), a schedule every 0.25 s
    keeps firing on time: the event loop only waits."""
    ticks: list[float] = []

    @action(triggers=(FixedRateTrigger(0.25),))
    def tick() -> None:
        ticks.append(time.monotonic())

    app = app_with(count_items, tick)
    # a project folder of its own: the single-scheduler lock is keyed on it
    app = dataclasses.replace(
        app, settings=Settings(project_dir=tmp_path, limits=LimitSettings(max_body_bytes=4 << 20))
    )
    body = json.dumps({"items": [{"sku": "x"}] * 200_000}).encode()
    caplog.set_level(logging.WARNING, logger="servey_faas")
    with serve(app, schedules=True) as url, httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as client:
        start = time.monotonic()
        answer = client.post("/actions/count-items", content=body, headers=JSON)
        seconds = time.monotonic() - start
    assert (answer.status_code, answer.json()) == (200, 200_000)
    assert [r.getMessage() for r in caplog.records if "missed" in r.getMessage()] == []
    during = [t for t in ticks if start <= t <= start + seconds]
    assert len(during) >= int(seconds / 0.25) - 1, (seconds, during)


# --- a big result of a small request: rendered off the event loop ---------------------------------

#: Items in the big result: marshalling and rendering them takes about a quarter of a second here.
BIG_RESULT_ITEMS = 400_000


@pytest.mark.parametrize("action_name", ["list_items", "list_items_async"])
def test_a_small_request_is_answered_while_a_big_result_is_rendered(action_name: str) -> None:
    """A small request asks for a big result. Once the action has returned, a small request is
    answered before the big answer's first byte: the big result is rendered off the event loop.
    Rendered on the loop, the small request would wait for the whole rendering."""
    returned = threading.Event()

    @action(triggers=(WEB_GET,))
    def list_items(count: int) -> list[Item]:
        items = [Item(sku=f"sku-{i}") for i in range(count)]
        returned.set()
        return items

    @action(triggers=(WEB_GET,))
    async def list_items_async(count: int) -> list[Item]:
        return list_items(count)

    @action(triggers=(WEB_GET,))
    def ping() -> str:
        return "pong"

    events: list[str] = []
    sizes: list[int] = []
    with serve(app_with(list_items, list_items_async, ping)) as url:

        def ask_for_the_big_result() -> None:
            with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as client:
                path = "/actions/" + action_name.replace("_", "-")
                with client.stream("GET", path, params={"count": BIG_RESULT_ITEMS}) as answer:
                    events.append("big answer started")  # its headers: the rendering is over
                    sizes.append(len(json.loads(answer.read())))

        big = threading.Thread(target=ask_for_the_big_result)
        with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as client:
            assert client.get("/actions/ping").json() == "pong"  # connected, the server warm
            big.start()
            assert returned.wait(CLIENT_TIMEOUT)
            assert client.get("/actions/ping").json() == "pong"
            events.append("small answered")
        big.join(CLIENT_TIMEOUT)
    assert sizes == [BIG_RESULT_ITEMS]
    assert events == ["small answered", "big answer started"]
