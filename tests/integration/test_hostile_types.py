"""Hostile types over real servers: integers of any size and odd digits, repeated params and
validly signed tokens with oddly typed claims, against the dev server (uvicorn) and an action's
function (``python index.py`` in its build context: waitress).

Each probe asserts the status and the JSON body, then that the server still answers a small
request. The function server is one process per action, so each probe names its action; on the dev
server every action is one route of the same server. The dev server also answers the same probes
over GraphQL: the same result, or an error with a client's ``extensions.code``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from servey_faas.faas.deploy.packager import BuildOptions, build
from tests.faas.support import function_process, load_app, write_project

from .live_server import CLIENT_TIMEOUT, serve

SECRET = "hostile-types-hs256-key-of-at-least-32-bytes"
#: The actions of the probes, written to a project folder so that the packager can build functions.
ACTIONS = '''
    """Actions of the hostile-types probes."""

    import math
    from dataclasses import dataclass

    from servey_faas import WEB_GET, Authorization, ScopeAccessControl, WebTrigger, action


    @dataclass(frozen=True)
    class Item:
        item_id: int
        name: str


    @action(triggers=(WEB_GET,))
    def add_numbers(a: int, b: int = 10) -> int:
        """a + b."""
        return a + b


    @action(triggers=(WEB_GET,))
    def factorial(n: int) -> int:
        """n!"""
        return math.factorial(n)


    @action(triggers=(WebTrigger("GET", "/items/{item_id}"),))
    def get_item(item_id: int) -> Item:
        """The item of an id."""
        return Item(item_id, f"item {item_id}")


    @action(triggers=(WEB_GET,), access_control=ScopeAccessControl("admin"))
    def whoami(authorization: Authorization) -> str:
        """The subject of an admin's token."""
        return authorization.subject_id or ""
'''
PACKAGE = "svf_hostile_types_actions"
#: A small request per action and its answer: the server still works after a probe.
ALIVE = {
    "add_numbers": ("/actions/add-numbers?a=1", 11),
    "factorial": ("/actions/factorial?n=3", 6),
    "get_item": ("/items/7", {"item_id": 7, "name": "item 7"}),
    "whoami": ("/actions/whoami", "ann"),
}


def token(claims: dict[str, Any]) -> str:
    """A validly signed HS256 JWT of ``claims`` (written as they are: PyJWT's encoder would check
    some of them), valid for an hour unless ``claims`` say otherwise."""
    import jwt

    payload = {"sub": "ann", "scope": "admin", "exp": int(time.time()) + 3600, **claims}
    return jwt.api_jws.encode(json.dumps(payload).encode(), SECRET, algorithm="HS256")


@dataclass(frozen=True)
class Servers:
    """Where each action is served: one dev server, one function process per action."""

    dev: str
    functions: dict[str, str]

    def base(self, server: str, action: str) -> str:
        return self.dev if server == "dev" else self.functions[action]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    project = write_project(tmp_path_factory.mktemp("hostile"), PACKAGE, ACTIONS)
    app = load_app(project, JWT_SECRET_KEY=SECRET)
    result = build(app, BuildOptions(output_dir=project.root / "serverless", router=False))
    with contextlib.ExitStack() as stack:
        functions = {
            f.action_name: stack.enter_context(function_process(f.context, {"JWT_SECRET_KEY": SECRET})).url
            for f in result.functions
        }
        yield Servers(stack.enter_context(serve(app)), functions)


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=CLIENT_TIMEOUT) as http:
        yield http


def probe(
    client: httpx.Client, servers: Servers, server: str, action: str, path: str, **kwargs: Any
) -> tuple[int, Any]:
    """GET ``path`` of ``action`` on ``server``; its status and JSON body, after checking that the
    body is JSON and that the server then still answers :data:`ALIVE`'s request."""
    base = servers.base(server, action)
    response = client.get(f"{base}{path}", **kwargs)
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    alive_path, alive_answer = ALIVE[action]
    alive = client.get(f"{base}{alive_path}", headers={"Authorization": f"Bearer {token({})}"})
    assert (alive.status_code, alive.json()) == (200, alive_answer)
    return response.status_code, body


SERVERS = ["dev", "function"]


# --- integers of any size ------------------------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("a", [2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, 10**30, -(10**40)])
def test_integers_beyond_32_and_64_bits(client: httpx.Client, servers: Servers, server: str, a: int) -> None:
    assert probe(client, servers, server, "add_numbers", f"/actions/add-numbers?a={a}") == (200, a + 10)


@pytest.mark.parametrize("server", SERVERS)
def test_results_beyond_64_bits(client: httpx.Client, servers: Servers, server: str) -> None:
    assert probe(client, servers, server, "factorial", "/actions/factorial?n=25") == (200, 15511210043330985984000000)


@pytest.mark.parametrize("server", SERVERS)
def test_a_path_param_beyond_32_bits(client: httpx.Client, servers: Servers, server: str) -> None:
    status, body = probe(client, servers, server, "get_item", "/items/3000000000")
    assert (status, body) == (200, {"item_id": 3000000000, "name": "item 3000000000"})


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("text", ["1_000", " 5", "5 ", "+5", "\u0663", "\uff15", "0x1F", "1e3", "9" * 5000])
def test_integers_are_ascii_decimal_only(client: httpx.Client, servers: Servers, server: str, text: str) -> None:
    status, body = probe(client, servers, server, "add_numbers", "/actions/add-numbers", params={"a": text})
    assert status == 422
    [error] = body["errors"]
    assert error["location"] == ["query", "a"]
    assert error["message"].endswith("is not of type 'integer'")


@pytest.mark.parametrize("server", SERVERS)
def test_a_repeated_scalar_param_is_refused_naming_it(client: httpx.Client, servers: Servers, server: str) -> None:
    status, body = probe(client, servers, server, "add_numbers", "/actions/add-numbers?a=1&b=2&a=3")
    assert (status, body["errors"]) == (
        422,
        [{"location": ["query", "a"], "message": "given more than once; give one value"}],
    )


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("text", ["\u0663", "1_0", "-"])
def test_a_path_param_of_odd_digits_is_refused(client: httpx.Client, servers: Servers, server: str, text: str) -> None:
    status, body = probe(client, servers, server, "get_item", f"/items/{text}")
    assert (status, body["errors"]) == (
        422,
        [{"location": ["path", "item_id"], "message": f"{text!r} is not of type 'integer'"}],
    )


# --- validly signed tokens with oddly typed claims -----------------------------------------------------

HOSTILE_CLAIMS = [
    {"scope": 5},
    {"scope": {"admin": True}},
    {"scope": ["admin", 5]},
    {"scope": None},
    {"sub": 42},
    {"exp": 10**30},
    {"exp": 1e308},
    {"exp": "99999999999"},
    {"nbf": "0"},
    {"iat": -(10**30)},
]


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("action", ["whoami", "add_numbers"])  # protected, and open: a token sent is verified
@pytest.mark.parametrize("claims", HOSTILE_CLAIMS, ids=[json.dumps(c) for c in HOSTILE_CLAIMS])
def test_oddly_typed_claims_are_401_never_500_never_a_grant(
    client: httpx.Client, servers: Servers, server: str, action: str, claims: dict[str, Any]
) -> None:
    path = ALIVE[action][0]
    base = servers.base(server, action)
    response = client.get(f"{base}{path}", headers={"Authorization": f"Bearer {token(claims)}"})
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"
    assert response.json()["message"].startswith(("invalid bearer token", "the bearer token has expired"))
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    # and the server still answers
    probe(client, servers, server, action, path, headers={"Authorization": f"Bearer {token({})}"})


# --- the same probes over GraphQL (dev server) -----------------------------------------------------------


def graphql(client: httpx.Client, servers: Servers, query: str, token_: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token_}"} if token_ is not None else {}
    response = client.post(f"{servers.dev}/graphql", json={"query": query}, headers=headers)
    assert (response.status_code, response.headers["content-type"]) == (200, "application/json"), response.text
    answer: dict[str, Any] = response.json()
    assert client.post(f"{servers.dev}/graphql", json={"query": "{ addNumbers(a: 1) }"}).json() == {
        "data": {"addNumbers": 11}
    }
    return answer


@pytest.mark.parametrize("a", [2**31 - 1, 2**63, 10**30, -(10**40)])
def test_graphql_gives_the_same_integers(client: httpx.Client, servers: Servers, a: int) -> None:
    rest = client.get(f"{servers.dev}/actions/add-numbers", params={"a": str(a)}).json()
    assert graphql(client, servers, f"{{ addNumbers(a: {a}) }}") == {"data": {"addNumbers": rest}}
    answer = graphql(client, servers, "{ factorial(n: 25) getItem(itemId: 3000000000) { itemId } }")
    assert answer == {"data": {"factorial": 15511210043330985984000000, "getItem": {"itemId": 3000000000}}}


@pytest.mark.parametrize("literal", ["1.5", '"5"', "true", "9" * 5000])
def test_graphql_refuses_what_is_no_integer_with_a_code(client: httpx.Client, servers: Servers, literal: str) -> None:
    [error] = graphql(client, servers, f"{{ addNumbers(a: {literal}) }}")["errors"]
    assert error["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


@pytest.mark.parametrize("claims", HOSTILE_CLAIMS, ids=[json.dumps(c) for c in HOSTILE_CLAIMS])
def test_graphql_refuses_oddly_typed_claims(client: httpx.Client, servers: Servers, claims: dict[str, Any]) -> None:
    answer = graphql(client, servers, "{ whoami }", token(claims))
    assert answer["data"] is None
    assert [e["extensions"]["code"] for e in answer["errors"]] == ["UNAUTHENTICATED"]
    assert graphql(client, servers, "{ whoami }", token({})) == {"data": {"whoami": "ann"}}
