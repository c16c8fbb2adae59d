"""REST access control in process: 401/403 bodies and RFC 6750 challenges, Authorization injection,
the order of the decision, and the opt-in dev token endpoint.

The auth matrix over a real server with HS256, RS256 and ES256 keys is in
tests/integration/test_rest_auth.py; the actions below are shared with it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette

from servey_faas import (
    ALLOW_NONE,
    WEB_GET,
    WEB_POST,
    Authorization,
    ScopeAccessControl,
    action,
    get_action,
)
from servey_faas.app import ServeyApp
from servey_faas.authentication import JwtSettings
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ConfigurationError
from servey_faas.settings import Settings
from servey_faas.web import create_app
from tests.test_authentication import OTHER_SECRET, SECRET, ec_keys, hostile_token, sign

pytestmark = pytest.mark.anyio

READ_SCOPE = "orders:read"
WRITE_SCOPE = "orders:write"


@dataclasses.dataclass
class Order:
    item: str
    quantity: int


@dataclasses.dataclass
class Caller:
    subject_id: str | None
    scopes: list[str]


@action(triggers=(WEB_GET,), access_control=ScopeAccessControl(READ_SCOPE))
def list_orders(customer: str = "all") -> list[str]:
    """Orders of a customer (needs orders:read)."""
    return [f"{customer}-1", f"{customer}-2"]


@action(triggers=(WEB_POST,), access_control=ScopeAccessControl(WRITE_SCOPE))
def place_order(order: Order) -> str:
    """Place an order (needs orders:write)."""
    return f"{order.quantity} x {order.item}"


@action(triggers=(WEB_GET,))
def whoami(authorization: Authorization) -> Caller:
    """Who the bearer token says the caller is (any valid token)."""
    return Caller(authorization.subject_id, sorted(authorization.scopes))


@action(triggers=(WEB_GET,))
def greet(name: str, authorization: Authorization | None = None) -> str:
    """Open to anybody; names the caller when a token came."""
    who = authorization.subject_id if authorization is not None else None
    return f"Hello {name}" + (f" (from {who})" if who else "")


@action(triggers=(WEB_GET,))
def ping() -> str:
    """Open, and knows nothing of tokens."""
    return "pong"


@action(triggers=(WEB_GET,), access_control=ALLOW_NONE)
def internal_only() -> str:
    """Never callable over HTTP."""
    return "secret"


AUTH_ACTIONS = (list_orders, place_order, whoami, greet, ping, internal_only)

#: RFC 6750 §3 challenge: ``Bearer`` and comma-separated ``name="value"`` attributes whose values
#: hold no ``"`` or ``\``.
CHALLENGE = re.compile(
    r'Bearer( [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*"(,( [a-z_]+="[\x20\x21\x23-\x5b\x5d-\x7e]*"))*)?'
)
NO_TOKEN_CHALLENGE = 'Bearer realm="servey_faas"'


def auth_app(
    jwt_settings: JwtSettings | None = None, *, debug_authenticator: bool = False, fns: Any = AUTH_ACTIONS
) -> ServeyApp:
    settings = Settings(jwt=jwt_settings or JwtSettings(SECRET), debug_authenticator=debug_authenticator)
    return ServeyApp.from_registry(ActionRegistry(a for a in map(get_action, fns) if a is not None), settings)


def challenge_attributes(value: str) -> dict[str, str]:
    assert CHALLENGE.fullmatch(value), value
    return dict(re.findall(r'([a-z_]+)="([^"]*)"', value))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    asgi: Starlette = create_app(auth_app(), schedules=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://testserver") as c:
        yield c


# --- 401 ---------------------------------------------------------------------------------------


async def test_no_token_is_a_401_with_a_bare_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/list-orders")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == NO_TOKEN_CHALLENGE
    assert response.json() == {"error": "unauthorized", "message": "a bearer token is required"}


@pytest.mark.parametrize(
    ("authorization", "description"),
    [
        ("Bearer garbage", "invalid bearer token: Not enough segments"),
        ("Basic dXNlcjpwYXNz", "the Authorization header must be 'Bearer <token>'"),
        ("Bearer", "the Authorization header must be 'Bearer <token>'"),
        (f"Bearer {sign(OTHER_SECRET, scope=READ_SCOPE)}", "invalid bearer token: Signature verification failed"),
        (f"Bearer {sign(SECRET, scope=READ_SCOPE, lifetime=-60)}", "the bearer token has expired"),
        (f"Bearer {sign(SECRET, scope=READ_SCOPE, nbf=int(time.time()) + 600)}", "the bearer token is not valid yet"),
        (
            f"Bearer {sign(SECRET, scope=READ_SCOPE, exp=None)}",
            "invalid bearer token: Token is missing the 'exp' claim",
        ),
    ],
    ids=["garbage", "basic", "empty-bearer", "bad-signature", "expired", "not-yet-valid", "no-exp"],
)
async def test_a_token_that_cannot_be_trusted_is_a_401_invalid_token(
    client: httpx.AsyncClient, authorization: str, description: str
) -> None:
    await assert_invalid_token(client, "/actions/list-orders", authorization, description)


@pytest.mark.parametrize(
    ("claims", "description"),
    [
        ({"scope": 5}, "invalid bearer token: the scope claim must be a space-separated string or a list of strings"),
        (
            {"scope": {READ_SCOPE: True}},
            "invalid bearer token: the scope claim must be a space-separated string or a list of strings",
        ),
        (
            {"exp": 10**30},
            "invalid bearer token: the exp claim must be a NumericDate (RFC 7519 ?2) within years 1 to 9999",
        ),
        (
            {"nbf": "0"},
            "invalid bearer token: the nbf claim must be a NumericDate (RFC 7519 ?2) within years 1 to 9999",
        ),
    ],
    ids=["scope-number", "scope-object", "exp-out-of-range", "nbf-string"],
)
@pytest.mark.parametrize("path", ["/actions/list-orders", "/actions/ping"])
async def test_a_validly_signed_token_with_oddly_typed_claims_is_a_401_invalid_token(
    client: httpx.AsyncClient, path: str, claims: dict[str, Any], description: str
) -> None:
    await assert_invalid_token(client, path, f"Bearer {hostile_token(*next(iter(claims.items())))}", description)


async def assert_invalid_token(client: httpx.AsyncClient, path: str, authorization: str, description: str) -> None:
    response = await client.get(path, headers={"Authorization": authorization})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge_attributes(challenge) == {
        "realm": "servey_faas",
        "error": "invalid_token",
        "error_description": description,
    }
    assert response.json()["error"] == "unauthorized"


async def test_the_decision_comes_before_the_params_are_read(client: httpx.AsyncClient) -> None:
    # A malformed body or invalid params must not tell an anonymous caller anything.
    response = await client.post(
        "/actions/place-order", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 401
    response = await client.get("/actions/list-orders", params={"unknown": "x"})
    assert response.status_code == 401


async def test_an_open_action_still_refuses_a_bad_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/actions/ping")).text == '"pong"'
    response = await client.get("/actions/ping", headers=bearer("garbage"))
    assert response.status_code == 401
    assert challenge_attributes(response.headers["www-authenticate"])["error"] == "invalid_token"
    response = await client.get("/actions/ping", headers=bearer(sign(SECRET)))
    assert response.status_code == 200 and response.json() == "pong"


async def test_without_a_key_every_token_is_refused() -> None:
    app = ServeyApp.from_registry(
        ActionRegistry(a for a in map(get_action, (ping, greet)) if a is not None), Settings()
    )
    assert app.verifier is None
    asgi = create_app(app, schedules=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://t") as c:
        assert (await c.get("/actions/ping")).status_code == 200
        response = await c.get("/actions/ping", headers=bearer(sign(SECRET)))
    assert response.status_code == 401
    assert "no JWT key is configured" in response.json()["message"]


# --- 403 ---------------------------------------------------------------------------------------


async def test_a_valid_token_without_the_scope_is_a_403_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/list-orders", headers=bearer(sign(SECRET, scope=WRITE_SCOPE)))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer realm="servey_faas", error="insufficient_scope", '
        'error_description="the token lacks the scope \'orders:read\'", scope="orders:read"'
    )
    assert response.json() == {"error": "forbidden", "message": "the token lacks the scope 'orders:read'"}


async def test_allow_none_is_a_403_for_everybody(client: httpx.AsyncClient) -> None:
    for headers in ({}, bearer(sign(SECRET, scope=f"{READ_SCOPE} {WRITE_SCOPE}"))):
        response = await client.get("/actions/internal-only", headers=headers)
        assert response.status_code == 403
        assert "www-authenticate" not in response.headers  # no token can help
        assert response.json() == {"error": "forbidden", "message": "access is not allowed"}


async def test_the_right_scope_runs_the_action(client: httpx.AsyncClient) -> None:
    token = sign(SECRET, scope=f"profile {READ_SCOPE}")
    response = await client.get("/actions/list-orders", params={"customer": "ann"}, headers=bearer(token))
    assert response.status_code == 200 and response.json() == ["ann-1", "ann-2"]
    response = await client.post(
        "/actions/place-order",
        json={"order": {"item": "tea", "quantity": 2}},
        headers=bearer(sign(SECRET, scope=WRITE_SCOPE)),
    )
    assert response.status_code == 200 and response.json() == "2 x tea"


async def test_with_a_token_invalid_params_are_still_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/actions/place-order", json={"order": {"item": "tea"}}, headers=bearer(sign(SECRET, scope=WRITE_SCOPE))
    )
    assert response.status_code == 422
    assert response.json()["errors"] == [{"location": ["body", "order", "quantity"], "message": "field required"}]


# --- Authorization injection --------------------------------------------------------------------


async def test_the_authorization_parameter_receives_the_verified_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/whoami", headers=bearer(sign(SECRET, sub="ann", scope="b a")))
    assert response.status_code == 200
    assert response.json() == {"subject_id": "ann", "scopes": ["a", "b"]}


async def test_a_required_authorization_parameter_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/whoami")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == NO_TOKEN_CHALLENGE


async def test_an_optional_authorization_parameter_is_none_without_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/actions/greet", params={"name": "Bo"})).json() == "Hello Bo"
    response = await client.get("/actions/greet", params={"name": "Bo"}, headers=bearer(sign(SECRET, sub="ann")))
    assert response.json() == "Hello Bo (from ann)"


async def test_an_authorization_is_never_read_from_the_params(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/greet", params={"name": "Bo", "authorization": '{"subject_id": "root"}'})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"location": ["query", "authorization"], "message": "unexpected field"}]


# --- the dev token endpoint -----------------------------------------------------------------------


async def test_the_dev_token_endpoint_is_absent_by_default(client: httpx.AsyncClient) -> None:
    response = await client.post("/debug/token", json={"subject_id": "ann", "scopes": [READ_SCOPE]})
    assert response.status_code == 404


@pytest.fixture
async def debug_client(caplog: pytest.LogCaptureFixture) -> AsyncIterator[httpx.AsyncClient]:
    settings = JwtSettings(SECRET, (), "https://dev.example", "orders-api")
    with caplog.at_level(logging.WARNING, logger="servey_faas.web"):
        asgi = create_app(auth_app(settings, debug_authenticator=True), schedules=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://testserver") as c:
        yield c


async def test_the_dev_token_endpoint_warns_at_startup(
    debug_client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    warnings = [r.getMessage() for r in caplog.get_records("setup") if r.levelno == logging.WARNING]
    assert any("SERVEY_DEBUG_AUTHENTICATOR is on" in w and "/debug/token" in w for w in warnings), warnings


async def test_a_dev_token_opens_the_protected_actions(debug_client: httpx.AsyncClient) -> None:
    response = await debug_client.post("/debug/token", json={"subject_id": "ann", "scopes": [READ_SCOPE], "ttl": 120})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 120, READ_SCOPE)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120
    assert (claims["iss"], claims["aud"], claims["sub"]) == ("https://dev.example", "orders-api", "ann")
    token = body["access_token"]
    assert (await debug_client.get("/actions/list-orders", headers=bearer(token))).status_code == 200
    assert (
        await debug_client.post(
            "/actions/place-order", json={"order": {"item": "x", "quantity": 1}}, headers=bearer(token)
        )
    ).status_code == 403
    assert (await debug_client.get("/actions/whoami", headers=bearer(token))).json() == {
        "subject_id": "ann",
        "scopes": [READ_SCOPE],
    }


async def test_a_dev_token_has_defaults(debug_client: httpx.AsyncClient) -> None:
    body = (await debug_client.post("/debug/token")).json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "debug-user" and "scope" not in claims
    assert claims["exp"] - claims["iat"] == 3600


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"ttl": 0}, [["body", "ttl"]]),
        ({"ttl": "60"}, [["body", "ttl"]]),
        ({"ttl": 10**9}, [["body", "ttl"]]),
        ({"scopes": "orders:read"}, [["body", "scopes"]]),
        ({"scopes": ["ok", "not ok"]}, [["body", "scopes", 1]]),
        ({"subject_id": 7}, [["body", "subject_id"]]),
        ({"subject": "ann"}, [["body", "subject"]]),
    ],
)
async def test_dev_token_requests_are_validated(
    debug_client: httpx.AsyncClient, body: dict[str, Any], errors: list[list[Any]]
) -> None:
    response = await debug_client.post("/debug/token", json=body)
    assert response.status_code == 422
    assert [e["location"] for e in response.json()["errors"]] == errors


async def test_a_malformed_dev_token_request_is_a_400(debug_client: httpx.AsyncClient) -> None:
    response = await debug_client.post("/debug/token", content=b"[1]", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert (await debug_client.get("/debug/token")).status_code == 405


@pytest.mark.parametrize(
    "jwt_settings",
    [JwtSettings(), JwtSettings(ec_keys().public_pem)],
    ids=["no-key", "public-key"],
)
def test_the_dev_token_endpoint_needs_a_secret_at_startup(jwt_settings: JwtSettings) -> None:
    app = auth_app(jwt_settings, debug_authenticator=True, fns=(ping,))
    with pytest.raises(ConfigurationError, match="JWT_SECRET_KEY"):
        create_app(app, schedules=False)
