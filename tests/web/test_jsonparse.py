"""servey_faas.web.jsonparse: orjson's speed with json.loads's results and errors, on every input."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servey_faas.web import jsonparse


def reject(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def outcome(text: bytes | str, **kwargs: Any) -> tuple[str, Any]:
    """What parsing gives, comparable with ``==``: the value with its types (NaN as a marker), or
    the error's type and message."""
    try:
        value = jsonparse.loads(text, **kwargs) if kwargs.pop("fast", True) else json.loads(text, **kwargs)
    except (ValueError, RecursionError) as e:  # json.loads's RecursionError: callers bound the depth first
        return "error", (type(e), str(e))
    return "value", typed(value)


def typed(value: Any) -> Any:
    if isinstance(value, dict):
        return ("dict", [(key, typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def same_as_json(text: bytes | str, **kwargs: Any) -> None:
    assert outcome(text, **kwargs) == outcome(text, fast=False, **kwargs)


# Where orjson and json.loads disagree, or might: each must come out as json.loads has it.
EDGES = [
    b'{"a": 18446744073709551615}',
    b'{"a": 18446744073709551616}',
    b'{"a": -9223372036854775808}',
    b'{"a": -9223372036854775809}',
    b'{"a": 10000000000000000000000000000000000000000}',
    b'{"a": -10000000000000000000000000000000000000000}',
    b"[1234567890123456789]",
    b'{"a": 1e400}',
    b'{"a": -1e400}',
    b'{"a": 1e-400}',
    b'{"a": NaN}',
    b'{"a": Infinity}',
    b'{"a": -Infinity}',
    b'{"a": "\\ud800"}',
    b'{"a": "\\udc00\\ud800"}',
    b'{"a": 1, "a": 2}',
    b'{"a": 1, "b": 0, "a": 2}',
    b'\xef\xbb\xbf{"a": 1}',
    '{"a": "é"}'.encode("utf-16"),
    '{"a": "é"}'.encode("utf-32-le"),
    b'{"a": -0}',
    b'{"a": -0.0}',
    b'{"a": 1E5}',
    b'{"a": 01}',
    b'{"a": "\x01"}',
    b' {"a": 1} \n',
    b'{"a": 1}\x00',
    b'{"a": 1} {"b": 2}',
    b'"\xff"',
    b'"\xed\xa0\x80"',
    b'{"a": 123456789012345678901234567890.5}',
    b'{"a": 2.2250738585072011e-308}',
    b'{"a": 0.1000000000000000055511151231257827}',
    b'{"\\u0000": 1}',
    b"",
    b"   ",
    b"[" * 2000 + b"]" * 2000,
    b'{"a": [1, 2,]}',
    b"{'a': 1}",
    b'{"a": tru}',
    b'{"a": 1.}',
    b'{"a": .5}',
    b'{"a": +1}',
    b'{"a": 0x10}',
    b'{"a":\x0c1}',
    b'{"id": "12345678901234567890"}',
]


@pytest.mark.parametrize("text", EDGES, ids=range(len(EDGES)))
@pytest.mark.parametrize("constants", ["json", "rejected"])
def test_edges_parse_as_json_loads_parses_them(text: bytes, constants: str) -> None:
    kwargs = {"parse_constant": reject} if constants == "rejected" else {}
    same_as_json(text, **kwargs)
    same_as_json(text.decode("utf-8", "surrogateescape"), **kwargs)


def test_integers_beyond_64_bits_stay_exact() -> None:
    assert jsonparse.loads(b'{"a": 18446744073709551616, "b": -10000000000000000000000000000000000000000}') == {
        "a": 2**64,
        "b": -(10**40),
    }


def test_constants_reach_parse_constant() -> None:
    with pytest.raises(ValueError, match="NaN is not JSON"):
        jsonparse.loads(b'{"a": NaN}', parse_constant=reject)


def test_the_error_is_json_loads_error() -> None:
    with pytest.raises(json.JSONDecodeError, match=r"Expecting ',' delimiter: line 1 column 8 \(char 7\)"):
        jsonparse.loads(b'{"a": 01}')


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=5), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, derandomize=True)
@given(json_values, st.booleans())
def test_any_json_value_parses_as_json_loads_parses_it(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    same_as_json(text.encode("utf-8", "surrogatepass"))


@settings(max_examples=300, derandomize=True)
@given(st.binary(max_size=40) | st.text(alphabet='{}[]":,.-+eE0123456789 \\ntrufalsNI\x00\u00e9', max_size=40))
def test_any_bytes_parse_or_fail_as_with_json_loads(raw: bytes | str) -> None:
    text = raw.encode("utf-8") if isinstance(raw, str) else raw
    same_as_json(text)
    same_as_json(text, parse_constant=reject)
