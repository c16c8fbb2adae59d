"""REST and GraphQL agree: the same input gives the same result, or the same field errors (same
messages, same places; GraphQL names the places in camelCase and without REST's ``body``/``query``)."""

from __future__ import annotations

from typing import Any

import pytest

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
    "null for a defaulted field": {**VALID_SPEC, "tags": None},
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
