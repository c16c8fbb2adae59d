"""The API router's REST path over real processes: the router's build context started as
``python index.py``, each action's function as its own process behind a spec-checking fake gateway
on loopback. REST requests are forwarded as they came and answered by the function; the router's
own answers (404, 405, 413, 502, 504) are those of the full router app; GraphQL is built on first
use; the REST path imports neither the actions nor GraphQL."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import pytest

from servey_faas.faas.deploy.packager import BuildOptions, BuildResult, build
from servey_faas.testing.fake_gateway import FakeGateway

from ..support import FunctionProcess, function_process, load_app, write_project

PACKAGE = "svf_router_proxy_actions"
SECRET = "p" * 32
#: The request body limit of both routers (SERVEY_MAX_BODY_BYTES), small enough to pass in a test.
MAX_BODY = 200

ACTIONS = '''
    """Actions of the router proxy tests."""

    import asyncio
    from dataclasses import dataclass

    from servey_faas import (
        WEB_GET, Authorization, ETagCacheControl, ScopeAccessControl, TtlCacheControl, WebTrigger, action,
    )


    @dataclass(frozen=True)
    class Point:
        x: int
        y: int


    @action(triggers=(WEB_GET,))
    def greet(name: str, punctuation: str = "!", tags: list[str] | None = None) -> str:
        """Greet someone."""
        return f"Hello {name}{punctuation}" + (f" {tags}" if tags else "")


    @action(triggers=(WebTrigger("POST", "/points/{dx}"),))
    def move(dx: int, point: Point) -> Point:
        """Move a point right by dx."""
        return Point(point.x + dx, point.y)


    @action(triggers=(WebTrigger("PUT", "/notes/{note_id}"),))
    def put_note(note_id: str, text: str) -> str:
        """Store a note."""
        return f"{note_id}={text}"


    @action(triggers=(WebTrigger("DELETE", "/notes/{note_id}"),))
    def delete_note(note_id: str) -> str:
        """Delete a note."""
        return f"deleted {note_id}"


    @action(triggers=(WebTrigger("GET", "/whoami"),), access_control=ScopeAccessControl("orders:read"))
    def whoami(auth: Authorization) -> str:
        """The caller."""
        return f"{auth.subject_id} ({' '.join(sorted(auth.scopes))})"


    @action(triggers=(WEB_GET,), cache_control=(TtlCacheControl(60), ETagCacheControl()))
    def catalog() -> list[str]:
        """Cached."""
        return ["tea", "coffee"]


    @action(triggers=(WEB_GET,), timeout=1)
    async def nap(seconds: float) -> str:
        """Sleep, then answer."""
        await asyncio.sleep(seconds)
        return "rested"
'''


@dataclass
class Deployed:
    """The functions behind ``gateway`` (at ``gateway_url``), and the router's build context."""

    gateway: FakeGateway
    gateway_url: str
    router: Path
    functions: dict[str, FunctionProcess]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    project = write_project(tmp_path_factory.mktemp("proxy"), PACKAGE, ACTIONS)
    app = load_app(project, JWT_SECRET_KEY=SECRET)
    return build(app, BuildOptions(output_dir=project.root / "serverless"))


@pytest.fixture(scope="module")
def deployed(built: BuildResult) -> Iterator[Deployed]:
    """Every action's function as a process, attached to a fake gateway on loopback."""
    contexts = {f.name: f.context for f in built.functions}
    environ = {"JWT_SECRET_KEY": SECRET, "SERVEY_MAX_BODY_BYTES": str(MAX_BODY)}
    gateway = FakeGateway()
    with gateway.serve() as url, ExitStack() as stack:
        functions = {
            name: stack.enter_context(function_process(path, environ))
            for name, path in contexts.items()
            if name != "api"
        }
        for name, process in functions.items():
            gateway.attach(name, process.url)
        yield Deployed(gateway, url, contexts["api"], functions)
    assert gateway.violations == []


@pytest.fixture
def router(deployed: Deployed) -> Iterator[FunctionProcess]:
    """The router in gateway mode: REST forwarded, GraphQL built on first use."""
    with function_process(deployed.router, _router_env(OPENFAAS_URL=deployed.gateway_url)) as process:
        yield process


@pytest.fixture(scope="module")
def reference(built: BuildResult) -> Iterator[FunctionProcess]:
    """The same build context as the full router app running the actions itself: the answers a
    router built from the whole app gives."""
    context = next(f.context for f in built.functions if f.name == "api")
    with function_process(context, _router_env(SERVEY_ROUTER_MODE="in-process")) as process:
        yield process


def _router_env(**extra: str) -> dict[str, str]:
    return {"JWT_SECRET_KEY": SECRET, "SERVEY_MAX_BODY_BYTES": str(MAX_BODY), **extra}


def request(method: str, target: str, body: bytes | None = None, **headers: str) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: x", "Connection: close"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def json_request(method: str, target: str, value: object, **headers: str) -> bytes:
    return request(method, target, json.dumps(value).encode(), Content_Type="application/json", **headers)


def token(subject: str, scope: str = "orders:read") -> str:
    return jwt.encode({"sub": subject, "scope": scope, "exp": int(time.time()) + 300}, SECRET, algorithm="HS256")


#: The headers the dev server's answers carry that a client reads (``date`` differs by the second).
COMPARED = ("content-type", "content-length", "cache-control", "etag", "vary", "www-authenticate", "expires")


def same_answer(router: FunctionProcess, reference: FunctionProcess, raw: bytes) -> tuple[int, bytes]:
    """Send ``raw`` to both; assert the same status, body and headers (``Expires`` to the second:
    both are computed from the clock); return status and body."""
    status, headers, body = router.raw(raw)
    want_status, want_headers, want_body = reference.raw(raw)
    assert (status, body) == (want_status, want_body), raw
    for name in COMPARED:
        if name == "expires" and name in want_headers:
            assert name in headers
            continue
        assert headers.get(name) == want_headers.get(name), name
    return status, body


def forwarded(gateway: FakeGateway) -> list[tuple[str, str, tuple[tuple[str, str], ...], bytes]]:
    return [(r.method, r.path, r.query, r.body) for r in gateway.requests if r.path.startswith("/function/")]


def test_rest_requests_are_forwarded_as_they_came(
    deployed: Deployed, router: FunctionProcess, reference: FunctionProcess
) -> None:
    gateway = deployed.gateway
    gateway.requests.clear()
    get = request("GET", "/actions/greet?name=Ann&punctuation=%3F&tags=a&tags=b")
    assert same_answer(router, reference, get) == (200, b"\"Hello Ann? ['a', 'b']\"")
    post = json_request("POST", "/points/3", {"point": {"x": 1, "y": 2}})
    assert same_answer(router, reference, post) == (200, b'{"x":4,"y":2}')
    put = json_request("PUT", "/notes/n%201", {"text": "hi"})
    assert same_answer(router, reference, put) == (200, b'"n 1=hi"')
    assert same_answer(router, reference, request("DELETE", "/notes/n1")) == (200, b'"deleted n1"')
    head_status, head_headers, head_body = router.raw(request("HEAD", "/actions/greet?name=Ann"))
    assert (head_status, head_body, head_headers["content-length"]) == (200, b"", str(len(b'"Hello Ann!"')))
    assert forwarded(gateway) == [
        (
            "GET",
            "/function/greet.openfaas-fn/actions/greet",
            (("name", "Ann"), ("punctuation", "?"), ("tags", "a"), ("tags", "b")),
            b"",
        ),
        ("POST", "/function/move.openfaas-fn/points/3", (), b'{"point": {"x": 1, "y": 2}}'),
        ("PUT", "/function/put-note.openfaas-fn/notes/n 1", (), b'{"text": "hi"}'),
        ("DELETE", "/function/delete-note.openfaas-fn/notes/n1", (), b""),
        ("GET", "/function/greet.openfaas-fn/actions/greet", (("name", "Ann"),), b""),  # HEAD: its GET
    ]
    # the function validates: its 400 and 422 are the answers
    assert same_answer(router, reference, request("GET", "/actions/greet"))[0] == 422
    bad = request("POST", "/points/x", b'{"point": ', Content_Type="application/json")
    assert same_answer(router, reference, bad)[0] == 400
    wrong_type = request("PUT", "/notes/n1", b"text=hi", Content_Type="text/plain")
    assert same_answer(router, reference, wrong_type)[0] == 400


def test_the_callers_token_is_forwarded_and_the_function_decides(
    deployed: Deployed, router: FunctionProcess, reference: FunctionProcess
) -> None:
    deployed.gateway.requests.clear()
    assert same_answer(router, reference, request("GET", "/whoami"))[0] == 401
    garbled = request("GET", "/whoami", Authorization="Bearer not-a-jwt")
    assert same_answer(router, reference, garbled)[0] == 401
    bo = f"Bearer {token('bo', 'other')}"
    assert same_answer(router, reference, request("GET", "/whoami", Authorization=bo))[0] == 403
    ann = f"Bearer {token('ann')}"
    assert same_answer(router, reference, request("GET", "/whoami", Authorization=ann)) == (
        200,
        b'"ann (orders:read)"',
    )
    calls = [r for r in deployed.gateway.requests if r.path == "/function/whoami.openfaas-fn/whoami"]
    assert [r.headers.get("authorization") for r in calls] == [None, "Bearer not-a-jwt", bo, ann]


def test_caching_headers_and_304_come_from_the_function(router: FunctionProcess, reference: FunctionProcess) -> None:
    status, headers, body = router.raw(request("GET", "/actions/catalog"))
    assert (status, body) == (200, b'["tea","coffee"]')
    assert headers["cache-control"] == "private, max-age=60" and headers["etag"].startswith('"')
    assert "x-call-id" not in headers and "x-duration-seconds" not in headers  # the gateway's own stay behind
    same_answer(router, reference, request("GET", "/actions/catalog"))
    not_modified = request("GET", "/actions/catalog", If_None_Match=headers["etag"])
    assert same_answer(router, reference, not_modified) == (304, b"")


def test_the_routers_own_answers_are_the_full_apps(
    deployed: Deployed, router: FunctionProcess, reference: FunctionProcess
) -> None:
    deployed.gateway.requests.clear()
    assert same_answer(router, reference, request("GET", "/nowhere")) == (
        404,
        b'{"error":"not_found","message":"Not Found"}',
    )
    status, headers, body = router.raw(request("POST", "/actions/greet", b"{}"))
    _, want_headers, want_body = reference.raw(request("POST", "/actions/greet", b"{}"))
    assert (status, body) == (405, want_body)
    # Starlette lists Allow from a set: the order differs between processes, the methods do not
    assert set(headers["allow"].split(", ")) == set(want_headers["allow"].split(", ")) == {"GET", "HEAD"}
    too_big = json_request("PUT", "/notes/n1", {"text": "x" * MAX_BODY})
    assert same_answer(router, reference, too_big) == (
        413,
        b'{"error":"payload_too_large","message":"the request body is larger than the limit of 200 bytes"}',
    )
    slow = request("GET", "/actions/nap?seconds=5")
    assert same_answer(router, reference, slow) == (
        504,
        b'{"error":"gateway_timeout","message":"action \'nap\' did not finish within its timeout of 1 s"}',
    )
    assert same_answer(router, reference, request("GET", "/_/ready")) == (200, b"OK")
    assert same_answer(router, reference, request("GET", "/openapi.json"))[0] == 200
    # none of these reached a function but the slow one, and the refused body never left the router
    assert [path for _, path, _, _ in forwarded(deployed.gateway)] == ["/function/nap.openfaas-fn/actions/nap"]


def test_an_unreachable_gateway_is_a_502_naming_it(built: BuildResult) -> None:
    from servey_faas.faas.gateway.processes import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    context = next(f.context for f in built.functions if f.name == "api")
    with function_process(context, _router_env(OPENFAAS_URL=closed)) as router:
        status, headers, body = router.raw(request("GET", "/actions/greet?name=x"))
    assert (status, headers["content-type"]) == (502, "application/json")
    answer = json.loads(body)
    assert answer["error"] == "bad_gateway"
    assert answer["message"].startswith(f"cannot reach the gateway at {closed} to call function greet: ")
    assert answer["message"].endswith("(the api router's OPENFAAS_URL, set by router_gateway when building)")


def test_graphql_is_served_on_first_use(router: FunctionProcess, reference: FunctionProcess) -> None:
    query = json_request("POST", "/graphql", {"query": '{ greet(name: "G") }'})
    assert same_answer(router, reference, query) == (200, b'{"data":{"greet":"Hello G!"}}')
    ann = f"Bearer {token('ann')}"
    whoami = json_request("POST", "/graphql", {"query": "{ whoami }"}, Authorization=ann)
    assert same_answer(router, reference, whoami) == (200, b'{"data":{"whoami":"ann (orders:read)"}}')
    again = json_request("POST", "/graphql", {"query": '{ greet(name: "H", punctuation: ".") }'})
    assert same_answer(router, reference, again) == (200, b'{"data":{"greet":"Hello H."}}')
    docs_status, _, docs = router.raw(request("GET", "/docs"))
    assert docs_status == 200 and b"swagger-ui" in docs


#: Runs the router's ``run()`` as ``index.py`` does, with ``serve_asgi`` replaced by one REST request
#: (then, with ``graphql`` in argv, one GraphQL request) sent to the app, and prints the modules then imported.
PROBE = textwrap.dedent(
    """
    import asyncio, json, sys
    sys.path.insert(1, "function")
    sys.modules.setdefault("httpx._main", None)
    import servey_faas.faas.runtime._main as main
    from servey_faas.faas.deploy.router import run

    def serve_asgi(app, environ):
        import httpx

        async def go():
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://router") as http:
                answers = [(await http.get("/actions/greet", params={"name": "Probe"})).json()]
                if "graphql" in sys.argv:
                    query = {"query": '{ greet(name: "Q") }'}
                    answers.append((await http.post("/graphql", json=query)).json())
                return answers

        print(json.dumps({"answers": asyncio.run(go()), "modules": sorted(sys.modules)}))

    main.serve_asgi = serve_asgi
    sys.exit(run("PACKAGE", schemas_file="schemas.json", openapi_file="openapi.json", routes_file="routes.json"))
    """
).replace("PACKAGE", PACKAGE)


def modules_after(context: Path, gateway_url: str, *argv: str) -> tuple[list[object], set[str]]:
    env = {"OPENFAAS_URL": gateway_url, "JWT_SECRET_KEY": SECRET, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], cwd=context, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    return printed["answers"], set(printed["modules"])


def heavy(modules: set[str]) -> set[str]:
    roots = {m.split(".")[0] for m in modules}
    return roots & {PACKAGE, "strawberry", "graphql", "schemey", "marshy", "jsonschema", "starlette", "rich"}


def test_the_rest_path_imports_no_action_graphql_or_schema_library(deployed: Deployed) -> None:
    answers, modules = modules_after(deployed.router, deployed.gateway_url)
    assert answers == ["Hello Probe!"]
    assert heavy(modules) == set()
    assert "servey_faas.faas.client.models" not in modules  # invoking parses no wire model
    answers, modules = modules_after(deployed.router, deployed.gateway_url, "graphql")
    assert answers == ["Hello Probe!", {"data": {"greet": "Hello Q!"}}]
    assert {PACKAGE, "strawberry", "graphql", "starlette"} <= heavy(modules)


# --- in-process: the proxy app over an ASGI transport -----------------------------------------------


def proxy_app(gateway: object, full: object, **options: object) -> object:
    from servey_faas.faas import AsyncGatewayClient
    from servey_faas.faas.deploy.proxy import ProxyRoute, ProxyRouter

    transport = httpx.ASGITransport(app=gateway)  # type: ignore[arg-type]
    client = AsyncGatewayClient("http://gateway.test", auth=None, transport=transport, environ={})
    routes = [ProxyRoute("GET", "/big", "big", "big", 5.0), ProxyRoute("POST", "/echo", "echo", "echo", 5.0)]
    return ProxyRouter(routes, client, full, max_body_bytes=10, **options)  # type: ignore[arg-type]


async def _function(scope: dict[str, object], receive: object, send: object) -> None:
    """A function answering ``/function/big...`` with 100 bytes, anything else with what it received."""
    body = b""
    while True:
        message = await receive()  # type: ignore[operator]
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = b"x" * 100 if "/big" in str(scope["path"]) else body
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": answer})  # type: ignore[operator]


@pytest.mark.anyio
async def test_the_full_app_is_built_once_and_a_failed_build_is_a_500(caplog: pytest.LogCaptureFixture) -> None:
    builds: list[int] = []

    def broken() -> object:
        builds.append(1)
        raise RuntimeError("no actions")

    app = proxy_app(_function, broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as http:  # type: ignore[arg-type]
        answers = [await http.post("/graphql", json={"query": "{ x }"}) for _ in range(3)]
        rest = await http.get("/big")
    assert [(a.status_code, a.content) for a in answers] == [
        (500, b'{"error":"internal_error","message":"internal server error"}')
    ] * 3
    assert builds == [1]
    assert "the api router's GraphQL and docs app cannot be built" in caplog.text
    assert (rest.status_code, rest.content) == (200, b"x" * 100)  # REST goes on without the full app


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


@pytest.mark.anyio
async def test_bodies_and_answers_are_bounded() -> None:
    app = proxy_app(_function, lambda: None, max_response_bytes=50)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as http:  # type: ignore[arg-type]
        echo = await http.post("/echo", content=b"0123456789")
        chunked = await http.post("/echo", content=chunks(b"012345", b"6789x"))  # no Content-Length
        big = await http.get("/big")
    assert (echo.status_code, echo.content) == (200, b"0123456789")
    assert (chunked.status_code, chunked.json()["error"]) == (413, "payload_too_large")
    assert big.status_code == 502
    assert big.json() == {
        "error": "bad_gateway",
        "message": "function big answered more than the router's limit of 50 bytes (SERVEY_ROUTER_MAX_RESPONSE_BYTES)",
    }


def test_a_routes_file_that_is_not_one_is_refused(tmp_path: Path) -> None:
    from servey_faas.errors import ConfigurationError
    from servey_faas.faas.deploy.proxy import ProxyRoute, read_routes

    good = tmp_path / "routes.json"
    good.write_text('{"routes": [{"method": "GET", "path": "/a/{x}", "action": "get_a", "timeout": 2}]}')
    assert read_routes(good, "shop-") == [ProxyRoute("GET", "/a/{x}", "get_a", "shop-get-a", 2.0)]
    for name, text, says in [
        ("missing.json", None, "cannot read the routes file"),
        ("broken.json", "{", "is not JSON"),
        ("shape.json", '{"routes": [{"method": "GET"}]}', "is not an object with a list of routes"),
        ("types.json", '{"routes": [{"method": 1, "path": "/", "action": "a", "timeout": 1}]}', "is not an object"),
    ]:
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        with pytest.raises(ConfigurationError, match=says):
            read_routes(path)


def test_a_client_of_an_http_gateway_loads_no_ca_bundle_and_trusts_no_certificate() -> None:
    """Building the router's client costs no certificate loading for an ``http://`` gateway; an
    ``https://`` one still gets httpx's verified default context."""
    import ssl

    from servey_faas.faas import AsyncGatewayClient

    def context(url: str) -> ssl.SSLContext:
        client = AsyncGatewayClient(url, auth=None, environ={})
        found: ssl.SSLContext = client._http._transport._pool._ssl_context  # type: ignore[attr-defined]
        return found

    plain, tls = context("http://gateway.test:8080"), context("https://gateway.test")
    assert plain.cert_store_stats()["x509_ca"] == 0
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert tls.cert_store_stats()["x509_ca"] > 0 and tls.verify_mode == ssl.CERT_REQUIRED
