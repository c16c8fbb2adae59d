"""Reading params from query strings, path params and JSON bodies (servey_faas/web/params.py)."""

from __future__ import annotations

import enum
import json
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest
from starlette.datastructures import QueryParams

from servey_faas import action, get_action
from servey_faas.errors import BadRequestError, FieldError, ValidationError
from servey_faas.invocation import ActionInvoker
from servey_faas.schemas import TypeCodec
from servey_faas.web.params import (
    QueryReader,
    check_json_depth,
    coercer_for,
    is_array,
    json_depth,
    json_too_deep,
    parse_json_body,
    reads_json,
)


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


@dataclass(frozen=True)
class Window:
    start: int
    end: int


def search(
    count: int,
    ratio: float,
    flag: bool,
    name: str,
    tags: list[str],
    ids: list[int] | None = None,
    mode: Mode | None = None,
    window: Window | None = None,
    limit: int | None = None,
    anything: Any = None,
) -> int:
    return count


@pytest.fixture(scope="module")
def reader() -> QueryReader:
    found = get_action(action(search))
    assert found is not None
    return QueryReader(ActionInvoker(found, TypeCodec()).params)


# --- coercer_for --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "text", "value"),
    [
        ({"type": "integer"}, "42", 42),
        ({"type": "integer"}, "-7", -7),
        ({"type": "integer"}, "4.0", "4.0"),  # left for validation to report
        ({"type": "integer"}, "x", "x"),
        ({"type": "integer"}, "007", 7),
        ({"type": "integer"}, "123456789012345678901234567890", 123456789012345678901234567890),
        # int() takes these; JSON has no such integers: left for validation to report
        ({"type": "integer"}, "1_000", "1_000"),
        ({"type": "integer"}, " 5", " 5"),
        ({"type": "integer"}, "5 ", "5 "),
        ({"type": "integer"}, "5\n", "5\n"),
        ({"type": "integer"}, "+5", "+5"),
        ({"type": "integer"}, "\u0663", "\u0663"),  # ARABIC-INDIC DIGIT THREE
        ({"type": "integer"}, "\uff15", "\uff15"),  # FULLWIDTH DIGIT FIVE
        ({"type": "integer"}, "", ""),
        ({"type": "integer"}, "9" * 5000, "9" * 5000),  # beyond int()'s digit limit
        ({"type": "number"}, "1.5", 1.5),
        ({"type": "number"}, "3", 3),
        ({"type": "number"}, "1e3", 1000.0),
        ({"type": "number"}, "nan", "nan"),  # not a JSON number
        ({"type": "number"}, "inf", "inf"),
        ({"type": "number"}, "abc", "abc"),
        ({"type": "number"}, "-2.5E-3", -0.0025),
        ({"type": "number"}, "12345678901234567890", 12345678901234567890),  # exact, not via float
        ({"type": "number"}, "1e400", "1e400"),  # not a finite float
        ({"type": "number"}, "1_000.5", "1_000.5"),
        ({"type": "number"}, " 1.5", " 1.5"),
        ({"type": "number"}, ".5", ".5"),
        ({"type": "number"}, "\u0663.5", "\u0663.5"),
        ({"type": "boolean"}, "true", True),
        ({"type": "boolean"}, "True", True),
        ({"type": "boolean"}, "1", True),
        ({"type": "boolean"}, "yes", True),
        ({"type": "boolean"}, "on", True),
        ({"type": "boolean"}, "false", False),
        ({"type": "boolean"}, "0", False),
        ({"type": "boolean"}, "no", False),
        ({"type": "boolean"}, "off", False),
        ({"type": "boolean"}, "maybe", "maybe"),
        ({"type": "string"}, "42", "42"),
        ({"type": "string", "format": "date"}, "2026-01-01", "2026-01-01"),
        ({"enum": ["A", "B"]}, "A", "A"),
        ({}, "anything", "anything"),
        ({"type": "object"}, '{"a": 1}', {"a": 1}),
        ({"type": "object"}, "{bad", "{bad"),
        ({"type": "array"}, "[1, 2]", [1, 2]),
        ({"$ref": "#/properties/x"}, '{"a": 1}', {"a": 1}),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "5", 5),
        ({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "x", "x"),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "5", 5),
        ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, "five", "five"),
    ],
)
def test_coercer_for(schema: dict[str, Any], text: str, value: Any) -> None:
    result = coercer_for(schema)(text)
    assert result == value
    assert type(result) is type(value)


def test_is_array() -> None:
    assert is_array({"type": "array", "items": {}})
    assert is_array({"anyOf": [{"type": "array"}, {"type": "null"}]})
    assert not is_array({"type": "object"})
    assert not is_array({"anyOf": [{"type": "integer"}, {"type": "null"}]})


# --- QueryReader --------------------------------------------------------------------------------


def _pairs(query_string: str) -> list[tuple[str, str]]:
    """The query pairs as the WSGI function server reads them."""
    return parse_qsl(query_string, keep_blank_values=True)


def test_both_servers_read_the_same_query_pairs() -> None:
    # The dev server passes Starlette's QueryParams.multi_items(), the function server parse_qsl's pairs.
    query = "a=1&a=2&b=&c=%C3%A9&d+e=f+g&flag"
    assert QueryParams(query).multi_items() == _pairs(query)


def test_query_reader_coerces_each_param_to_its_schema(reader: QueryReader) -> None:
    query = _pairs(
        "count=3&ratio=0.5&flag=true&name=007&tags=a&tags=b&ids=1&ids=2&mode=FAST"
        '&window={"start":1,"end":2}&limit=10&anything=x'
    )
    assert reader.read(query, {}) == {
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "name": "007",  # a str param stays a string
        "tags": ["a", "b"],
        "ids": [1, 2],
        "mode": "FAST",
        "window": {"start": 1, "end": 2},
        "limit": 10,
        "anything": "x",
    }


def test_query_reader_single_array_value_is_a_list(reader: QueryReader) -> None:
    assert reader.read(_pairs("tags=only&ids=5"), {}) == {"tags": ["only"], "ids": [5]}


def test_query_reader_keeps_unknown_keys_and_bad_values_for_validation(reader: QueryReader) -> None:
    assert reader.read(_pairs("count=many&ids=x&extra=1"), {}) == {"count": "many", "ids": ["x"], "extra": "1"}


def test_query_reader_refuses_a_repeated_scalar_naming_it(reader: QueryReader) -> None:
    with pytest.raises(ValidationError) as raised:
        reader.read(_pairs("count=1&name=a&count=2&name=b&count=3&tags=x&tags=y"), {})
    assert raised.value.errors == (
        FieldError(("count",), "given more than once; give one value"),
        FieldError(("name",), "given more than once; give one value"),
    )


def test_query_reader_leaves_repeated_unknown_keys_to_validation(reader: QueryReader) -> None:
    assert reader.read(_pairs("extra=1&extra=2"), {}) == {"extra": "2"}


def test_query_reader_path_params_win_and_are_coerced(reader: QueryReader) -> None:
    assert reader.read(_pairs("count=1"), {"count": "9"}) == {"count": 9}
    assert reader.read_path({"count": "9", "other": "x"}) == {"count": 9, "other": "x"}


def test_query_reader_empty_query(reader: QueryReader) -> None:
    assert reader.read(_pairs(""), {}) == {}


# --- parse_json_body ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"],
)
def test_json_body(content_type: str) -> None:
    assert parse_json_body(b'{"a": [1, {"b": null}]}', content_type, max_depth=64) == {"a": [1, {"b": None}]}


@pytest.mark.parametrize("body", [b"", b"  \n", b"\t"])
@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
def test_empty_body_is_no_params(body: bytes, content_type: str | None) -> None:
    assert parse_json_body(body, content_type, max_depth=64) == {}


@pytest.mark.parametrize(
    "body", [b"{", b"{'a': 1}", b'{"a": }', b"nul", b'{"a": NaN', b"\xff\xfe", b'{"a": 1} trailing']
)
def test_malformed_json(body: bytes) -> None:
    with pytest.raises(BadRequestError, match="malformed JSON body"):
        parse_json_body(body, "application/json", max_depth=64)


@pytest.mark.parametrize(("body", "kind"), [(b"[1]", "list"), (b'"x"', "str"), (b"1", "int"), (b"null", "NoneType")])
def test_json_that_is_not_an_object(body: bytes, kind: str) -> None:
    with pytest.raises(BadRequestError, match=f"must be an object of params, not {kind}"):
        parse_json_body(body, "application/json", max_depth=64)


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_wrong_content_type(content_type: str | None) -> None:
    with pytest.raises(BadRequestError, match="expected a JSON body"):
        parse_json_body(b'{"a": 1}', content_type, max_depth=64)


@pytest.mark.parametrize("body", [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": [-Infinity]}'])
def test_non_standard_json_constants_are_malformed(body: bytes) -> None:
    # RFC 8259 has no NaN or Infinity; Python's json module accepts them unless told not to.
    with pytest.raises(BadRequestError, match="malformed JSON body"):
        parse_json_body(body, "application/json", max_depth=64)


@pytest.mark.parametrize("text", ['{"start": NaN}', "[Infinity]"])
def test_non_standard_json_constants_in_the_query_are_left_for_validation(text: str) -> None:
    assert coercer_for({"type": "object"})(text) == text


# --- JSON nesting depth -------------------------------------------------------------------------


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


#: Strings that look like JSON structure: brackets, quotes and backslashes, escaped or not.
_TRICKY = ["", "[", "]]", "{", '"', "\\", '\\"', '["{', "\\\\[", "\u005c", "é[", "\n}"]


def _random_json(rng: random.Random, depth: int) -> Any:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice([*_TRICKY, 1, -2.5, True, None])
    if rng.random() < 0.5:
        return [_random_json(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(_TRICKY) + str(i): _random_json(rng, depth - 1) for i in range(rng.randint(0, 3))}


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"1", 0),
        (b'"[[["', 0),
        (b"[]", 1),
        (b'{"a": [1]}', 2),
        (b'[[], [[]], {"b": {}}]', 3),
        (b'{"a": "[[[[\\"[[[", "b": [[{}]]}', 4),
        (b'["\\\\", [[]]]', 3),
        (b'{"k\\"": "}}}", "v": [["\\\\\\""]]}', 3),
    ],
)
def test_json_depth(text: bytes, depth: int) -> None:
    json.loads(text)  # valid JSON
    assert json_depth(text) == depth


def test_json_depth_agrees_with_the_parsed_value() -> None:
    rng = random.Random(12)
    for _ in range(3000):
        value = _random_json(rng, rng.randint(0, 12))
        for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, separators=(",", ":"))):
            assert json_depth(text.encode()) == _depth(value), text


def test_json_depth_of_very_deep_or_very_wide_json_needs_no_recursion() -> None:
    assert json_depth(b"[" * 500_000 + b"]" * 500_000) == 500_000
    assert json_depth(b"[" + b",".join([b"[[[]]]"] * 100_000) + b"]") == 4
    assert json_depth(json.dumps({"items": [{"sku": "[x"}] * 50_000}).encode()) == 3


def test_json_too_deep_is_exact_at_the_limit() -> None:
    assert not json_too_deep(b"[" * 64 + b"]" * 64, 64)
    assert json_too_deep(b"[" * 65 + b"]" * 65, 64)
    assert not json_too_deep("[" * 65 + "]" * 65, 65)  # text too
    # many brackets side by side are not deep
    assert not json_too_deep(b"[" + b",".join([b"[]"] * 100) + b"]", 2)


def test_deep_json_bodies_are_bad_requests_naming_the_limit() -> None:
    with pytest.raises(BadRequestError, match="the JSON body is nested deeper than the limit of 3 levels"):
        parse_json_body(b'{"a": [[{}]]}', "application/json", max_depth=3)
    assert parse_json_body(b'{"a": [{}]}', "application/json", max_depth=3) == {"a": [{}]}
    with pytest.raises(BadRequestError, match="the JSON of 'x' is nested deeper than the limit of 1 levels"):
        check_json_depth("[[]]", 1, "the JSON of 'x'")


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (int, False),
        (str, False),
        (Mode, False),
        (Window, True),
        (list[int], False),  # repeated key, one integer each
        (list[Window], True),  # repeated key, one JSON object each
        (dict[str, int], True),
        (Window | None, True),
        (list[Window] | None, True),
        (list[str] | None, False),
        (Any, False),
    ],
)
def test_reads_json(annotation: Any, expected: bool) -> None:
    def fn(p: Any) -> None:
        """One parameter."""

    fn.__annotations__ = {"p": annotation, "return": None}
    found = get_action(action(fn))
    assert found is not None
    [param] = ActionInvoker(found, TypeCodec()).params
    assert reads_json(param.schema) is expected
