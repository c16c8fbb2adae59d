"""Token exchange (RFC 8693), token sources, caches and scoped function tokens
(``docs/openfaas.md#iam-and-function-tokens``)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from servey_faas.errors import ConfigurationError
from servey_faas.faas import (
    AsyncGatewayClient,
    ClientCredentialsTokenSource,
    FunctionDeployment,
    FunctionError,
    GatewayClient,
    MemoryTokenCache,
    OAuthError,
    ServiceAccountTokenSource,
    Token,
    TokenAuth,
)
from servey_faas.testing.fake_gateway import FakeGateway

IDP_TOKEN = "idp-id-token"


class StaticSource:
    def __init__(self, value: str) -> None:
        self.value = value

    def token(self) -> str:
        return self.value


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def iam() -> Iterator[tuple[FakeGateway, str]]:
    fake = FakeGateway(iam=True, subject_tokens={IDP_TOKEN}, token_ttl=3600)
    with fake.serve() as url:
        yield fake, url
    assert fake.violations == []


def token_auth(url: str, clock: Clock | None = None, subject: str = IDP_TOKEN) -> TokenAuth:
    return TokenAuth(f"{url}/oauth/token", StaticSource(subject), clock=clock or Clock())


def gateway_claims(authorization: str, url: str) -> dict[str, Any]:
    """The claims of the ``Bearer`` token in ``authorization``, checked to be issued by the gateway at ``url``."""
    scheme, _, token = authorization.partition(" ")
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    assert scheme == "Bearer" and claims["iss"] == url
    return claims


def whoami() -> Starlette:
    async def handle(request: Request) -> JSONResponse:
        return JSONResponse({"authorization": request.headers.get("authorization")})

    return Starlette(routes=[Route("/", handle, methods=["POST"])])


def test_exchange_once_then_cached(iam: tuple[FakeGateway, str]) -> None:
    gateway, url = iam
    with GatewayClient(url, token_auth(url), environ={}) as c:
        assert c.list_functions() == []
        assert c.list_secrets() == []
    assert len(gateway.exchanges) == 1
    form = gateway.exchanges[0]
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:token-exchange"]
    assert form["subject_token_type"] == ["urn:ietf:params:oauth:token-type:id_token"]
    assert form["subject_token"] == [IDP_TOKEN] and "scope" not in form and "audience" not in form
    system = [r for r in gateway.requests if r.path.startswith("/system/")]
    assert all("function" not in gateway_claims(r.headers["authorization"], url) for r in system)


def test_token_refreshed_ten_seconds_before_expiry(iam: tuple[FakeGateway, str]) -> None:
    gateway, url = iam
    clock = Clock()
    with GatewayClient(url, token_auth(url, clock), environ={}) as c:
        c.list_functions()
        clock.now += 3600 - 10 - 0.5  # 10.5 s left: still fresh
        c.list_functions()
        assert len(gateway.exchanges) == 1
        clock.now += 1.0  # 9.5 s left: counts as expired
        c.list_functions()
        assert len(gateway.exchanges) == 2


def test_401_drops_the_token_and_retries_once(iam: tuple[FakeGateway, str]) -> None:
    gateway, url = iam
    with GatewayClient(url, token_auth(url), environ={}) as c:
        c.list_functions()
        gateway.revoke_tokens()
        assert c.list_functions() == []
    assert len(gateway.exchanges) == 2
    assert gateway.count("GET", "/system/functions") == 3


def test_oauth_400_raises_oauth_error(iam: tuple[FakeGateway, str]) -> None:
    _, url = iam
    with GatewayClient(url, token_auth(url, subject="unknown"), environ={}) as c, pytest.raises(OAuthError) as caught:
        c.list_functions()
    assert caught.value.error == "invalid_request"
    assert caught.value.error_description.startswith("No policies found for subject")
    assert str(caught.value).startswith("invalid_request: No policies found")


def test_oauth_400_without_json_is_unknown_error() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(400, text="bad things"))
    auth = TokenAuth("http://gw.invalid/oauth/token", StaticSource("x"), transport=transport)
    with pytest.raises(OAuthError) as caught:
        auth.token()
    assert (caught.value.error, caught.value.error_description) == ("unknown_error", "bad things")


def test_fifty_threads_cause_one_exchange(iam: tuple[FakeGateway, str]) -> None:
    gateway, url = iam
    barrier = threading.Barrier(50)
    with GatewayClient(url, token_auth(url), environ={}) as c:

        def call(_: int) -> int:
            barrier.wait()
            return len(c.list_functions())

        with ThreadPoolExecutor(50) as pool:
            assert list(pool.map(call, range(50))) == [0] * 50
    assert len(gateway.exchanges) == 1
    assert gateway.count("GET", "/system/functions") == 50


@pytest.mark.anyio
async def test_fifty_tasks_cause_one_exchange(iam: tuple[FakeGateway, str]) -> None:
    gateway, url = iam
    async with AsyncGatewayClient(url, token_auth(url), environ={}) as c:
        results = await asyncio.gather(*(c.list_functions() for _ in range(50)))
    assert results == [[]] * 50
    assert len(gateway.exchanges) == 1


def test_function_tokens_are_scoped_cached_and_replace_the_gateway_token(iam: tuple[FakeGateway, str]) -> None:
    gateway, url = iam
    gateway.attach("echo-fn", whoami())
    with GatewayClient(url, token_auth(url), environ={}) as admin:
        admin.update_function(FunctionDeployment("echo-fn", "img:1", env_vars={"jwt_auth": "true"}))
    with GatewayClient(url, token_auth(url), function_auth=True, environ={}) as c:
        first = c.invoke("echo-fn").json()["authorization"]
        second = c.invoke("echo-fn").json()["authorization"]
        gateway_token = c.auth.token()  # type: ignore[union-attr]
    assert first == second and first != f"Bearer {gateway_token}"
    assert gateway_claims(first, url)["function"] == {"permissions": ["*"], "audience": ["openfaas-fn:echo-fn"]}
    function_exchanges = [e for e in gateway.exchanges if e.get("scope") == ["function"]]
    assert len(function_exchanges) == 1
    assert function_exchanges[0]["audience"] == ["openfaas-fn:echo-fn"]
    assert function_exchanges[0]["subject_token"] == [gateway_token]


def test_without_function_auth_no_credentials_reach_the_function(iam: tuple[FakeGateway, str]) -> None:
    gateway, url = iam
    gateway.attach("open-fn", whoami())
    gateway.attach("locked-fn", whoami())
    with GatewayClient(url, token_auth(url), environ={}) as admin:
        admin.update_function(FunctionDeployment("locked-fn", "img:1", env_vars={"jwt_auth": "true"}))
    with GatewayClient(url, token_auth(url), environ={}) as c:
        assert c.invoke("open-fn").json() == {"authorization": None}  # never the gateway token
        with pytest.raises(FunctionError) as caught:
            c.invoke("locked-fn")
    error = caught.value
    assert (error.status_code, error.internal) == (401, "faas-middleware")
    assert error.body == "Bearer must be present in Authorization header\n"


def test_rejected_function_token_is_refreshed_once(iam: tuple[FakeGateway, str]) -> None:
    gateway, url = iam
    gateway.attach("echo-fn", whoami())
    with GatewayClient(url, token_auth(url), environ={}) as admin:
        admin.update_function(FunctionDeployment("echo-fn", "img:1", env_vars={"jwt_auth": "true"}))
    with GatewayClient(url, token_auth(url), function_auth=True, environ={}) as c:
        c.invoke("echo-fn")
        gateway.revoke_tokens()  # the cached function token (and the gateway token) now get 401
        assert "function" in gateway_claims(c.invoke("echo-fn").json()["authorization"], url)


def test_function_auth_needs_a_token_source() -> None:
    with GatewayClient("http://gw.invalid", None, function_auth=True, environ={}) as c:
        with pytest.raises(ConfigurationError):
            c.invoke("f")


@pytest.mark.anyio
async def test_fifty_tasks_share_one_function_token(iam: tuple[FakeGateway, str]) -> None:
    gateway, url = iam
    gateway.attach("echo-fn", whoami())
    async with AsyncGatewayClient(url, token_auth(url), function_auth=True, environ={}) as c:
        await c.update_function(FunctionDeployment("echo-fn", "img:1", env_vars={"jwt_auth": "true"}))
        answers = await asyncio.gather(*(c.invoke("echo-fn") for _ in range(50)))
    assert len({a.json()["authorization"] for a in answers}) == 1
    assert len([e for e in gateway.exchanges if e.get("scope") == ["function"]]) == 1


def test_service_account_token_is_reread_on_every_call(tmp_path: Path) -> None:
    (tmp_path / "openfaas-token").write_text("first\n")
    source = ServiceAccountTokenSource(environ={"token_mount_path": str(tmp_path)})
    assert source.token() == "first"
    (tmp_path / "openfaas-token").write_text("  rotated ")
    assert source.token() == "rotated"
    assert ServiceAccountTokenSource(environ={}).path == Path("/var/secrets/tokens/openfaas-token")
    with pytest.raises(ConfigurationError):
        ServiceAccountTokenSource(environ={"token_mount_path": ""})
    with pytest.raises(ConfigurationError):
        ServiceAccountTokenSource(tmp_path / "missing").token()


def test_client_credentials_form_cache_and_refresh() -> None:
    forms: list[dict[str, list[str]]] = []

    def idp(request: httpx.Request) -> httpx.Response:
        forms.append(parse_qs(request.content.decode()))
        return httpx.Response(200, json={"access_token": f"at-{len(forms)}", "expires_in": 60})

    clock = Clock()
    source = ClientCredentialsTokenSource(
        "cid", "csecret", "http://idp.invalid/token", scope="openid", transport=httpx.MockTransport(idp), clock=clock
    )
    assert source.token() == "at-1" and source.token() == "at-1"
    assert forms[0] == {"client_id": ["cid"], "client_secret": ["csecret"], "grant_type": ["client_credentials"],
                        "scope": ["openid"]}  # fmt: skip
    clock.now += 51
    assert source.token() == "at-2"
    assert "csecret" not in repr(source)


def test_client_credentials_oauth_error() -> None:
    idp = httpx.MockTransport(lambda r: httpx.Response(400, json={"error": "invalid_client"}))
    source = ClientCredentialsTokenSource("cid", "bad", "http://idp.invalid/token", transport=idp)
    with pytest.raises(OAuthError) as caught:
        source.token()
    assert caught.value.error == "invalid_client" and str(caught.value) == "invalid_client"


def test_memory_token_cache_evicts_expired_tokens() -> None:
    clock = Clock()
    cache = MemoryTokenCache(clock=clock)
    cache.set("a.ns", Token("t1", expires_at=clock.now + 100))
    cache.set("b.ns", Token("t2"))  # never expires
    assert cache.get("a.ns") == Token("t1", expires_at=1100.0)
    clock.now += 91
    assert cache.get("a.ns") is None and cache.get("b.ns") is not None
    cache.set("c.ns", Token("t3", expires_at=clock.now))
    cache.clear_expired()
    assert len(cache) == 1
