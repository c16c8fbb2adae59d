"""REST routes per WebTrigger, in process over ASGI (servey_faas/web/rest.py, responses.py, app.py)."""

from __future__ import annotations

import asyncio
import datetime
import enum
import logging
import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from servey_faas import WEB_DELETE, WEB_GET, WEB_PATCH, WEB_POST, WEB_PUT, WebTrigger, action, get_action
from servey_faas.app import ServeyApp
from servey_faas.discovery import ActionRegistry
from servey_faas.errors import ActionDefinitionError
from servey_faas.web import create_app
from servey_faas.web.handling import web_routes

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t-detail-do-not-leak"


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclass(frozen=True)
class Window:
    start: int
    end: int


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int = 1


@dataclass(frozen=True)
class Order:
    customer: str
    lines: list[Line]
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    id: uuid.UUID
    customer: str
    items: int
    day: datetime.date


@action(triggers=(WEB_GET,))
def say_hello(name: str) -> str:
    """Greet."""
    return f"Hello {name}!"


@action(triggers=(WEB_GET,))
def echo_query(
    count: int,
    ratio: float = 1.0,
    flag: bool = False,
    tags: list[str] | None = None,
    ids: list[int] = [],  # noqa: B006 - a default, never mutated
    mode: Mode | None = None,
    window: Window | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    return {
        "count": count,
        "ratio": ratio,
        "flag": flag,
        "tags": tags,
        "ids": ids,
        "mode": mode.name if mode else None,
        "window": [window.start, window.end] if window else None,
        "limit": limit,
        "types": [type(count).__name__, type(ratio).__name__, type(flag).__name__],
    }


@action(triggers=(WebTrigger("GET", "/orders/{order_number}/lines/{line}"),))
def get_line(order_number: int, line: int, verbose: bool = False) -> str:
    return f"order {order_number} line {line}{' (verbose)' if verbose else ''}"


@action(triggers=(WEB_POST, WebTrigger("PUT", "/orders/{customer}")))
def place_order(order: Order, customer: str | None = None, copies: int = 1) -> Receipt:
    return Receipt(
        id=uuid.UUID(int=copies),
        customer=customer or order.customer,
        items=sum(line.quantity for line in order.lines) * copies,
        day=datetime.date(2026, 1, 2),
    )


@action(triggers=(WEB_PATCH,))
def rename(new_name: str, old_name: str = "?") -> dict[str, str]:
    return {"from": old_name, "to": new_name}


@action(triggers=(WEB_POST,))
def no_params() -> str:
    return "ok"


@action(triggers=(WebTrigger("DELETE", "/things/{thing_id}"),))
def delete_thing(thing_id: uuid.UUID, dry_run: bool = False) -> dict[str, Any]:
    return {"deleted": str(thing_id), "dry_run": dry_run}


@action(triggers=(WEB_GET,))
async def slow_square(x: int) -> int:
    await asyncio.sleep(0)
    return x * x


@action(triggers=(WEB_GET, WEB_POST))
def explode() -> int:
    raise RuntimeError(SECRET)


@action(triggers=(WEB_GET,))
def not_a_number() -> float:
    return math.nan


@action(triggers=(WEB_GET,))
def unicode_text() -> str:
    return "héllo ✓"


ACTIONS = [
    say_hello,
    echo_query,
    get_line,
    place_order,
    rename,
    no_params,
    delete_thing,
    slow_square,
    explode,
    not_a_number,
    unicode_text,
]


@pytest.fixture(scope="module")
def web_app() -> Starlette:
    found = [get_action(fn) for fn in ACTIONS]
    return create_app(ServeyApp.from_registry(ActionRegistry([a for a in found if a is not None])))


@pytest.fixture
async def client(web_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app), base_url="http://testserver") as c:
        yield c


def _errors(response: httpx.Response) -> list[tuple[list[Any], str]]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["message"] == "invalid params"
    return [(e["location"], e["message"]) for e in body["errors"]]


# --- GET: query string --------------------------------------------------------------------------


async def test_get_with_default_path(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/say-hello", params={"name": "World"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == "Hello World!"


async def test_underscore_path_is_not_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/actions/say_hello", params={"name": "x"})).status_code == 404


async def test_query_coercion(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/actions/echo-query",
        params=[
            ("count", "3"),
            ("ratio", "2.5"),
            ("flag", "true"),
            ("tags", "a"),
            ("tags", "b"),
            ("ids", "1"),
            ("ids", "2"),
            ("mode", "SLOW"),
            ("window", '{"start": 1, "end": 9}'),
            ("limit", "10"),
        ],
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "count": 3,
        "ratio": 2.5,
        "flag": True,
        "tags": ["a", "b"],
        "ids": [1, 2],
        "mode": "SLOW",
        "window": [1, 9],
        "limit": 10,
        "types": ["int", "float", "bool"],
    }


async def test_query_defaults_and_optionals(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/echo-query?count=0&ratio=2")
    assert response.json() == {
        "count": 0,
        "ratio": 2.0,
        "flag": False,
        "tags": None,
        "ids": [],
        "mode": None,
        "window": None,
        "limit": None,
        "types": ["int", "float", "bool"],
    }


@pytest.mark.parametrize(("text", "value"), [("1", True), ("false", False), ("0", False), ("yes", True)])
async def test_query_booleans(client: httpx.AsyncClient, text: str, value: bool) -> None:
    assert (await client.get(f"/actions/echo-query?count=1&flag={text}")).json()["flag"] is value


async def test_query_missing_required_param(client: httpx.AsyncClient) -> None:
    assert _errors(await client.get("/actions/say-hello")) == [(["query", "name"], "field required")]


async def test_query_invalid_values_are_422_with_locations(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/actions/echo-query?count=many&ratio=fast&flag=maybe&ids=1&ids=x&mode=MEDIUM&window=%7B%22start%22%3A1%7D"
    )
    errors = dict((tuple(loc), msg) for loc, msg in _errors(response))
    assert errors == {
        ("query", "count"): "'many' is not of type 'integer'",
        ("query", "ratio"): "'fast' is not of type 'number'",
        ("query", "flag"): "'maybe' is not of type 'boolean'",
        ("query", "ids", 1): "'x' is not of type 'integer'",
        ("query", "mode"): "'MEDIUM' is not one of ['FAST', 'SLOW']",
        ("query", "window", "end"): "field required",
    }


async def test_query_json_object_that_is_not_json(client: httpx.AsyncClient) -> None:
    [(location, message)] = _errors(await client.get("/actions/echo-query?count=1&window={nope"))
    assert location == ["query", "window"]
    assert "'{nope'" in message


async def test_query_unexpected_param(client: httpx.AsyncClient) -> None:
    assert _errors(await client.get("/actions/say-hello?name=x&nmae=y")) == [(["query", "nmae"], "unexpected field")]


@pytest.mark.parametrize("text", ["1_000", " 5", "5 ", "+5", "\u0663", "\uff15", "0x10", "1e3"])
async def test_query_integers_are_ascii_decimal_only(client: httpx.AsyncClient, text: str) -> None:
    response = await client.get("/actions/echo-query", params={"count": text})
    assert _errors(response) == [(["query", "count"], f"{text!r} is not of type 'integer'")]


@pytest.mark.parametrize("text", ["1_000.5", " 1.5", "\u0663", "Infinity", "1e999"])
async def test_query_numbers_are_ascii_json_numbers_only(client: httpx.AsyncClient, text: str) -> None:
    response = await client.get("/actions/echo-query", params={"count": "1", "ratio": text})
    assert _errors(response) == [(["query", "ratio"], f"{text!r} is not of type 'number'")]


async def test_query_repeated_scalar_is_422_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/echo-query", params=[("count", "1"), ("count", "2"), ("tags", "a")])
    assert _errors(response) == [(["query", "count"], "given more than once; give one value")]


async def test_async_action(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/slow-square?x=7")
    assert response.status_code == 200
    assert response.json() == 49


async def test_unicode_result_is_utf8_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/unicode-text")
    assert response.content == '"héllo ✓"'.encode()
    assert response.json() == "héllo ✓"


# --- path params --------------------------------------------------------------------------------


async def test_path_params_are_coerced(client: httpx.AsyncClient) -> None:
    response = await client.get("/orders/42/lines/3?verbose=1")
    assert response.status_code == 200
    assert response.json() == "order 42 line 3 (verbose)"


async def test_invalid_path_param_is_located_in_the_path(client: httpx.AsyncClient) -> None:
    assert _errors(await client.get("/orders/abc/lines/1")) == [
        (["path", "order_number"], "'abc' is not of type 'integer'")
    ]


async def test_path_param_in_the_query_does_not_override_the_path(client: httpx.AsyncClient) -> None:
    assert (await client.get("/orders/1/lines/2?line=5")).json() == "order 1 line 2"


async def test_delete_reads_path_and_query(client: httpx.AsyncClient) -> None:
    thing = "12345678-1234-5678-1234-567812345678"
    response = await client.delete(f"/things/{thing}?dry_run=true")
    assert response.status_code == 200
    assert response.json() == {"deleted": thing, "dry_run": True}
    assert _errors(await client.delete("/things/not-a-uuid")) == [
        (["path", "thing_id"], "'not-a-uuid' is not a 'uuid'")
    ]


# --- bodies -------------------------------------------------------------------------------------


ORDER = {"customer": "ada", "lines": [{"sku": "tea", "quantity": 2}, {"sku": "cup"}]}


async def test_post_json_body(client: httpx.AsyncClient) -> None:
    response = await client.post("/actions/place-order", json={"order": ORDER, "copies": 2})
    assert response.status_code == 200
    assert response.json() == {
        "id": "00000000-0000-0000-0000-000000000002",
        "customer": "ada",
        "items": 6,
        "day": "2026-01-02",
    }


async def test_post_ignores_the_query_string(client: httpx.AsyncClient) -> None:
    response = await client.post("/actions/place-order?copies=5", json={"order": ORDER})
    assert response.json()["items"] == 3


async def test_put_with_a_path_param_and_a_body(client: httpx.AsyncClient) -> None:
    response = await client.put("/orders/grace", json={"order": ORDER})
    assert response.status_code == 200
    assert response.json()["customer"] == "grace"


async def test_put_path_param_wins_over_the_body(client: httpx.AsyncClient) -> None:
    response = await client.put("/orders/grace", json={"order": ORDER, "customer": "mallory"})
    assert response.json()["customer"] == "grace"


async def test_patch_json_body(client: httpx.AsyncClient) -> None:
    response = await client.patch("/actions/rename", json={"new_name": "b", "old_name": "a"})
    assert response.status_code == 200
    assert response.json() == {"from": "a", "to": "b"}


async def test_body_validation_errors_are_located_in_the_body(client: httpx.AsyncClient) -> None:
    order = {"customer": None, "lines": [{"sku": "a"}, {"quantity": "2"}], "extra": 1}
    errors = _errors(await client.post("/actions/place-order", json={"order": order, "copies": 1.5}))
    assert sorted(errors) == sorted(
        [
            (["body", "order", "customer"], "must not be null"),
            (["body", "order", "lines", 1, "sku"], "field required"),
            (["body", "order", "lines", 1, "quantity"], "'2' is not of type 'integer'"),
            (["body", "order", "extra"], "unexpected field"),
            (["body", "copies"], "1.5 is not of type 'integer'"),
        ]
    )


async def test_empty_body_is_no_params(client: httpx.AsyncClient) -> None:
    response = await client.post("/actions/no-params")
    assert response.status_code == 200
    assert response.json() == "ok"
    # no content type is needed for an empty body either
    assert (await client.post("/actions/no-params", content=b"", headers={"content-type": "text/plain"})).json() == "ok"


async def test_empty_body_then_required_fields_are_422(client: httpx.AsyncClient) -> None:
    assert _errors(await client.post("/actions/place-order")) == [(["body", "order"], "field required")]
    assert _errors(await client.patch("/actions/rename", content=b"  ")) == [(["body", "new_name"], "field required")]


async def test_empty_json_object_body(client: httpx.AsyncClient) -> None:
    assert _errors(await client.post("/actions/place-order", json={})) == [(["body", "order"], "field required")]


@pytest.mark.parametrize("body", [b"{", b'{"order": }', b"{'order': 1}", b'{"x": NaN}', b"\xff"])
async def test_malformed_json_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/actions/place-order", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert response.json()["message"].startswith("malformed JSON body")


@pytest.mark.parametrize("body", [b"[]", b'"order"', b"42", b"null", b"true"])
async def test_json_that_is_not_an_object_is_400(client: httpx.AsyncClient, body: bytes) -> None:
    response = await client.post("/actions/place-order", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert "must be an object of params" in response.json()["message"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_wrong_content_type_is_400(client: httpx.AsyncClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = await client.patch("/actions/rename", content=b'{"new_name": "x"}', headers=headers)
    assert response.status_code == 400
    assert response.json()["error"] == "bad_request"
    assert "expected a JSON body" in response.json()["message"]


async def test_json_content_type_with_charset_and_suffix(client: httpx.AsyncClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await client.patch(
            "/actions/rename", content=b'{"new_name": "x"}', headers={"content-type": content_type}
        )
        assert response.status_code == 200, content_type


# --- 404, 405, HEAD -----------------------------------------------------------------------------


async def test_unknown_path_is_a_json_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/actions/nope")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "not_found", "message": "Not Found"}


async def test_wrong_method_is_a_json_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.post("/actions/say-hello", json={"name": "x"})
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "method_not_allowed", "message": "Method Not Allowed"}
    assert {m.strip() for m in response.headers["allow"].split(",")} == {"GET", "HEAD"}
    assert (await client.get("/actions/rename")).status_code == 405


async def test_head_on_a_get_route(client: httpx.AsyncClient) -> None:
    response = await client.head("/actions/say-hello?name=x")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-length"] == str(len(b'"Hello x!"'))


async def test_head_validates_like_get(client: httpx.AsyncClient) -> None:
    assert (await client.head("/actions/say-hello")).status_code == 422


async def test_one_action_on_two_methods(client: httpx.AsyncClient) -> None:
    assert (await client.get("/actions/explode")).status_code == 500
    assert (await client.post("/actions/explode")).status_code == 500


# --- 500 ----------------------------------------------------------------------------------------


async def test_exception_in_an_action_is_a_generic_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="servey_faas.web"):
        response = await client.get("/actions/explode")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "internal_error", "message": "internal server error"}
    for leak in (SECRET, "Traceback", "RuntimeError", "test_rest.py"):
        assert leak not in response.text
    # the traceback goes to the log instead
    [record] = [r for r in caplog.records if r.name == "servey_faas.web"]
    assert "explode" in record.getMessage()
    assert record.exc_info is not None and SECRET in str(record.exc_info[1])


async def test_result_that_is_not_json_is_a_generic_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="servey_faas.web"):
        response = await client.get("/actions/not-a-number")
    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "message": "internal server error"}
    assert any(r.name == "servey_faas.web" and r.exc_info for r in caplog.records)


async def test_create_app_is_not_in_debug_mode(web_app: Starlette) -> None:
    assert web_app.debug is False


# --- route table --------------------------------------------------------------------------------


def test_web_routes_resolve_paths_and_param_locations() -> None:
    found = [get_action(fn) for fn in (say_hello, place_order, get_line)]
    app = ServeyApp.from_registry(ActionRegistry([a for a in found if a is not None]))
    routes = {(r.method, r.path): r for r in web_routes(app.invokers)}
    assert set(routes) == {
        ("GET", "/actions/say-hello"),
        ("POST", "/actions/place-order"),
        ("PUT", "/orders/{customer}"),
        ("GET", "/orders/{order_number}/lines/{line}"),
    }
    put = routes[("PUT", "/orders/{customer}")]
    assert put.location_of("customer") == "path"
    assert put.location_of("order") == "body"
    line = routes[("GET", "/orders/{order_number}/lines/{line}")]
    assert line.location_of("line") == "path"
    assert line.location_of("verbose") == "query"


def test_path_placeholder_must_name_a_parameter() -> None:
    @action(triggers=(WebTrigger("GET", "/users/{user_id}"),))
    def get_user(id: int) -> int:
        return id

    found = get_action(get_user)
    assert found is not None
    app = ServeyApp.from_registry(ActionRegistry([found]))
    with pytest.raises(
        ActionDefinitionError, match=r"path '/users/\{user_id\}' names user_id, which are not parameters"
    ):
        create_app(app)


def test_two_actions_on_one_method_and_path() -> None:
    @action(name="first", triggers=(WebTrigger("GET", "/same"),))
    def first() -> int:
        return 1

    @action(name="second", triggers=(WebTrigger("GET", "/same"), WEB_DELETE, WEB_PUT))
    def second() -> int:
        return 2

    found = [get_action(first), get_action(second)]
    app = ServeyApp.from_registry(ActionRegistry([a for a in found if a is not None]))
    with pytest.raises(ActionDefinitionError, match="GET /same is claimed by actions 'first' and 'second'"):
        create_app(app)


async def test_an_action_raising_validation_error_itself_is_a_500_not_a_422() -> None:
    from servey_faas.errors import FieldError, ValidationError

    @action(triggers=(WEB_GET,))
    def delegates(x: int) -> int:
        raise ValidationError([FieldError(("inner",), "from a nested call")])

    app = create_app(ServeyApp.from_registry(ActionRegistry([get_action(delegates)])))  # type: ignore[list-item]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.get("/actions/delegates", params={"x": 1})

    assert response.status_code == 500
    assert response.json() == {"error": "internal_error", "message": "internal server error"}


async def test_an_error_in_any_other_route_is_a_json_500() -> None:
    """The app's last resort (an extra route, the docs): the same JSON body as a failing action."""
    from starlette.routing import Route

    async def broken(request: object) -> None:
        raise RuntimeError("bug pin-9012")

    found = get_action(say_hello)
    assert found is not None
    app = create_app(ServeyApp.from_registry(ActionRegistry([found])), extra_routes=[Route("/broken", broken)])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/broken")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": "internal_error", "message": "internal server error"}
