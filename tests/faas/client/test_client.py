"""GatewayClient and AsyncGatewayClient against the spec-checking fake gateway over loopback."""

from __future__ import annotations

import contextlib
import datetime
import json
import platform
import socket
import threading
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from servey_faas.faas import (
    AsyncGatewayClient,
    BasicAuth,
    ConflictError,
    FunctionDeployment,
    FunctionError,
    FunctionNamespace,
    GatewayClient,
    GatewayStatusError,
    GatewayUnauthorizedError,
    InvalidArgumentError,
    InvalidRequestError,
    NotFoundError,
    Secret,
)
from servey_faas.testing import serve_app
from servey_faas.testing.fake_gateway import FakeGateway

from ..conftest import PASSWORD, USER


def echo_app() -> Starlette:
    """A function that answers what it received."""

    async def echo(request: Request) -> Response:
        body = await request.body()
        return JSONResponse(
            {"method": request.method, "path": request.url.path, "query": request.url.query,
             "body": body.decode(), "headers": {k: v for k, v in request.headers.items()}},
            headers={"X-Echo": "1"},
        )  # fmt: skip

    async def fail(request: Request) -> Response:
        return JSONResponse({"error": "boom"}, 500)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(routes=[Route("/fail", fail, methods=methods), Route("/{rest:path}", echo, methods=methods)])


def test_info(client: GatewayClient) -> None:
    info = client.info()
    assert info.provider is not None and info.provider.provider == "fake-provider"
    assert info.version is not None and info.version.release == "0.27.0"


def test_function_lifecycle_and_namespace_placement(client: GatewayClient, gateway: FakeGateway) -> None:
    spec = FunctionDeployment("echo-fn", "img:1", namespace="openfaas-fn", env_vars={"exec_timeout": "30s"},
                              annotations={"topic": "cron-function", "schedule": "*/5 * * * *"})  # fmt: skip
    assert client.deploy_function(spec) == 202
    # CE answers 400, not 409, for an existing function (docs/openfaas.md#routes)
    with pytest.raises(InvalidRequestError) as exists:
        client.deploy_function(spec)
    assert exists.value.body == "function echo-fn already exists"
    [status] = client.list_functions("openfaas-fn")
    assert (status.name, status.image, status.env_vars, status.annotations) == (
        "echo-fn", "img:1", {"exec_timeout": "30s"}, {"topic": "cron-function", "schedule": "*/5 * * * *"})  # fmt: skip
    assert status.created_at is not None
    assert client.get_function("echo-fn", "openfaas-fn").image == "img:1"
    client.update_function(FunctionDeployment("echo-fn", "img:2", namespace="openfaas-fn"))
    fresh = client.get_function("echo-fn", "openfaas-fn")
    assert fresh.image == "img:2" and fresh.annotations is None  # PUT replaced the whole spec
    client.scale_function("echo-fn", 9, "openfaas-fn")
    assert client.get_function("echo-fn", "openfaas-fn").replicas == 5  # CE clamps to [1, 5]
    client.delete_function("echo-fn", "openfaas-fn")
    with pytest.raises(NotFoundError):
        client.get_function("echo-fn", "openfaas-fn")
    with pytest.raises(NotFoundError):
        client.delete_function("echo-fn", "openfaas-fn")

    # GET: namespace in the query string; POST/PUT/DELETE: in the body (``docs/openfaas.md#passing-namespaces``).
    get = next(r for r in gateway.requests if r.method == "GET" and r.path == "/system/function/echo-fn")
    assert dict(get.query) == {"namespace": "openfaas-fn"}
    delete = next(r for r in gateway.requests if r.method == "DELETE")
    assert json.loads(delete.body) == {"functionName": "echo-fn", "namespace": "openfaas-fn"} and not delete.query
    scale = next(r for r in gateway.requests if r.path == "/system/scale-function/echo-fn")
    assert json.loads(scale.body) == {"serviceName": "echo-fn", "replicas": 9, "namespace": "openfaas-fn"}


def test_update_of_missing_function_is_not_found(client: GatewayClient) -> None:
    with pytest.raises(NotFoundError) as caught:
        client.update_function(FunctionDeployment("ghost", "img:1"))
    assert caught.value.status_code == 404 and "not found" in caught.value.body


def test_deploy_with_missing_secret_is_a_bad_request(client: GatewayClient) -> None:
    with pytest.raises(GatewayStatusError) as caught:
        client.deploy_function(FunctionDeployment("f", "img:1", secrets=("nope",)))
    assert caught.value.status_code == 400


def test_secrets(client: GatewayClient, gateway: FakeGateway) -> None:
    assert client.create_secret(Secret("api-key", value="v1")) == 201
    with pytest.raises(ConflictError):
        client.create_secret(Secret("api-key", value="v1"))
    client.update_secret(Secret("api-key", raw_value=b"\x00bin"))
    stored = gateway.secret_value("api-key")
    assert stored is not None and stored.raw_value == b"\x00bin"
    assert [s.name for s in client.list_secrets()] == ["api-key"]
    client.delete_secret("api-key")
    with pytest.raises(NotFoundError):
        client.delete_secret("api-key")
    assert client.list_secrets() == []


def test_namespaces(client: GatewayClient, gateway: FakeGateway) -> None:
    assert client.list_namespaces() == ["openfaas-fn"]
    with pytest.raises(GatewayStatusError) as caught:
        client.get_namespace("openfaas-fn")  # CE provider default: 501
    assert caught.value.status_code == 501
    gateway.enterprise_namespaces = True
    client.create_namespace(FunctionNamespace("team-a"))
    created = next(r for r in gateway.requests if r.method == "POST" and r.path == "/system/namespace/")
    assert json.loads(created.body) == {"name": "team-a", "labels": {"openfaas": "1"}, "annotations": {"openfaas": "1"}}
    assert client.get_namespace("team-a").labels == {"openfaas": "1"}
    client.delete_namespace("team-a")
    assert client.list_namespaces() == ["openfaas-fn"]


def test_basic_auth_is_required_on_system_routes(gateway_url: str) -> None:
    with GatewayClient(gateway_url, None, environ={}) as anonymous, pytest.raises(GatewayUnauthorizedError) as caught:
        anonymous.list_functions()
    assert caught.value.body == "invalid credentials"
    assert caught.value.headers["www-authenticate"] == 'Basic realm="Restricted"'


def test_saved_faas_cli_credentials_are_used(gateway_url: str, tmp_path: pytest.TempPathFactory) -> None:
    import base64

    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    (tmp_path / "config.yml").write_text(  # type: ignore[operator]
        f"auths:\n- gateway: {gateway_url}/\n  auth: basic\n  token: {token}\n- gateway: http://other\n  auth: oauth2\n"
        "  token: abc\n"
    )
    env = {"OPENFAAS_URL": gateway_url, "OPENFAAS_CONFIG": str(tmp_path)}
    with GatewayClient(environ=env) as c:
        assert isinstance(c.auth, BasicAuth) and c.auth.username == USER
        assert c.list_functions() == []


def test_logs_streamed_with_filters(client: GatewayClient, gateway: FakeGateway) -> None:
    client.deploy_function(FunctionDeployment("echo-fn", "img:1"))
    for i in range(4):
        gateway.add_log("echo-fn", f"line {i}\n")
    entries = list(client.logs("echo-fn", tail=2))
    assert [e.text for e in entries] == ["line 2\n", "line 3\n"]
    assert all(e.name == "echo-fn" and e.timestamp is not None for e in entries)
    since = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    assert list(client.logs("echo-fn", since=since)) == []
    request = [r for r in gateway.requests if r.path == "/system/logs"][-1]
    assert dict(request.query)["since"] == since.isoformat() and dict(request.query)["follow"] == "false"
    with pytest.raises(InvalidArgumentError):
        client.logs("echo-fn", since=datetime.datetime(2026, 1, 1))  # naive: rejected before sending


def test_logs_follow_yields_new_lines(client: GatewayClient, gateway: FakeGateway) -> None:
    client.deploy_function(FunctionDeployment("echo-fn", "img:1"))
    gateway.add_log("echo-fn", "first\n")
    stream = client.logs("echo-fn", follow=True)
    assert next(stream).text == "first\n"
    threading.Timer(0.05, gateway.add_log, args=("echo-fn", "second\n")).start()
    assert next(stream).text == "second\n"
    stream.close()  # type: ignore[attr-defined]


def test_logs_of_unknown_function(client: GatewayClient) -> None:
    with pytest.raises(GatewayStatusError) as caught:
        list(client.logs("ghost"))
    assert caught.value.status_code == 501


def test_invoke_sends_name_dot_namespace_path_query_and_call_id(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.attach("echo-fn", echo_app())
    response = client.invoke("echo-fn", {"a": 1}, path="/sub/path", query={"x": ["1", "2"]}, headers={"X-Mine": "y"})
    seen = response.json()
    assert (seen["method"], seen["path"], seen["query"], json.loads(seen["body"])) == (
        "POST", "/sub/path", "x=1&x=2", {"a": 1})  # fmt: skip
    assert seen["headers"]["x-mine"] == "y" and seen["headers"]["content-type"] == "application/json"
    sent = [r for r in gateway.requests if r.path.startswith("/function/")][-1]
    assert sent.path == "/function/echo-fn.openfaas-fn/sub/path"
    # Our own call id, forwarded and therefore not echoed by the gateway (``docs/openfaas.md#call-ids``); never gateway
    # credentials.
    assert seen["headers"]["x-call-id"] == sent.headers["x-call-id"] and "x-call-id" not in response.headers
    assert "authorization" not in sent.headers
    assert response.headers["x-echo"] == "1" and response.headers["x-served-by"].startswith("openfaas-ce/")


def test_invoke_get_with_raw_payload_and_own_call_id(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.attach("echo-fn", echo_app())
    response = client.invoke("echo-fn", b"raw", method="GET", call_id="call-1")
    assert response.json()["method"] == "GET" and response.json()["headers"]["x-call-id"] == "call-1"


def test_invoke_error_carries_status_body_and_origin(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.attach("echo-fn", echo_app())
    with pytest.raises(FunctionError) as caught:
        client.invoke("echo-fn", path="/fail")
    error = caught.value
    assert (error.status_code, json.loads(error.body), error.internal) == (500, {"error": "boom"}, None)
    assert error.function == "echo-fn.openfaas-fn" and not error.is_platform_error
    with pytest.raises(FunctionError) as caught:
        # unknown: 404, as some providers answer (others 503, docs/openfaas.md#responses-and-platform-errors)
        client.invoke("ghost")
    assert caught.value.status_code == 404 and caught.value.internal == "proxy" and caught.value.is_platform_error
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    gateway.attach("detached-fn", f"http://127.0.0.1:{port}")  # nothing listens there
    with pytest.raises(FunctionError) as caught:
        client.invoke("detached-fn")
    assert (caught.value.status_code, caught.value.body) == (500, "Can't reach service for: detached-fn.")
    client.deploy_function(FunctionDeployment("unattached-fn", "img:1"))
    unavailable = client.invoke("unattached-fn", raise_for_status=False)
    assert (unavailable.status_code, unavailable.text) == (503, "No endpoints available for: unattached-fn.\n")


def test_names_with_dots_are_refused(client: GatewayClient) -> None:
    with pytest.raises(InvalidArgumentError):
        client.invoke("a.b")
    with pytest.raises(InvalidArgumentError):
        client.scale_function("f", -1)


@contextlib.contextmanager
def callback_receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]], threading.Event]]:
    received: list[tuple[dict[str, str], bytes]] = []
    event = threading.Event()

    async def hook(request: Request) -> Response:
        received.append(({k: v for k, v in request.headers.items()}, await request.body()))
        event.set()
        return Response(status_code=204)

    with serve_app(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        yield f"{url}/hook", received, event


def test_invoke_async_queues_and_calls_back(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.attach("echo-fn", echo_app())
    with callback_receiver() as (url, received, event):
        call_id = client.invoke_async("echo-fn", {"n": 1}, callback_url=url)
        assert event.wait(10)
    queued = next(r for r in gateway.requests if r.path.startswith("/async-function/"))
    assert queued.path == "/async-function/echo-fn.openfaas-fn" and queued.headers["x-callback-url"] == url
    headers, body = received[0]
    assert headers["x-call-id"] == call_id and headers["x-function-status"] == "200"
    assert headers["x-function-name"] == "echo-fn.openfaas-fn" and json.loads(json.loads(body)["body"]) == {"n": 1}
    with pytest.raises(InvalidArgumentError):
        client.invoke_async("echo-fn", callback_url="/relative")


def test_invoke_async_without_queue_is_not_found(client: GatewayClient, gateway: FakeGateway) -> None:
    gateway.async_enabled = False
    with pytest.raises(NotFoundError) as caught:
        client.invoke_async("echo-fn")
    assert caught.value.status_code == 404


def test_transport_seam_runs_in_process() -> None:
    """``transport=`` takes any httpx transport, e.g. an in-process WSGI/ASGI app or a mock."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"name": "f", "image": "i", "createdAt": "0001-01-01T00:00:00Z"}])

    with GatewayClient("http://gw.invalid:8080", None, transport=httpx.MockTransport(handler), environ={}) as c:
        assert [f.name for f in c.list_functions("team-a")] == ["f"]
    assert str(seen[0].url) == "http://gw.invalid:8080/system/functions?namespace=team-a"
    assert seen[0].headers["user-agent"].startswith("servey-faas/")


def recording_gateway(
    seen: list[httpx.Request], *, token_status: int = 200, call_id: str | None = None
) -> httpx.MockTransport:
    """A gateway in a MockTransport: ``/oauth/token`` answers ``token_status`` (a function token on
    200), ``/async-function`` 202 with ``call_id`` as its ``X-Call-Id`` (if any), other calls 200."""

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/oauth/token":
            if token_status != 200:
                return httpx.Response(token_status, text="404 page not found\n")
            return httpx.Response(200, json={"access_token": "fn-token", "token_type": "Bearer", "expires_in": 60})
        if request.url.path.startswith("/async-function/"):
            return httpx.Response(202, headers={"X-Call-Id": call_id} if call_id else {})
        return httpx.Response(200, json="ok")

    return httpx.MockTransport(handler)


class StaticSource:
    def token(self) -> str:
        return "service-account-token"


def test_invoke_carries_the_end_users_token() -> None:
    seen: list[httpx.Request] = []
    with GatewayClient("http://gw.invalid:8080", None, transport=recording_gateway(seen), environ={}) as c:
        c.invoke("orders", {}, token="user.jwt.sig")
        c.invoke_async("orders", {}, token="user.jwt.sig")
        c.invoke("orders", {})
    assert [r.headers.get("authorization") for r in seen] == ["Bearer user.jwt.sig", "Bearer user.jwt.sig", None]
    assert not any("x-servey-authorization" in r.headers for r in seen)


def test_with_function_auth_the_end_users_token_moves_aside_for_the_function_token() -> None:
    seen: list[httpx.Request] = []
    transport = recording_gateway(seen)
    with GatewayClient("http://gw.invalid:8080", None, function_auth=True, function_token_source=StaticSource(),
                       transport=transport, environ={}) as c:  # fmt: skip
        c.invoke("orders", {}, token="user.jwt.sig")
    call = next(r for r in seen if r.url.path.startswith("/function/"))
    assert call.headers["authorization"] == "Bearer fn-token"
    assert call.headers["x-servey-authorization"] == "Bearer user.jwt.sig"


@pytest.mark.parametrize("token", ["", "Bearer abc", "two words", "a\nb"])
def test_a_token_must_be_the_bare_bearer_token(token: str) -> None:
    with GatewayClient("http://gw.invalid:8080", None, transport=recording_gateway([]), environ={}) as c:
        with pytest.raises(InvalidArgumentError, match="bearer token itself"):
            c.invoke("orders", {}, token=token)


def test_invoke_async_returns_the_call_id_the_gateway_answered() -> None:
    seen: list[httpx.Request] = []
    with GatewayClient("http://gw.invalid:8080", None, transport=recording_gateway(seen, call_id="gw-7"),
                       environ={}) as c:  # fmt: skip
        assert c.invoke_async("orders", {}) == "gw-7"
    with GatewayClient("http://gw.invalid:8080", None, transport=recording_gateway(seen), environ={}) as c:
        sent = c.invoke_async("orders", {})
    assert sent == seen[-1].headers["x-call-id"]  # a gateway that echoes nothing: the id we sent


def test_function_auth_against_a_gateway_without_iam_says_so() -> None:
    from servey_faas.faas import IamNotAvailableError

    with GatewayClient("http://gw.invalid:8080", None, function_auth=True, function_token_source=StaticSource(),
                       transport=recording_gateway([], token_status=404), environ={}) as c:  # fmt: skip
        with pytest.raises(IamNotAvailableError) as caught:
            c.invoke("orders", {})
    message = str(caught.value)
    assert "/oauth/token answered 404" in message and "no OpenFaaS IAM" in message
    assert "OpenFaaS Enterprise" in message and "--function-auth" in message
    assert isinstance(caught.value, NotFoundError)


@pytest.mark.anyio
async def test_the_async_client_places_tokens_and_reads_call_ids_alike() -> None:
    seen: list[httpx.Request] = []
    async with AsyncGatewayClient("http://gw.invalid:8080", None, transport=recording_gateway(seen, call_id="gw-8"),
                                  environ={}) as c:  # fmt: skip
        await c.invoke("orders", {}, token="user.jwt.sig")
        assert await c.invoke_async("orders", {}, token="user.jwt.sig") == "gw-8"
    assert [r.headers["authorization"] for r in seen] == ["Bearer user.jwt.sig"] * 2


@pytest.mark.anyio
async def test_async_client_against_the_fake_gateway(gateway_url: str, gateway: FakeGateway) -> None:
    gateway.attach("echo-fn", echo_app())
    async with AsyncGatewayClient(gateway_url, BasicAuth(USER, PASSWORD), environ={}) as c:
        assert (await c.info()).arch == platform.machine()
        await c.create_secret(Secret("k", value="v"))
        assert [f.name for f in await c.list_functions()] == ["echo-fn"]
        gateway.add_log("echo-fn", "hello\n")
        assert [e.text async for e in c.logs("echo-fn")] == ["hello\n"]
        response = await c.invoke("echo-fn", "text", query={"q": "1"})
        assert response.json()["body"] == "text" and response.json()["query"] == "q=1"
        assert await c.invoke_async("echo-fn", call_id="abc") == "abc"
        with pytest.raises(NotFoundError):
            await c.update_function(FunctionDeployment("ghost", "img"))
    assert gateway.wait_idle()


def test_context_managers_close_connections(gateway_url: str) -> None:
    with GatewayClient(gateway_url, BasicAuth(USER, PASSWORD), environ={}) as c:
        c.info()
    assert c._http.is_closed


@pytest.mark.anyio
async def test_async_context_manager_closes_connections(gateway_url: str) -> None:
    async with AsyncGatewayClient(gateway_url, BasicAuth(USER, PASSWORD), environ={}) as c:
        await c.info()
    assert c._http.is_closed
