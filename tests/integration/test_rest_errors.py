"""Error responses over real HTTP: 422 per invalid field, 400, 404, 405 and a generic 500."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from .actions_for_tests import app_with, explode, explode_async, rename_item
from .live_server import CLIENT_TIMEOUT, LiveServer


def _is_json(response: httpx.Response) -> bool:
    return response.headers["content-type"].split(";")[0] == "application/json"


def _field_errors(response: httpx.Response) -> dict[tuple[str | int, ...], str]:
    """The 422 body's errors as ``{location: message}``, after checking the body's shape."""
    assert response.status_code == 422, response.text
    assert _is_json(response)
    body = response.json()
    assert body["error"] == "validation_error"
    assert isinstance(body["message"], str) and body["message"]
    errors = {tuple(e["location"]): e["message"] for e in body["errors"]}
    assert len(errors) == len(body["errors"]), "one error per field"
    for message in errors.values():
        assert isinstance(message, str) and message
    return errors


# -- 422: every invalid field, with where it is and what is wrong ------------------------------


def test_missing_query_param(demo_client: httpx.Client) -> None:
    errors = _field_errors(demo_client.get("/actions/say-hello"))

    assert errors == {("query", "name"): "field required"}


def test_unknown_query_param(demo_client: httpx.Client) -> None:
    errors = _field_errors(demo_client.get("/actions/say-hello", params={"name": "x", "nam": "y"}))

    assert errors == {("query", "nam"): "unexpected field"}


def test_query_param_of_the_wrong_type(demo_client: httpx.Client) -> None:
    errors = _field_errors(demo_client.delete("/orders/7", params={"dry_run": "maybe"}))

    assert list(errors) == [("query", "dry_run")]
    assert "boolean" in errors["query", "dry_run"]
    assert "maybe" in errors["query", "dry_run"]


def test_every_invalid_path_param_is_listed(demo_client: httpx.Client) -> None:
    errors = _field_errors(demo_client.get("/orders/x/lines/y"))

    assert set(errors) == {("path", "order_number"), ("path", "line")}
    assert all("integer" in m for m in errors.values())


def test_missing_body_param(demo_client: httpx.Client) -> None:
    errors = _field_errors(demo_client.post("/actions/quote-order", json={}))

    assert errors == {("body", "order"): "field required"}


def test_empty_body_reads_as_no_params(demo_client: httpx.Client) -> None:
    errors = _field_errors(demo_client.post("/actions/quote-order"))

    assert errors == {("body", "order"): "field required"}


def test_nested_dataclass_field_paths(demo_client: httpx.Client) -> None:
    order = {
        "customer": "ada",
        "lines": [{"sku": "tea"}, {"quantity": 2}, {"sku": 5, "quantity": "two"}],
        "currency": "GBP",
        "deliver_on": "tomorrow",
        "colour": "red",
    }
    errors = _field_errors(demo_client.post("/actions/quote-order", json={"order": order}))

    assert set(errors) == {
        ("body", "order", "lines", 1, "sku"),
        ("body", "order", "lines", 2, "sku"),
        ("body", "order", "lines", 2, "quantity"),
        ("body", "order", "currency"),
        ("body", "order", "deliver_on"),
        ("body", "order", "colour"),
    }
    assert errors["body", "order", "lines", 1, "sku"] == "field required"
    assert errors["body", "order", "colour"] == "unexpected field"
    assert "string" in errors["body", "order", "lines", 2, "sku"]
    assert "integer" in errors["body", "order", "lines", 2, "quantity"]
    assert "GBP" in errors["body", "order", "currency"]
    assert "tomorrow" in errors["body", "order", "deliver_on"]


def test_nested_field_of_a_put_body(demo_client: httpx.Client) -> None:
    errors = _field_errors(demo_client.put("/actions/to-fahrenheit", json={"reading": {"station": "OSLO"}}))

    assert errors == {("body", "reading", "celsius"): "field required"}


def test_path_and_body_errors_of_one_request(live_server: LiveServer) -> None:
    base_url = live_server(app_with(rename_item))
    with httpx.Client(base_url=base_url, timeout=CLIENT_TIMEOUT) as client:
        ok = client.put("/items/3", json={"name": "mug", "tags": ["kitchen"]})
        errors = _field_errors(client.put("/items/three", json={"tags": ["a", 1]}))

    assert ok.status_code == 200
    assert ok.json() == {"item_id": 3, "name": "mug", "tags": ["kitchen"]}
    assert set(errors) == {("path", "item_id"), ("body", "name"), ("body", "tags", 1)}
    assert errors["body", "name"] == "field required"


# -- 400: the request cannot be read as params -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        pytest.param(b'{"order": ', "application/json", id="truncated-json"),
        pytest.param(b"{'order': 1}", "application/json", id="single-quotes"),
        pytest.param(b"\xff\xfe{}", "application/json", id="not-utf8"),
        pytest.param(b'[{"order": {}}]', "application/json", id="array-not-object"),
        pytest.param(b'"order"', "application/json", id="string-not-object"),
        pytest.param(b'{"order": {}}', "text/plain", id="text-plain"),
        pytest.param(b"order=1", "application/x-www-form-urlencoded", id="form"),
        pytest.param(b'{"order": {}}', None, id="no-content-type"),
    ],
)
def test_body_that_is_not_a_json_object_is_400(
    demo_client: httpx.Client, content: bytes, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = demo_client.post("/actions/quote-order", content=content, headers=headers)

    assert response.status_code == 400, response.text
    assert _is_json(response)
    body = response.json()
    assert body["error"] == "bad_request"
    assert isinstance(body["message"], str) and body["message"]


def test_json_with_a_charset_is_accepted(demo_client: httpx.Client) -> None:
    response = demo_client.put(
        "/actions/to-fahrenheit",
        content=b'{"reading": {"station": "OSLO", "celsius": 0}}',
        headers={"content-type": "application/json; charset=utf-8"},
    )

    assert response.status_code == 200
    assert response.json() == {"station": "OSLO", "fahrenheit": 32.0}


# -- 404 and 405 -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/actions/no-such-action", "/orders", "/actions/say-hello/extra"])
def test_unknown_path_is_a_json_404(demo_client: httpx.Client, path: str) -> None:
    response = demo_client.get(path)

    assert response.status_code == 404
    assert _is_json(response)
    body = response.json()
    assert body["error"] == "not_found"
    assert isinstance(body["message"], str)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("POST", "/actions/say-hello", {"GET", "HEAD"}),
        ("GET", "/actions/quote-order", {"POST"}),
        ("PATCH", "/actions/to-fahrenheit", {"PUT"}),
        ("GET", "/orders/7", {"DELETE"}),
    ],
)
def test_wrong_method_is_a_json_405_with_allow(
    demo_client: httpx.Client, method: str, path: str, allowed: set[str]
) -> None:
    response = demo_client.request(method, path)

    assert response.status_code == 405
    assert _is_json(response)
    assert response.json()["error"] == "method_not_allowed"
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


# -- 500: generic body, traceback in the log only ----------------------------------------------


@pytest.mark.parametrize("fn", [explode, explode_async], ids=["sync", "async"])
def test_failing_action_is_a_generic_500_and_the_traceback_is_logged(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture, fn: Any
) -> None:
    caplog.set_level(logging.ERROR, logger="servey_faas")
    base_url = live_server(app_with(explode, explode_async))
    path = "/actions/" + fn.__name__.replace("_", "-")
    with httpx.Client(base_url=base_url, timeout=CLIENT_TIMEOUT) as client:
        response = client.get(path, params={"reason": "pin-1234"})
        after = client.get(path)  # the server still answers (here: a 422)

    assert response.status_code == 500
    assert _is_json(response)
    body = response.json()
    assert body == {"error": "internal_error", "message": body["message"]}
    for leak in ("pin-1234", "secret failure", "Traceback", "RuntimeError", "actions_for_tests", fn.__name__):
        assert leak not in response.text
    assert after.status_code == 422

    failures = [r for r in caplog.records if r.exc_info is not None and r.levelno >= logging.ERROR]
    assert len(failures) == 1, caplog.text
    record = failures[0]
    assert record.name.startswith("servey_faas")
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    assert "pin-1234" in str(record.exc_info[1])
    assert "Traceback" in caplog.text
    assert f"in {fn.__name__}" in caplog.text  # the action's own frame is in the logged traceback


def test_an_error_of_ours_outside_an_action_is_a_json_500_too(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug of servey_faas itself (here: reading the params, parsing a GraphQL body) answers the
    same JSON 500 as a failing action, in the GraphQL shape on ``/graphql``, never Starlette's
    plain-text page; the traceback goes to the log."""
    from servey_faas.web import handling, jsonparse

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug pin-5678")

    caplog.set_level(logging.ERROR)
    base_url = live_server(app_with(rename_item))
    monkeypatch.setattr(handling.RouteHandler, "load", broken)
    monkeypatch.setattr(jsonparse, "loads", broken)
    with httpx.Client(base_url=base_url, timeout=CLIENT_TIMEOUT) as client:
        rest = client.put("/items/1", json={"name": "x"})
        graphql = client.post("/graphql", json={"query": "{ __typename }"})

    assert (rest.status_code, _is_json(rest)) == (500, True)
    assert rest.json() == {"error": "internal_error", "message": "internal server error"}
    assert (graphql.status_code, _is_json(graphql)) == (500, True)
    assert graphql.json() == {
        "errors": [{"message": "internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
        "data": None,
    }
    for response in (rest, graphql):
        assert "pin-5678" not in response.text and "Traceback" not in response.text
    logged = [r for r in caplog.records if r.exc_info is not None and "pin-5678" in str(r.exc_info[1])]
    assert len(logged) == 2, caplog.text
