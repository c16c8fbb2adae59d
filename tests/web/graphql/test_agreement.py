"""REST and GraphQL agree: the same input gives the same result, or the same field errors (same
messages, same places; GraphQL names the places in camelCase and without REST's ``body``/``query``)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from schemey.schema import int_schema

from servey_faas import WEB_GET, WEB_POST, WebTrigger, action
from servey_faas.web.graphql import build_schema
from tests.integration.live_server import CLIENT_TIMEOUT, serve

from .actions_for_graphql import app_of
from .conftest import GraphQLClient

SENSOR_FIELDS = "id station installedAt location { latitude longitude } unit readings serial calibratedOn tags limits"

VALID_SPEC = {
    "station": "oslo",
    "installed_at": "2026-01-02T03:04:05+00:00",
    "location": {"latitude": 59.9, "longitude": 10.7},
    "unit": "FAHRENHEIT",
    "serial": "12345678-1234-5678-1234-567812345678",
    "calibrated_on": "2026-02-03",
    "tags": ["roof"],
    "limits": {"max": 40.5, "min": -3.25},
}

#: Invalid specs (Python names, as REST takes them); the GraphQL types accept each, the JSON Schema does not.
INVALID_SPECS = {
    "bare date as date-time": {**VALID_SPEC, "installed_at": "2026-01-02"},
    "impossible date": {**VALID_SPEC, "calibrated_on": "2026-02-30"},
    "not a uuid": {**VALID_SPEC, "serial": "12345678"},
    "out of range": {**VALID_SPEC, "location": {"latitude": -90.5, "longitude": 180.25}},
    "json value of the wrong type": {**VALID_SPEC, "limits": {"max": "hot"}},
}


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def to_graphql(value: Any, *, keep_keys: bool = False) -> Any:
    """A REST value with dataclass field names in camelCase (the keys of JSON values are kept)."""
    if isinstance(value, dict):
        return {(k if keep_keys else camel(k)): to_graphql(v, keep_keys=k == "limits") for k, v in value.items()}
    if isinstance(value, list):
        return [to_graphql(v) for v in value]
    return value


def register(client: GraphQLClient, spec: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    rest = client.http.post("/actions/register-sensor", json={"spec": spec})
    graphql = client.post(
        f"mutation ($spec: SensorSpecInput!) {{ registerSensor(spec: $spec) {{ {SENSOR_FIELDS} }} }}",
        {"spec": to_graphql(spec)},
    )
    return rest, graphql


def test_the_same_input_gives_the_same_result(sensor_graphql: GraphQLClient) -> None:
    rest, graphql = register(sensor_graphql, VALID_SPEC)
    assert rest.status_code == 200
    assert graphql == {"data": {"registerSensor": to_graphql(rest.json())}}


@pytest.mark.parametrize("case", list(INVALID_SPECS))
def test_the_same_invalid_input_gives_the_same_field_errors(sensor_graphql: GraphQLClient, case: str) -> None:
    rest, graphql = register(sensor_graphql, INVALID_SPECS[case])
    assert rest.status_code == 422
    rest_errors = [
        {"location": [camel(p) if isinstance(p, str) else p for p in e["location"][1:]], "message": e["message"]}
        for e in rest.json()["errors"]
    ]
    assert rest.json()["errors"][0]["location"][0] == "body"
    [error] = graphql["errors"]
    assert graphql["data"] is None
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["errors"] == rest_errors
    assert error["path"] == ["registerSensor"]


def test_demo_results_agree(demo_graphql: GraphQLClient) -> None:
    order = {"customer": "ada", "lines": [{"sku": "tea", "quantity": 2, "unit_price": 3.5}], "deliver_on": "2026-12-01"}
    rest = demo_graphql.http.post("/actions/quote-order", json={"order": order})
    graphql = demo_graphql.post(
        "mutation ($order: OrderInput!) { quoteOrder(order: $order) "
        "{ orderId customer total currency itemCount quotedAt } }",
        {"order": to_graphql(order)},
    )
    assert graphql == {"data": {"quoteOrder": to_graphql(rest.json())}}
    rest_hello = demo_graphql.http.get("/actions/say-hello", params={"name": "Ünïcode"})
    assert demo_graphql.post('{ sayHello(name: "Ünïcode") }') == {"data": {"sayHello": rest_hello.json()}}


def test_demo_field_errors_agree(demo_graphql: GraphQLClient) -> None:
    rest = demo_graphql.http.put("/actions/to-fahrenheit", json={"reading": {"station": "X", "celsius": -300.5}})
    graphql = demo_graphql.post('mutation { toFahrenheit(reading: {station: "X", celsius: -300.5}) { fahrenheit } }')
    assert rest.status_code == 422
    [rest_error] = rest.json()["errors"]
    [error] = graphql["errors"][0]["extensions"]["errors"]
    assert (error["location"], error["message"]) == (rest_error["location"][1:], rest_error["message"])


def test_internal_errors_agree(sensor_graphql: GraphQLClient) -> None:
    rest = sensor_graphql.http.get("/actions/explode", params={"reason": "x"})
    graphql = sensor_graphql.post('{ explode(reason: "x") }')
    assert rest.status_code == 500
    assert rest.json()["message"] == graphql["errors"][0]["message"] == "internal server error"


# --- integers: one integer type over both transports ----------------------------------------------


@dataclass(frozen=True)
class Item:
    item_id: int
    name: str


@dataclass(frozen=True)
class Line:
    sku: str
    # at most a signed 64-bit integer, by the field's own JSON Schema: both transports refuse more alike
    quantity: int = field(default=1, metadata={"schemey": int_schema(minimum=1, maximum=2**63 - 1)})


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


@action(triggers=(WEB_POST,))
def count_items(lines: list[Line]) -> int:
    """The number of items of some lines."""
    return sum(line.quantity for line in lines)


INTEGERS = [0, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30, -(10**40)]


@pytest.fixture(scope="module")
def integers() -> Iterator[GraphQLClient]:
    app = app_of(add_numbers, factorial, get_item, count_items)
    with serve(app) as url, httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as http:
        yield GraphQLClient(http)


def test_the_integer_scalar_is_described_in_the_sdl() -> None:
    sdl = build_schema(app_of(add_numbers, get_item)).sdl()
    assert 'scalar BigInt @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc8259#section-6")' in sdl
    assert '"""An integer of any size, a JSON number as over REST (Int is 32-bit)."""\nscalar BigInt' in sdl
    assert "addNumbers(a: BigInt!, b: BigInt! = 10): BigInt!" in sdl
    assert "itemId: BigInt!" in sdl
    assert re.search(r":\s*\[?Int\b", sdl) is None  # GraphQL's Int is the type of nothing


@pytest.mark.parametrize("a", INTEGERS)
def test_integers_of_any_size_give_the_same_sum(integers: GraphQLClient, a: int) -> None:
    rest = integers.http.get("/actions/add-numbers", params={"a": str(a)})
    assert (rest.status_code, rest.json()) == (200, a + 10)
    assert rest.content == str(a + 10).encode()  # a JSON number, digit for digit
    literal = integers.post(f"{{ addNumbers(a: {a}, b: 10) }}")
    variable = integers.post("query ($a: BigInt!) { addNumbers(a: $a) }", {"a": a})
    assert literal == variable == {"data": {"addNumbers": a + 10}}
    assert f'"addNumbers":{a + 10}'.encode() in integers.raw(f"{{ addNumbers(a: {a}) }}").content


@pytest.mark.parametrize("n", [0, 12, 13, 20, 21, 25, 100])
def test_big_results_are_the_same(integers: GraphQLClient, n: int) -> None:
    rest = integers.http.get("/actions/factorial", params={"n": str(n)})
    assert (rest.status_code, rest.json()) == (200, math.factorial(n))
    assert integers.post(f"{{ factorial(n: {n}) }}") == {"data": {"factorial": math.factorial(n)}}


def test_a_path_param_beyond_32_bits(integers: GraphQLClient) -> None:
    rest = integers.http.get("/items/3000000000")
    assert rest.json() == {"item_id": 3000000000, "name": "item 3000000000"}
    graphql = integers.post("{ getItem(itemId: 3000000000) { itemId name } }")
    assert graphql == {"data": {"getItem": {"itemId": 3000000000, "name": "item 3000000000"}}}


@pytest.mark.parametrize("quantity", [1, 2**40, 2**63 - 1, 2**63, 10**30, 0, -(2**63)])
def test_bounded_integer_fields_give_the_same_result_or_field_error(integers: GraphQLClient, quantity: int) -> None:
    lines = [{"sku": "a", "quantity": quantity}, {"sku": "b"}]
    rest = integers.http.post("/actions/count-items", json={"lines": lines})
    graphql = integers.post("mutation ($lines: [LineInput!]!) { countItems(lines: $lines) }", {"lines": lines})
    if rest.status_code == 200:
        assert graphql == {"data": {"countItems": rest.json()}} == {"data": {"countItems": quantity + 1}}
        return
    assert rest.status_code == 422
    [rest_error] = rest.json()["errors"]
    [error] = graphql["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["errors"] == [{"location": rest_error["location"][1:], "message": rest_error["message"]}]
    assert rest_error["location"] == ["body", "lines", 0, "quantity"]


@pytest.mark.parametrize(("literal", "value"), [("2.5", 2.5), ('"5"', "5"), ("true", True), ("[5]", [5])])
def test_what_is_no_integer_is_refused_by_both(integers: GraphQLClient, literal: str, value: Any) -> None:
    # GraphQL's type system refuses it (as GraphQL's Int would), before the JSON Schema could
    [error] = integers.post(f"{{ addNumbers(a: {literal}) }}")["errors"]
    assert "BigInt cannot represent a non-integer value" in error["message"]
    lines = [{"sku": "a", "quantity": value}]
    [error] = integers.post("mutation ($l: [LineInput!]!) { countItems(lines: $l) }", {"l": lines})["errors"]
    assert "BigInt cannot represent a non-integer value" in error["message"]
    rest = integers.http.post("/actions/count-items", json={"lines": lines})
    assert rest.status_code == 422
    assert rest.json()["errors"][0]["location"] == ["body", "lines", 0, "quantity"]


def test_a_float_without_fraction_is_an_integer_over_both(integers: GraphQLClient) -> None:
    # GraphQL's Int takes 2.0 in variables, JSON Schema's integer takes it in a body
    lines = [{"sku": "a", "quantity": 2.0}]
    graphql = integers.post("mutation ($l: [LineInput!]!) { countItems(lines: $l) }", {"l": lines})
    rest = integers.http.post("/actions/count-items", json={"lines": lines})
    assert graphql == {"data": {"countItems": rest.json()}} == {"data": {"countItems": 2}}
