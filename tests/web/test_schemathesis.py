"""Property-based conformance: schemathesis against the app's own OpenAPI document and GraphQL
schema on a real server.

Every operation of the demo actions, and of the test actions of test_openapi.py (a recursive
dataclass, a dataclass as JSON text in a query string, enums, two triggers on one path), gets
valid and invalid requests (positive and negative generation; examples, coverage and fuzzing
phases), at most ``MAX_EXAMPLES`` fuzzed cases per operation, derandomized so that a run is
reproducible. Each response must pass every check schemathesis has (not only its defaults): no
5xx, a documented status code, content type and headers, a body that matches the documented
schema, invalid requests rejected with a 4xx, valid ones accepted, undocumented methods answered
405 with a matching ``Allow`` header, a token that is required not ignored.

Every field of the demo's GraphQL schema gets the same treatment through ``/graphql``: valid
operations must get ``data`` without errors, invalid ones an error with a client's
``extensions.code``, none an ``INTERNAL_SERVER_ERROR``.

Regression tests for what earlier runs found stand at the end of this file.

The schemas are the documents ``build_openapi`` and ``build_schema`` make (``/openapi.json``
serves the first byte for byte, see test_openapi.py). They are not loaded with
``schemathesis.pytest.from_fixture`` because schemathesis 4.32.5's lazy loader fails on pytest 9
(it reads ``request.node._nodeid``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import graphql
import httpx
import pytest
import schemathesis
from hypothesis import assume
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.graphql import nodes
from schemathesis.schemas import BaseSchema
from starlette.applications import Starlette

from servey_faas.web import create_app
from servey_faas.web.graphql import build_schema
from servey_faas.web.openapi import build_openapi
from tests.demo import load_demo_app
from tests.test_authentication import SECRET, sign

from .conftest import serve
from .test_openapi import count_nodes, lookup, lookup_post, mirror, ping, secured_app_of, stock_level

MAX_EXAMPLES = 25

load_all_checks()
#: Every check schemathesis has, not only those it runs by default.
ALL_CHECKS = CHECKS.get_all()

TO_FAHRENHEIT = "/actions/to-fahrenheit"

FEATURES_APP = secured_app_of(count_nodes, mirror, lookup, lookup_post, ping, stock_level)
#: Sent with every fuzzed request of FEATURES_APP, so that the protected, cached ``stock_level`` is
#: reached (200, and 304 for a matching If-None-Match); schemathesis' ``ignored_auth`` check then
#: repeats such calls without it and expects a 401. Valid for an hour from import.
FEATURES_TOKEN = sign(SECRET, scope="stock:read", lifetime=3600)
#: A path served for GET by one trigger and for POST by another.
SHARED_PATH = "/actions/lookup"


def bounded(schema: BaseSchema) -> BaseSchema:
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
    )
    return schema


def bounded_schema(document: dict[str, Any]) -> BaseSchema:
    return bounded(schemathesis.openapi.from_dict(document))


schema = bounded_schema(build_openapi(load_demo_app()))
features_schema = bounded_schema(build_openapi(FEATURES_APP))


# GraphQL: schemathesis knows BigInt, Date, DateTime and UUID; JSON is the demo's only JSON input,
# Order.notes (dict[str, str]): objects of strings. (Registered in schemathesis' own table.)
def _json_object(value: dict[str, str]) -> graphql.ObjectValueNode:
    fields = [graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=nodes.String(v)) for k, v in value.items()]
    return nodes.Object(fields)


schemathesis.graphql.scalar(
    "JSON", st.dictionaries(st.from_regex(r"[_A-Za-z][_0-9A-Za-z]*", fullmatch=True), st.text()).map(_json_object)
)
graphql_schema = bounded(schemathesis.graphql.from_file(build_schema(load_demo_app()).sdl()))
#: The ranges the demo's JSON Schemas put on input fields, by GraphQL field name. GraphQL has no
#: type for a range, so a value outside is valid GraphQL that the action refuses (BAD_USER_INPUT,
#: as REST's 422): not a positive case.
DEMO_RANGES = {"celsius": (-273.15, 1.6e7), "quantity": (1, 1_000_000), "unitPrice": (0, 1e9)}


@pytest.fixture(scope="module")
def features_server() -> Iterator[str]:
    with serve(create_app(FEATURES_APP)) as base_url:
        yield base_url


@schema.parametrize()
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case, demo_server: str) -> None:
    case.call_and_validate(base_url=demo_server, checks=ALL_CHECKS)


@features_schema.parametrize()
def test_more_kinds_of_params_conform_to_the_document(case: schemathesis.Case, features_server: str) -> None:
    case.call_and_validate(
        base_url=features_server, headers={"Authorization": f"Bearer {FEATURES_TOKEN}"}, checks=ALL_CHECKS
    )


def within_demo_ranges(query: str) -> bool:
    """True unless a literal of ``query`` is outside :data:`DEMO_RANGES`."""
    outside: list[str] = []

    class Visitor(graphql.Visitor):
        def enter_object_field(self, node: graphql.ObjectFieldNode, *_: Any) -> None:
            bounds = DEMO_RANGES.get(node.name.value)
            if bounds is not None and isinstance(node.value, (graphql.IntValueNode, graphql.FloatValueNode)):
                if not bounds[0] <= float(node.value.value) <= bounds[1]:
                    outside.append(node.name.value)

    graphql.visit(graphql.parse(query), Visitor())
    return not outside


@graphql_schema.parametrize()
def test_graphql_conforms_to_its_schema(case: schemathesis.Case, demo_server: str) -> None:
    if case.meta is not None and not case.meta.generation.mode.is_negative:
        assume(within_demo_ranges(str(case.body)))  # the body is the GraphQL document
    case.call_and_validate(base_url=f"{demo_server}/graphql", checks=ALL_CHECKS)


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
