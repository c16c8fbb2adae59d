"""FakeGateway is the local gateway's own routes over functions kept in memory: both answer the
same requests alike; the fake's functions are in-process ASGI or WSGI apps, or URLs."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from servey_faas.faas.gateway import BasicCredentials, Gateway, GatewayConfig
from servey_faas.testing import FakeGateway, serve_app

USER, PASSWORD = "admin", "s3cr3t-pw"
#: A bound on waits (a safety net for a hung test, not a performance threshold).
WAIT = 30.0
Call = tuple[str, str, Any]


def ce_calls(context: Path) -> list[Call]:
    """Requests both gateways get, in order (each conforming to the gateway spec)."""
    echo = {"service": "echo", "image": context.as_uri(), "envProcess": "python index.py"}
    return [
        ("GET", "/healthz", None),
        ("GET", "/system/functions", None),
        ("GET", "/system/namespaces", None),
        ("GET", "/system/namespace/team-a", None),
        ("GET", "/system/function/ghost", None),
        ("PUT", "/system/functions", {**echo, "service": "ghost"}),
        ("POST", "/system/functions", {**echo, "secrets": ["missing"]}),
        ("POST", "/system/functions", {**echo, "namespace": "team-a"}),
        ("POST", "/system/functions", {**echo, "service": "Bad"}),
        ("POST", "/system/functions", echo),
        ("POST", "/system/functions", echo),
        ("POST", "/system/scale-function/ghost", {"serviceName": "ghost", "replicas": 2}),
        ("DELETE", "/system/functions", {"functionName": "echo"}),
        ("DELETE", "/system/functions", {"functionName": "echo"}),
        ("POST", "/system/secrets", {"name": "api-key", "value": "v1"}),
        ("POST", "/system/secrets", {"name": "api-key", "value": "v1"}),
        ("PUT", "/system/secrets", {"name": "api-key", "value": "v2"}),
        ("GET", "/system/secrets", None),
        ("DELETE", "/system/secrets", {"name": "api-key"}),
        ("DELETE", "/system/secrets", {"name": "api-key"}),
        ("GET", "/system/logs?name=ghost", None),
        ("POST", "/function/ghost", b"x"),
        ("POST", "/async-function/ghost", b"x" * 256_001),
    ]


def answers(url: str, calls: Iterable[Call]) -> list[tuple[int, str, str | None, str | None]]:
    """``(status, body, WWW-Authenticate, X-OpenFaaS-Internal)`` of an anonymous ``GET
    /system/functions``, then of each call with basic auth."""
    with (
        httpx.Client(base_url=url, timeout=WAIT) as anonymous,
        httpx.Client(base_url=url, auth=(USER, PASSWORD), timeout=WAIT) as http,
    ):
        responses = [anonymous.get("/system/functions")]
        for method, path, body in calls:
            data = {"content": body} if isinstance(body, bytes) else {"json": body}
            responses.append(http.request(method, path, **data))
    return [
        (r.status_code, r.text, r.headers.get("www-authenticate"), r.headers.get("x-openfaas-internal"))
        for r in responses
    ]


def test_the_fake_and_the_local_gateway_answer_alike(tmp_path: Path) -> None:
    context = tmp_path / "echo"
    context.mkdir()
    (context / "index.py").write_text("import time\ntime.sleep(60)\n")
    calls = ce_calls(context)
    fake = FakeGateway(basic_auth=(USER, PASSWORD))
    with fake.serve() as url:
        from_fake = answers(url, calls)
    assert fake.violations == []
    local = Gateway(GatewayConfig(tmp_path / "state", BasicCredentials(USER, PASSWORD), stop_timeout=2.0))
    try:
        with serve_app(local.app) as url:
            from_local = answers(url, calls)
    finally:
        local.kill_all()
    assert from_fake == from_local
    functions = [401, 200, 200, 200, 501, 404, 404, 400, 400, 400, 202, 400, 404, 200, 404]
    secrets_logs_invocations = [201, 409, 200, 200, 204, 404, 501, 404, 500]
    assert [status for status, *_ in from_fake] == functions + secrets_logs_invocations
    assert from_fake[11][1] == "function echo already exists"  # CE: 400 for an existing function, not 409


def echo_asgi() -> Starlette:
    async def echo(request: Request) -> Response:
        return JSONResponse(
            {
                "body": (await request.body()).decode(),
                "call_id": request.headers.get("x-call-id"),
                "forwarded_for": request.headers.get("x-forwarded-for"),
            }
        )

    return Starlette(routes=[Route("/", echo, methods=["POST"])])


def echo_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    answer = {
        "body": body.decode(),
        "call_id": environ.get("HTTP_X_CALL_ID"),
        "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
        "thread": threading.current_thread().name,
    }
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(answer).encode()]


@pytest.fixture
def asgi_by_url() -> Iterator[str]:
    with serve_app(echo_asgi()) as url:
        yield url


def test_functions_are_asgi_or_wsgi_apps_or_urls(asgi_by_url: str) -> None:
    fake = FakeGateway()
    fake.attach("asgi-fn", echo_asgi())
    fake.attach("wsgi-fn", echo_wsgi)
    fake.attach("url-fn", asgi_by_url)
    with fake.serve() as url, httpx.Client(base_url=url, timeout=WAIT) as http:
        for name in ("asgi-fn", "wsgi-fn", "url-fn"):
            response = http.post(f"/function/{name}", content=b"payload")
            seen = response.json()
            assert (response.status_code, seen["body"]) == (200, "payload"), name
            assert seen["call_id"] == response.headers["x-call-id"] and seen["forwarded_for"].startswith("127.0.0.1:")
            assert response.headers["x-served-by"].startswith("openfaas-ce/")
        # a WSGI app runs on a worker thread, never on the gateway's event loop
        assert not http.post("/function/wsgi-fn").json()["thread"].startswith("uvicorn-test-server")
        gone = http.request("DELETE", "/system/functions", json={"functionName": "asgi-fn"})
        assert gone.status_code == 200 and fake.function("asgi-fn") is None
        fake.attach("asgi-fn", echo_asgi(), deploy=False)
        assert http.post("/function/asgi-fn").status_code == 404  # attached, but not deployed
    assert fake.violations == []


@pytest.fixture
def hook() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    async def receive(request: Request) -> Response:
        received.append(await request.body())
        return Response(status_code=204)

    with serve_app(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) as url:
        yield f"{url}/hook", received


@pytest.mark.anyio
async def test_without_a_lifespan_the_first_request_starts_it(hook: tuple[str, list[bytes]]) -> None:
    """As ``httpx.ASGITransport`` serves it: no lifespan, yet async jobs run and call back."""
    url, received = hook
    fake = FakeGateway()
    fake.attach("echo-fn", echo_asgi())
    transport = httpx.ASGITransport(app=fake)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        assert (await http.post("/function/echo-fn", content=b"sync")).json()["body"] == "sync"
        accepted = await http.post("/async-function/echo-fn", content=b"job", headers={"X-Callback-Url": url})
        assert accepted.status_code == 202
        deadline = time.monotonic() + WAIT
        while not fake.callbacks and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
    [callback] = fake.callbacks
    assert (callback.url, callback.status) == (url, 200)
    assert callback.headers["x-call-id"] == accepted.headers["x-call-id"]
    assert json.loads(callback.body)["body"] == "job" and received == [callback.body]
    assert fake.violations == []


def test_enterprise_namespaces_are_managed_when_turned_on() -> None:
    fake = FakeGateway(enterprise_namespaces=True)
    with fake.serve() as url, httpx.Client(base_url=url, timeout=WAIT) as http:
        team = {"name": "team-b", "labels": {"openfaas": "1"}, "annotations": {"openfaas": "1"}}
        assert http.post("/system/namespace/", json=team).status_code == 201
        assert http.post("/system/namespace/", json=team).status_code == 409
        assert http.get("/system/namespace/team-b").json() == team
        deployed = http.post("/system/functions", json={"service": "f", "image": "img:1", "namespace": "team-b"})
        assert deployed.status_code == 202 and fake.function("f", "team-b") is not None
        assert http.request("DELETE", "/system/namespace/team-b", json=team).status_code == 202
        assert http.get("/system/namespaces").json() == ["openfaas-fn"]
        assert http.get("/system/namespace/team-b").status_code == 404
    assert fake.violations == []


def exchange(http: httpx.Client, subject: str, **fields: str) -> httpx.Response:
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": subject,
        "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
        **fields,
    }
    return http.post("/oauth/token", data=form)


def test_with_iam_and_no_basic_auth_the_system_routes_need_a_gateway_token() -> None:
    fake = FakeGateway(iam=True, subject_tokens={"idp-token"})
    with fake.serve() as url, httpx.Client(base_url=url, timeout=WAIT) as http:
        denied = http.get("/system/functions")
        assert (denied.status_code, denied.text) == (401, "invalid token")
        assert denied.headers["www-authenticate"] == 'Bearer realm="IAM"'
        gateway_token = exchange(http, "idp-token").json()["access_token"]
        function_token = exchange(http, gateway_token, scope="function").json()["access_token"]
        assert http.get("/system/functions", headers={"Authorization": f"Bearer {gateway_token}"}).json() == []
        assert http.get("/system/functions", headers={"Authorization": f"Bearer {function_token}"}).status_code == 401
        assert http.get("/.well-known/jwks.json").json()["keys"][0]["alg"] == "ES256"
        fake.revoke_tokens()
        assert http.get("/system/functions", headers={"Authorization": f"Bearer {gateway_token}"}).status_code == 401
    assert fake.violations == []
    assert [form["subject_token"] for form in fake.exchanges] == [["idp-token"], [gateway_token]]


def test_without_iam_the_iam_routes_are_not_found() -> None:
    fake = FakeGateway(basic_auth=(USER, PASSWORD))
    with fake.serve() as url, httpx.Client(base_url=url, timeout=WAIT) as http:
        assert exchange(http, PASSWORD).status_code == 404  # CE has no IAM endpoints
        assert http.get("/.well-known/openid-configuration").status_code == 404
    assert fake.exchanges == []
