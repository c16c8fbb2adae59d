"""Property-based conformance: schemathesis against the app's own OpenAPI document on a real server.

Every operation of the demo actions, and of the test actions of test_openapi.py (a recursive
dataclass, a dataclass as JSON text in a query string, enums, two triggers on one path), gets
valid and invalid requests (positive and negative generation; examples, coverage and fuzzing
phases), at most ``MAX_EXAMPLES`` fuzzed cases per operation, derandomized so that a run is
reproducible. Each response must pass schemathesis' default checks: no 5xx, a documented status
code and content type, a body that matches the documented schema, invalid requests rejected with a
4xx, valid ones accepted, undocumented methods answered 405 with a matching ``Allow`` header.

Regression tests for what earlier runs found stand at the end of this file.

The schemas are the documents ``build_openapi`` makes (``/openapi.json`` serves them byte for
byte, see test_openapi.py). They are not loaded with ``schemathesis.pytest.from_fixture``
because schemathesis 4.32.5's lazy loader fails on pytest 9 (it reads ``request.node._nodeid``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.schemas import BaseSchema
from starlette.applications import Starlette

from servey_faas.web import create_app
from servey_faas.web.openapi import build_openapi
from tests.test_authentication import SECRET, sign

from .conftest import load_demo_app, serve
from .test_openapi import count_nodes, lookup, lookup_post, mirror, ping, secured_app_of, stock_level

MAX_EXAMPLES = 25

TO_FAHRENHEIT = "/actions/to-fahrenheit"

FEATURES_APP = secured_app_of(count_nodes, mirror, lookup, lookup_post, ping, stock_level)
#: Sent with every fuzzed request of FEATURES_APP, so that the protected, cached ``stock_level`` is
#: reached (200, and 304 for a matching If-None-Match); schemathesis' ``ignored_auth`` check then
#: repeats such calls without it and expects a 401. Valid for an hour from import.
FEATURES_TOKEN = sign(SECRET, scope="stock:read", lifetime=3600)
#: A path served for GET by one trigger and for POST by another.
SHARED_PATH = "/actions/lookup"


def bounded_schema(document: dict[str, Any]) -> BaseSchema:
    schema = schemathesis.openapi.from_dict(document)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
    )
    return schema


schema = bounded_schema(build_openapi(load_demo_app()))
features_schema = bounded_schema(build_openapi(FEATURES_APP))


@pytest.fixture(scope="module")
def features_server() -> Iterator[str]:
    with serve(create_app(FEATURES_APP)) as base_url:
        yield base_url


@schema.parametrize()
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case, demo_server: str) -> None:
    case.call_and_validate(base_url=demo_server)


@features_schema.parametrize()
def test_more_kinds_of_params_conform_to_the_document(case: schemathesis.Case, features_server: str) -> None:
    case.call_and_validate(base_url=features_server, headers={"Authorization": f"Bearer {FEATURES_TOKEN}"})


# --- what earlier runs found ---------------------------------------------------------------------


def test_a_reading_near_the_largest_float_is_not_a_server_error(demo_server: str) -> None:
    reading = {"station": "X", "celsius": 1.7976931348623157e308}
    response = httpx.put(f"{demo_server}{TO_FAHRENHEIT}", json={"reading": reading}, timeout=30)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["location"] == ["body", "reading", "celsius"]


@pytest.mark.anyio
async def test_a_405_allows_every_method_of_its_path() -> None:
    app: Starlette = create_app(FEATURES_APP)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        response = await client.request("OPTIONS", SHARED_PATH)
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed, response.headers["allow"]
