"""Property-based conformance: schemathesis against the app's own OpenAPI document on a real server.

Every operation of the demo actions gets valid and invalid requests (positive and negative
generation; examples, coverage and fuzzing phases), at most ``MAX_EXAMPLES`` fuzzed cases per
operation, derandomized so that a run is reproducible. Each response must pass schemathesis'
default checks: no 5xx, a documented status code and content type, a body that matches the
documented schema, invalid requests rejected with a 4xx, valid ones accepted, undocumented methods
answered 405 with an ``Allow`` header.

Two known defects outside the web layer are pinned by strict-xfail tests at the end of this file;
the ``filter_failure`` hook drops exactly those failures (and nothing else) from the generated run,
so the rest of those operations is still checked.

The schema is the document ``build_openapi`` makes for the demo app (``/openapi.json`` serves it
byte for byte, see test_openapi.py). It is not loaded with ``schemathesis.pytest.from_fixture``
because schemathesis 4.32.5's lazy loader fails on pytest 9 (it reads ``request.node._nodeid``).
"""

from __future__ import annotations

import math
import re
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.failures import Failure, ServerError
from schemathesis.openapi.checks import JsonSchemaError, RejectedPositiveData

from servey_faas.web.openapi import build_openapi

from .conftest import load_demo_app

MAX_EXAMPLES = 25

QUOTE_ORDER = "/actions/quote-order"
TO_FAHRENHEIT = "/actions/to-fahrenheit"

#: RFC 3339 ``date-time``: the offset (``Z`` or ``±hh:mm``) is required.
RFC3339_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")

schema = schemathesis.openapi.from_dict(build_openapi(load_demo_app()))
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
)


def is_naive_date_time_of_a_quote(failure: Failure, case: schemathesis.Case) -> bool:
    """Known defect 1: Quote.quoted_at is dumped without a UTC offset."""
    return (
        case.operation.path == QUOTE_ORDER
        and isinstance(failure, JsonSchemaError)
        and list(failure.instance_path) == ["quoted_at"]
        and list(failure.schema_path)[-1:] == ["format"]
    )


def is_fahrenheit_overflow(failure: Failure, case: schemathesis.Case) -> bool:
    """Known defect 2: to_fahrenheit answers 500 when the conversion overflows to infinity."""
    if case.operation.path != TO_FAHRENHEIT or not isinstance(failure, (ServerError, RejectedPositiveData)):
        return False
    reading = case.body.get("reading") if isinstance(case.body, dict) else None
    celsius = reading.get("celsius") if isinstance(reading, dict) else None
    return (
        isinstance(celsius, (int, float)) and not isinstance(celsius, bool) and not math.isfinite(celsius * 9 / 5 + 32)
    )


@schema.hook
def filter_failure(context: Any, failure: Failure, case: schemathesis.Case, response: Any) -> bool:
    return not (is_naive_date_time_of_a_quote(failure, case) or is_fahrenheit_overflow(failure, case))


@schema.parametrize()
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case, demo_server: str) -> None:
    case.call_and_validate(base_url=demo_server)


# --- known defects, pinned ------------------------------------------------------------------------


@pytest.mark.xfail(
    strict=True,
    reason="quote_order returns a naive datetime, dumped as '2026-12-01T00:00:00': not an RFC 3339 date-time, "
    "although the Quote schema (from schemey) says format: date-time",
)
def test_a_quote_is_dated_as_its_schema_says(demo_server: str) -> None:
    order = {"customer": "ada", "lines": [{"sku": "tea", "quantity": 2, "unit_price": 3.5}], "deliver_on": "2026-12-01"}
    response = httpx.post(f"{demo_server}{QUOTE_ORDER}", json={"order": order}, timeout=30)
    assert response.status_code == 200
    assert RFC3339_DATE_TIME.fullmatch(response.json()["quoted_at"]), response.json()["quoted_at"]


@pytest.mark.xfail(
    strict=True,
    reason="to_fahrenheit overflows to infinity for celsius above about 1e308 (a valid JSON number); the result "
    "has no JSON form, so a valid request gets a 500",
)
def test_a_reading_near_the_largest_float_is_not_a_server_error(demo_server: str) -> None:
    reading = {"station": "X", "celsius": 1.7976931348623157e308}
    response = httpx.put(f"{demo_server}{TO_FAHRENHEIT}", json={"reading": reading}, timeout=30)
    assert response.headers["content-type"] == "application/json"  # the 500 itself is a documented Error body
    assert response.status_code < 500, response.text
