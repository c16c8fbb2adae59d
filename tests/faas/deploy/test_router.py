"""The API router: REST and GraphQL of the whole app, each call forwarded to the action's own
function through the gateway (a spec-checking fake gateway): REST requests as they came (the function
validates and decides access), GraphQL calls with validation and access control local."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from servey_faas import ScopeAccessControl, WebTrigger, action
from servey_faas.app import ServeyApp
from servey_faas.authorization import Authorization
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ConfigurationError
from servey_faas.faas import AsyncGatewayClient, FunctionDeployment, GatewayClient, ServiceAccountTokenSource, TokenAuth
from servey_faas.faas.deploy.packager import BuildResult
from servey_faas.faas.deploy.router import IN_PROCESS_MODE, RemoteInvoker, remote_app, router_app, run
from servey_faas.faas.runtime import function_app
from servey_faas.naming import function_name
from servey_faas.settings import Settings
from servey_faas.testing.fake_gateway import FakeGateway

from ..conftest import TEST_PACKAGE
from ..support import function_process

pytestmark = pytest.mark.anyio
SECRET = "r" * 32


def attach_functions(gateway: FakeGateway, app: ServeyApp, *, function_auth: bool = False, deploy: bool = True) -> None:
    """Each action's own function app, served by the gateway as ``/function/<name>``."""
    for name in app.invokers:
        single = ServeyApp.from_registry(ActionRegistry([app.actions[name]]), app.settings)
        gateway.attach(function_name(name), function_app(single, function_auth=function_auth), deploy=deploy)


@pytest.fixture
def gateway(demo_app: ServeyApp) -> Iterator[FakeGateway]:
    fake = FakeGateway()
    attach_functions(fake, demo_app)
    yield fake
    assert fake.violations == []


@pytest.fixture
async def router(demo_app: ServeyApp, gateway: FakeGateway) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=gateway)
    async with AsyncGatewayClient("http://gateway.test", auth=None, transport=transport, environ={}) as client:
        app = router_app(demo_app, client=client)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as http:
            yield http


def invocations(gateway: FakeGateway) -> list[tuple[str, str, bytes]]:
    return [(r.method, r.path, r.body) for r in gateway.requests if r.path.startswith("/function/")]


async def test_rest_calls_go_through_the_actions_function(router: httpx.AsyncClient, gateway: FakeGateway) -> None:
    response = await router.get("/actions/say-hello", params={"name": "World"})
    assert (response.status_code, response.json()) == (200, "Hello World!")
    assert invocations(gateway) == [("GET", "/function/say-hello.openfaas-fn/actions/say-hello", b"")]
    call = next(r for r in gateway.requests if r.path.startswith("/function/"))
    assert call.query == (("name", "World"),) and "x-call-id" in call.headers
    assert "authorization" not in call.headers


async def test_nested_results_come_back_as_the_declared_type(router: httpx.AsyncClient, demo_app: ServeyApp) -> None:
    order = {"customer": "ada", "lines": [{"sku": "tea", "quantity": 2, "unit_price": 3.5}], "deliver_on": "2026-12-01"}
    response = await router.post("/actions/quote-order", json={"order": order})
    assert response.status_code == 200
    assert response.json() == await demo_app.invoker("quote_order").invoke({"order": order})
    path_params = await router.get("/orders/42/lines/3")
    assert (path_params.status_code, path_params.json()) == (200, "order 42, line 3")


async def test_graphql_resolvers_call_the_functions(router: httpx.AsyncClient, gateway: FakeGateway) -> None:
    response = await router.post(
        "/graphql", json={"query": '{ sayHello(name: "Gql") currentTemperature(city: "Oslo") { station celsius } }'}
    )
    assert response.json() == {
        "data": {"sayHello": "Hello Gql!", "currentTemperature": {"station": "OSLO", "celsius": 4.0}}
    }
    assert sorted(path for _, path, _ in invocations(gateway)) == [
        "/function/current-temperature.openfaas-fn",
        "/function/say-hello.openfaas-fn",
    ]


async def test_invalid_rest_calls_are_refused_by_the_function(router: httpx.AsyncClient, gateway: FakeGateway) -> None:
    response = await router.get("/actions/say-hello")
    assert response.status_code == 422
    assert response.json()["errors"] == [{"location": ["query", "name"], "message": "field required"}]
    bad_body = await router.put("/actions/to-fahrenheit", json={"reading": {"station": "X", "celsius": -300}})
    assert bad_body.status_code == 422
    assert [path for _, path, _ in invocations(gateway)] == [
        "/function/say-hello.openfaas-fn/actions/say-hello",
        "/function/to-fahrenheit.openfaas-fn/actions/to-fahrenheit",
    ]


async def test_openapi_is_served_by_the_router(router: httpx.AsyncClient) -> None:
    document = (await router.get("/openapi.json")).json()
    assert "/actions/say-hello" in document["paths"]


async def test_a_failing_function_is_a_500_and_an_unavailable_one_a_502(
    demo_app: ServeyApp, gateway: FakeGateway
) -> None:
    path = "/function/say-hello.openfaas-fn/actions/say-hello"
    gateway.inject("GET", path, 500, body=b'{"error":"internal_error"}')
    gateway.inject("GET", path, 503, headers={"X-OpenFaaS-Internal": "proxy"},
                   body=b"No endpoints available for: say-hello.\n")  # fmt: skip
    transport = httpx.ASGITransport(app=gateway)
    async with AsyncGatewayClient("http://gateway.test", auth=None, transport=transport, environ={}) as client:
        app = router_app(demo_app, client=client)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as http:
            failed = await http.get("/actions/say-hello", params={"name": "x"})
            unavailable = await http.get("/actions/say-hello", params={"name": "x"})
    assert (failed.status_code, failed.json()["error"]) == (500, "internal_error")
    assert (unavailable.status_code, unavailable.json()["error"]) == (502, "bad_gateway")
    assert (
        "function say-hello is not available through the gateway at http://gateway.test"
        in (unavailable.json()["message"])
    )


async def test_an_unreachable_gateway_is_a_502_naming_it(demo_app: ServeyApp) -> None:
    from servey_faas.faas.gateway.processes import free_port

    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with AsyncGatewayClient(closed, auth=None, environ={}, timeout=5) as client:
        app = router_app(demo_app, client=client)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as http:
            rest = await http.get("/actions/say-hello", params={"name": "x"})
            graphql = await http.post("/graphql", json={"query": '{ sayHello(name: "x") }'})
    assert rest.status_code == 502 and rest.headers["content-type"] == "application/json"
    body = rest.json()
    assert body["error"] == "bad_gateway" and f"cannot reach the gateway at {closed}" in body["message"]
    assert "router_gateway" in body["message"]
    [error] = graphql.json()["errors"]
    assert error["extensions"]["code"] == "BAD_GATEWAY" and closed in error["message"]


def test_remote_app_names_functions_as_the_packager(demo_app: ServeyApp) -> None:
    with GatewayClient("http://gateway.test", auth=None, environ={}) as client:
        app = remote_app(demo_app, client, prefix="shop-", namespace="staging")
        invoker = app.invokers["say_hello"]
        assert isinstance(invoker, RemoteInvoker)
        assert (invoker.function, invoker.namespace) == ("shop-say-hello", "staging")
        assert repr(invoker) == "RemoteInvoker('say_hello', function='shop-say-hello', namespace='staging')"
        assert set(app.invokers) == set(demo_app.invokers)


def test_sync_invocation_through_a_sync_client(demo_app: ServeyApp, gateway: FakeGateway) -> None:
    with gateway.serve() as url, GatewayClient(url, auth=None, environ={}) as client:
        invoker = remote_app(demo_app, client).invokers["say_hello"]
        assert invoker.invoke_sync({"name": "Sync"}) == "Hello Sync!"
    async_invoker = remote_app(demo_app, AsyncGatewayClient("http://x", auth=None, environ={})).invokers["say_hello"]
    with pytest.raises(ConfigurationError, match="has an AsyncGatewayClient: use invoke"):
        async_invoker.invoke_sync({"name": "x"})


async def test_in_process_mode_runs_the_actions_in_the_router(demo_app: ServeyApp) -> None:
    app = router_app(demo_app, mode=IN_PROCESS_MODE)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://router") as http:
        response = await http.get("/actions/say-hello", params={"name": "Local"})
    assert (response.status_code, response.json()) == (200, "Hello Local!")
    with pytest.raises(ConfigurationError, match="SERVEY_ROUTER_MODE must be 'gateway' or 'in-process', not 'x'"):
        router_app(demo_app, mode="x")


def protected_app() -> ServeyApp:
    @action(triggers=(WebTrigger("GET", "/whoami"),), access_control=ScopeAccessControl("orders:read"))
    def whoami(auth: Authorization) -> str:
        return f"{auth.subject_id} ({' '.join(sorted(auth.scopes))})"

    settings = Settings.load({"JWT_SECRET_KEY": SECRET}, Path("/nonexistent"))
    return ServeyApp.from_registry(ActionRegistry([whoami.__servey_action__]), settings)  # type: ignore[attr-defined]


def user_token(subject: str, scope: str = "orders:read") -> str:
    return jwt.encode({"sub": subject, "scope": scope, "exp": int(time.time()) + 300}, SECRET, algorithm="HS256")


async def test_function_auth_scoped_tokens_and_the_callers_token(tmp_path: Path) -> None:
    """With function auth the router exchanges its service account token for a token scoped to
    each function (``docs/openfaas.md#gateway-tokens-and-function-tokens``) and sends the end user's token beside it;
    the function (behind the watchdog's jwt_auth, ``docs/openfaas.md#token-checks-in-of-watchdog``) verifies the end
    user's token itself."""
    (tmp_path / "openfaas-token").write_text("service-account-token\n")
    app = protected_app()
    ann = user_token("ann")
    gateway = FakeGateway(iam=True, subject_tokens={"service-account-token"})
    source = ServiceAccountTokenSource(tmp_path / "openfaas-token")
    with gateway.serve() as url:
        with GatewayClient(url, TokenAuth(f"{url}/oauth/token", source), environ={}) as admin:
            admin.deploy_function(FunctionDeployment("whoami", "fake/whoami:1", env_vars={"jwt_auth": "true"}))
        attach_functions(gateway, app, function_auth=True, deploy=False)
        env = {"OPENFAAS_URL": url, "token_mount_path": str(tmp_path)}
        served = router_app(app, function_auth=True, environ=env)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url="http://router") as http:
            anonymous = await http.get("/whoami")
            assert anonymous.status_code == 401  # decided by the function, whose 401 is not taken for the watchdog's
            ok = await http.get("/whoami", headers={"Authorization": f"Bearer {ann}"})
            assert (ok.status_code, ok.json()) == (200, "ann (orders:read)")
            forbidden = await http.get("/whoami", headers={"Authorization": f"Bearer {user_token('bo', 'x')}"})
            assert forbidden.status_code == 403
    calls = [r for r in gateway.requests if r.path.startswith("/function/")]
    assert len(calls) == 3
    assert "x-servey-authorization" not in calls[0].headers
    assert calls[1].headers["x-servey-authorization"] == f"Bearer {ann}"
    assert calls[1].headers["authorization"].startswith("Bearer ")  # the scoped function token
    assert calls[1].headers["authorization"] != f"Bearer {ann}"
    exchange = [r for r in gateway.requests if r.path == "/oauth/token" and b"scope=function" in r.body]
    assert len(exchange) == 1 and b"audience=openfaas-fn%3Awhoami" in exchange[0].body
    assert gateway.violations == []


def test_router_and_function_as_processes(test_build: BuildResult) -> None:
    """The router's build context started as a process, calling a function process through a
    gateway on loopback (``OPENFAAS_URL``), as deployed."""
    contexts = {f.action_name: f.context for f in test_build.functions}
    gateway = FakeGateway()
    with function_process(contexts["greet"]) as greet, gateway.serve() as url:
        gateway.attach("greet", greet.url)
        with function_process(contexts[None], {"OPENFAAS_URL": url}) as router:
            status, _, body = router.raw(
                b"GET /actions/greet?name=Router HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            assert (status, json.loads(body)) == (200, "Hello Router!")
            status, _, body = router.raw(graphql_request('{ greet(name: "G") }'))
            assert (status, json.loads(body)) == (200, {"data": {"greet": "Hello G!"}})
        with function_process(contexts[None], {"SERVEY_ROUTER_MODE": "in-process"}) as local:
            status, _, body = local.raw(get_request("/actions/report"))
            assert (status, json.loads(body)) == (200, "report")
    assert [r.path for r in gateway.requests] == [
        "/function/greet.openfaas-fn/actions/greet",
        "/function/greet.openfaas-fn",
    ]
    assert gateway.violations == []


def graphql_request(query: str) -> bytes:
    body = json.dumps({"query": query}).encode()
    head = f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


def get_request(target: str) -> bytes:
    return f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


def test_the_router_reads_its_schemas_and_openapi_from_its_build_context(
    test_build: BuildResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """index.py passes schemas.json and openapi.json: served as built; a schemas file that does not
    match the actions (hand-edited) or cannot be read stops the router with an ``Error:`` line."""
    router = next(f.context for f in test_build.functions if f.action_name is None)
    schemas = json.loads((router / "schemas.json").read_text())
    assert set(schemas["actions"]) == {f.action_name for f in test_build.functions if f.action_name is not None}
    with function_process(router, {"SERVEY_ROUTER_MODE": "in-process"}) as local:
        status, _, body = local.raw(get_request("/openapi.json"))
        assert (status, body) == (200, (router / "openapi.json").read_bytes())
    greet = schemas["actions"]["greet"]
    stale = {
        **schemas,
        "actions": {**schemas["actions"], "greet": {**greet, "params": {**greet["params"], "required": []}}},
    }
    bad = {
        "stale.json": (json.dumps(stale), "action 'greet': the precomputed schemas do not match the function"),
        "shape.json": (json.dumps({"greet": greet}), "the schemas file {path} is not an object with the params"),
        "broken.json": ('{"actions": ', "the schemas file {path} is not JSON"),
    }
    for name, (text, says) in bad.items():
        path = tmp_path / name
        path.write_text(text)
        assert run(TEST_PACKAGE, argv=["--self-test"], schemas_file=path) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.startswith(f"Error: {says.format(path=path)}"), err
    assert run(TEST_PACKAGE, argv=["--self-test"], schemas_file=router / "schemas.json") == 0
    assert "examples passed" in capsys.readouterr().out
