"""Reading action params out of a request: query strings, path params and JSON bodies.

Query and path values arrive as strings; each is coerced to the JSON type its parameter's schema
asks for before validation, so ``?count=3`` validates as an integer and ``?count=x`` is reported
as an invalid field (not a crash). Numbers are read as JSON writes them (RFC 8259 §6, ASCII digits
only): ``1_000``, `` 5`` or ``٣`` (which Python's ``int()`` would take) stay strings and are
reported as invalid, as they would be in a JSON body.

JSON text is measured before it is parsed (:func:`check_json_depth`): Python's parser recurses once
per nesting level, and so do validation and loading, so deep nesting is refused up front.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import accumulate
from typing import Any

from servey_faas.errors import BadRequestError, FieldError, ValidationError
from servey_faas.invocation import Parameter
from servey_faas.web import jsonparse

Coercer = Callable[[str], Any]


def coercer_for(schema: Mapping[str, Any]) -> Coercer:
    """A function turning one query-string value into the JSON value ``schema`` expects.

    Values that cannot be coerced are returned unchanged, for validation to report.
    """
    if "anyOf" in schema:
        branches = [coercer_for(s) for s in schema["anyOf"] if s.get("type") != "null"]
        return lambda v: _first_changed(branches, v)
    kind = schema.get("type")
    if kind == "integer":
        return _to_int
    if kind == "number":
        return _to_number
    if kind == "boolean":
        return _to_bool
    if kind == "string" or "enum" in schema:
        return _identity
    if kind in ("object", "array") or "$ref" in schema:
        return _to_json
    return _identity


def is_array(schema: Mapping[str, Any]) -> bool:
    """True when a query parameter of ``schema`` is given by repeating its key (``?tag=a&tag=b``)."""
    if schema.get("type") == "array":
        return True
    return any(s.get("type") == "array" for s in schema.get("anyOf", ()))


class QueryReader:
    """Reads the params of one action from a query string (and path params), built once per route."""

    def __init__(self, params: Sequence[Parameter]) -> None:
        self._scalars: dict[str, Coercer] = {}
        self._arrays: dict[str, Coercer] = {}
        for p in params:
            if is_array(p.schema):
                items: Mapping[str, Any] = p.schema.get("items") or next(
                    (s.get("items", {}) for s in p.schema.get("anyOf", ()) if s.get("type") == "array"), {}
                )
                self._arrays[p.name] = coercer_for(items)
            else:
                self._scalars[p.name] = coercer_for(p.schema)

    def read(self, query: Iterable[tuple[str, str]], path_params: Mapping[str, str]) -> dict[str, Any]:
        """``query`` is the decoded query string as ``(key, value)`` pairs in order; a key given
        more than once is a list for array params. Unknown keys are kept so that validation
        reports them. Path params win over query keys of the same name.

        :raises ValidationError: naming each param that is not an array but is given more than once
            (which value was meant cannot be told).
        """
        params: dict[str, Any] = {}
        repeated: list[str] = []
        scalars, arrays = self._scalars, self._arrays
        for key, value in query:
            arr = arrays.get(key)
            if arr is not None:
                params.setdefault(key, []).append(arr(value))
            elif key in params and key in scalars:
                if key not in repeated:
                    repeated.append(key)
            else:
                params[key] = scalars.get(key, _identity)(value)
        if repeated:
            raise ValidationError([FieldError((key,), "given more than once; give one value") for key in repeated])
        params.update(self.read_path(path_params))
        return params

    def read_path(self, path_params: Mapping[str, str]) -> dict[str, Any]:
        return {k: self._scalars.get(k, _identity)(v) for k, v in path_params.items()}


def reads_json(schema: Mapping[str, Any]) -> bool:
    """True when a query or path value of a parameter of ``schema`` is parsed as JSON text by
    :func:`coercer_for` (objects, dataclasses, arrays given in one value; for an array given by
    repeating its key, its items')."""
    if is_array(schema):
        schema = schema.get("items") or next(
            (s.get("items", {}) for s in schema.get("anyOf", ()) if s.get("type") == "array"), {}
        )
    return _parsed_as_json(schema)


def _parsed_as_json(schema: Mapping[str, Any]) -> bool:
    if "anyOf" in schema:
        return any(_parsed_as_json(s) for s in schema["anyOf"] if s.get("type") != "null")
    if "enum" in schema:
        return False
    return schema.get("type") in ("object", "array") or "$ref" in schema


#: ``{`` and ``}`` read as ``[`` and ``]`` (depth does not care which), all but brackets and quotes dropped.
_BRACKETS = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET_OR_QUOTE = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_STEP = {ord("["): 1, ord("]"): -1}
#: Brackets counted per step of :func:`json_depth`'s last loop: each step is one short C call, so a
#: thread measuring a big body lets the others (the event loop) run in between.
_CHUNK = 16384


def json_depth(text: bytes) -> int:
    """How deep arrays and objects nest in the JSON ``text``: ``1`` is 0, ``[]`` 1, ``{"a": [1]}`` 2.

    Linear, without recursion, and mostly in C: the escaped backslashes and quotes are dropped,
    then everything but brackets and quotes, then strings (an adjacent pair of quotes, or what is
    between the quotes left). Each pass dropping the empty pairs ``[]`` takes exactly one level off;
    passes go on while they halve what is left, and the deepest running count of open brackets in
    the rest is added. Exact for valid JSON; for malformed text, a number that parsing refuses anyway.
    """
    if b"\\" in text:
        text = text.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = text.translate(_BRACKETS, _NOT_BRACKET_OR_QUOTE).replace(b'""', b"")
    if b'"' in kept:  # strings holding brackets
        kept = b"".join(kept.split(b'"')[::2])
    passes = 0
    while kept:
        fewer = kept.replace(b"[]", b"")
        if len(fewer) * 2 > len(kept):
            break
        kept, passes = fewer, passes + 1
    depth = deepest = 0
    for start in range(0, len(kept), _CHUNK):
        running = list(accumulate(map(_STEP.__getitem__, kept[start : start + _CHUNK]), initial=depth))
        deepest, depth = max(deepest, *running), running[-1]
    return passes + deepest


def json_too_deep(text: bytes | str, max_depth: int) -> bool:
    """True when the JSON ``text`` nests deeper than ``max_depth`` levels (:func:`json_depth`);
    text with no more than ``max_depth`` brackets in all is not scanned."""
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return data.count(b"[") + data.count(b"{") > max_depth and json_depth(data) > max_depth


def check_json_depth(text: bytes | str, max_depth: int, what: str = "the JSON body") -> None:
    """Refuse JSON ``text`` nested deeper than ``max_depth`` levels before it is parsed.

    :raises BadRequestError: ``<what> is nested deeper than the limit of <max_depth> levels``.
    """
    if json_too_deep(text, max_depth):
        raise BadRequestError(f"{what} is nested deeper than the limit of {max_depth} levels")


def parse_json_body(body: bytes, content_type: str | None, max_depth: int) -> dict[str, Any]:
    """The JSON object in a request body; an empty body is ``{}``.

    :raises BadRequestError: for a content type other than JSON, JSON nested deeper than
        ``max_depth`` (see :func:`check_json_depth`), malformed JSON or a JSON value that is not
        an object.
    """
    if not body.strip():
        return {}
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        got = content_type or "no content type"
        raise BadRequestError(f"expected a JSON body (Content-Type: application/json), got {got!r}")
    check_json_depth(body, max_depth)
    try:
        data = jsonparse.loads(body, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequestError(f"malformed JSON body: {e}") from None
    if not isinstance(data, dict):
        raise BadRequestError(f"the JSON body must be an object of params, not {type(data).__name__}")
    return data


def _first_changed(coercers: list[Coercer], value: str) -> Any:
    for coerce in coercers:
        result = coerce(value)
        if result is not value:
            return result
    return value


def _identity(value: str) -> Any:
    return value


#: A JSON integer and number (RFC 8259 §6), leading zeros allowed: ASCII only (``re``'s ``[0-9]``),
#: no ``_``, spaces, ``+`` or other scripts' digits, all of which ``int()`` and ``float()`` accept.
_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def _to_int(value: str) -> Any:
    if _INTEGER.fullmatch(value) is None:
        return value
    try:
        return int(value)
    except ValueError:  # more digits than sys.get_int_max_str_digits() allows
        return value


def _to_number(value: str) -> Any:
    if _NUMBER.fullmatch(value) is None:
        return value
    if "." not in value and "e" not in value.lower():
        return _to_int(value)
    number = float(value)
    return number if math.isfinite(number) else value


_TRUE = frozenset(("true", "1", "yes", "on"))
_FALSE = frozenset(("false", "0", "no", "off"))


def _to_bool(value: str) -> Any:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    return value


def _to_json(value: str) -> Any:
    try:
        return json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (RFC 8259)")
