"""Every demo route, called over real HTTP with its examples' params, answers the example result."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Any

import httpx
import jsonschema  # type: ignore[import-untyped]
import pytest

from servey_faas.examples import Example
from servey_faas.invocation import ActionInvoker
from servey_faas.web.handling import WebRoute, web_routes
from tests.demo import load_demo_app

# What the demo app must serve: the default path is /actions/<name with _ as -> (README.md, "Writing actions").
EXPECTED_ROUTES = {
    ("GET", "/actions/say-hello"),
    ("POST", "/actions/quote-order"),
    ("GET", "/orders/{order_number}/lines/{line}"),
    ("DELETE", "/orders/{order_number}"),
    ("GET", "/actions/current-temperature"),
    ("PUT", "/actions/to-fahrenheit"),
}


def _cases() -> list[Any]:
    app = load_demo_app()
    return [
        pytest.param(route, example, id=f"{route.invoker.name}-{example.name}-{route.method}")
        for route in web_routes(app.invokers)
        for example in route.invoker.action.examples
    ]


def _query_value(value: Any) -> str | list[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list):
        return [v if isinstance(v, str) else str(_query_value(v)) for v in value]
    return json.dumps(value)


def request_for(client: httpx.Client, route: WebRoute, params: dict[str, Any]) -> httpx.Request:
    """The HTTP request (built by ``client``) calling ``route`` with JSON ``params``: path params in
    the path, the rest in the query string (GET, DELETE) or a JSON body (POST, PUT, PATCH)."""
    path = route.path
    rest: dict[str, Any] = {}
    for name, value in params.items():
        if route.location_of(name) == "path":
            path = path.replace("{" + name + "}", str(_query_value(value)))
        else:
            rest[name] = value
    if route.trigger.reads_body:
        return client.build_request(route.method, path, json=rest)
    return client.build_request(route.method, path, params={k: _query_value(v) for k, v in rest.items()})


def test_demo_app_serves_the_expected_routes(demo_app: Any) -> None:
    assert {(r.method, r.path) for r in web_routes(demo_app.invokers)} == EXPECTED_ROUTES


@pytest.mark.parametrize(("route", "example"), _cases())
def test_example_over_http(demo_client: httpx.Client, demo_app: Any, route: WebRoute, example: Example) -> None:
    invoker: ActionInvoker = demo_app.invokers[route.invoker.name]
    response = demo_client.send(request_for(demo_client, route, invoker.example_params(example.params)))

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    expected = invoker.example_result(example.result)
    if example.include_in_tests:
        assert response.json() == expected
    else:
        _assert_same_shape(response.json(), expected, invoker.result_schema)


def _assert_same_shape(body: Any, expected: Any, schema: dict[str, Any]) -> None:
    """An example whose values vary: the body validates against the result schema, has the
    example's keys and types."""
    jsonschema.Draft202012Validator(schema).validate(body)
    assert isinstance(body, dict) and isinstance(expected, dict)
    assert body.keys() == expected.keys()
    for key, value in expected.items():
        assert type(body[key]) is type(value), key


def test_quote_order_shape_and_stable_fields(demo_client: httpx.Client) -> None:
    """quote_order's example is not a test (ids vary); its fields that do not vary are checked here."""
    order = {
        "customer": "ada",
        "lines": [{"sku": "tea", "quantity": 2, "unit_price": 3.5}, {"sku": "cup", "unit_price": 4.0}],
        "deliver_on": "2026-12-01",
    }
    response = demo_client.post("/actions/quote-order", json={"order": order})

    assert response.status_code == 200, response.text
    body = response.json()
    assert uuid.UUID(body["order_id"]).version == 5
    assert datetime.datetime.fromisoformat(body["quoted_at"]) == datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    assert {k: body[k] for k in ("customer", "total", "currency", "item_count")} == {
        "customer": "ada",
        "total": 11.0,
        "currency": "EUR",
        "item_count": 3,
    }


def test_date_time_results_carry_a_utc_offset(demo_client: httpx.Client, demo_app: Any) -> None:
    """RFC 3339 §5.6 (JSON Schema ``format: date-time``): a date-time always has an offset."""
    order = {"customer": "ada", "lines": [{"sku": "tea"}], "deliver_on": "2026-12-01"}
    body = demo_client.post("/actions/quote-order", json={"order": order}).json()

    assert demo_app.invokers["quote_order"].result_schema["properties"]["quoted_at"]["format"] == "date-time"
    assert datetime.datetime.fromisoformat(body["quoted_at"]).tzinfo is not None, body["quoted_at"]


def test_query_params_are_coerced_from_strings(demo_client: httpx.Client) -> None:
    response = demo_client.delete("/orders/12", params={"dry_run": "false"})

    assert response.status_code == 200
    assert response.json() == {"order_number": 12, "cancelled": True}


def test_path_params_are_read_from_the_path(demo_client: httpx.Client) -> None:
    response = demo_client.get("/orders/5/lines/3")

    assert response.status_code == 200
    assert response.json() == "order 5, line 3"


def test_unicode_round_trips(demo_client: httpx.Client) -> None:
    response = demo_client.get("/actions/say-hello", params={"name": "Zoë & 世界"})

    assert response.status_code == 200
    assert response.json() == "Hello Zoë & 世界!"
