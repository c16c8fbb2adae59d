"""A quick check that JSON params are valid, compiled once from their JSON Schema, so that valid
params (nearly all) skip the JSON Schema validator.

``jsonschema`` evaluates a schema anew on every call: it makes a validator object at each level
of the instance and looks each keyword up, which costs far more than checking the values (about
80 µs for an order of two lines, where this check takes a few). :func:`compile_check` turns a
schema into nested Python closures doing only the comparisons.

The check answers True only when the JSON Schema 2020-12 validator would accept the value, and
False when it is not sure: the caller then asks the validator, which also says what is wrong. It
recurses as the value nests; a value so deep that it raises ``RecursionError`` is not sure either. It
knows the keywords the schemas of action params use, with the validator's meaning:

- ``type`` (one or several), ``properties``, ``required``, ``additionalProperties`` (a schema or
  a boolean), ``items`` (a schema), ``enum`` and ``const`` of strings, numbers, booleans and null,
  ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum``, ``minLength``,
  ``maxLength``, ``minItems``, ``maxItems``, ``anyOf``, ``oneOf``, ``allOf``, ``$ref`` to a place
  in the same document (recursive schemas included), boolean schemas;
- ``format`` through the validator's own ``FormatChecker`` (the same answer, by construction);
- annotations, which accept everything: ``title``, ``description``, ``default``, ``examples``,
  ``deprecated``, ``readOnly``, ``writeOnly``, ``$comment``, ``$defs``, ``definitions``, and ``name``
  (which schemey writes).

A schema holding any other keyword (``$id`` among them, which would move where ``$ref`` points)
gets no check (:func:`compile_check` returns None). Values are checked as the exact Python types
``json.loads`` makes (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, None); any other
type, and a float with no fractional part where ``integer`` is asked (which the validator
accepts), is left to the validator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

Check = Callable[[Any], bool]


class FormatChecker(Protocol):
    """What is needed of ``jsonschema.FormatChecker``."""

    def conforms(self, instance: object, format: str) -> bool: ...


_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
        "$defs",
        "definitions",
        "name",
    }
)
_KNOWN = _ANNOTATIONS | {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "anyOf",
    "oneOf",
    "allOf",
    "$ref",
    "format",
}
#: The Python types of JSON values each schema type surely accepts (bool is no number in JSON Schema).
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}
_SCALARS = (str, int, float, bool, type(None))
#: What json.loads makes: the types whose JSON Schema meaning the check is sure of.
_NATIVE = frozenset({dict, list, *_SCALARS})


class _Unsupported(Exception):
    """The schema uses a keyword (or a form of one) the check does not know."""


def compile_check(schema: Mapping[str, Any], format_checker: FormatChecker) -> Check | None:
    """The check of ``schema`` (see the module docstring), or None when the schema holds what it
    does not know. ``format_checker`` is the validator's."""
    try:
        check = _Compiler(schema, format_checker).compile(schema)
    except _Unsupported:
        return None

    def surely_valid(value: Any) -> bool:
        try:
            return check(value)
        except RecursionError:  # deeper than the stack allows here: the validator decides
            return False

    return surely_valid


class _Compiler:
    def __init__(self, root: Mapping[str, Any], format_checker: FormatChecker) -> None:
        self._root = root
        self._formats = format_checker
        self._refs: dict[str, Check] = {}

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return _accept
        if schema is False or not isinstance(schema, Mapping):
            raise _Unsupported(schema)
        if not schema.keys() <= _KNOWN:
            raise _Unsupported(sorted(schema.keys() - _KNOWN))
        found = (self._keyword(name, value, schema) for name, value in schema.items() if name not in _ANNOTATIONS)
        checks = [c for c in found if c is not None]
        if not checks:
            return _accept
        if len(checks) == 1:
            return checks[0]
        all_checks = tuple(checks)

        def every(value: Any) -> bool:  # a loop, not all(): one frame a level, deep values stay shallow
            for check in all_checks:
                if not check(value):
                    return False
            return True

        return every

    def _keyword(self, name: str, value: Any, schema: Mapping[str, Any]) -> Check | None:
        if name == "type":
            return _type_check(value)
        if name == "properties":
            return self._properties(value)
        if name == "required":
            if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
                raise _Unsupported(name)
            required = frozenset(value)
            return lambda v: required <= v.keys() if type(v) is dict else type(v) in _NATIVE
        if name == "additionalProperties":
            return self._additional(value, schema)
        if name == "items":
            item = self.compile(value)

            def items(v: Any) -> bool:
                if type(v) is not list:
                    return type(v) in _NATIVE
                for i in v:
                    if not item(i):
                        return False
                return True

            return items
        if name == "enum":
            if not isinstance(value, list):
                raise _Unsupported(name)
            return _among(value)
        if name == "const":
            return _among([value])
        if name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            return _bound(name, value)
        if name in ("minLength", "maxLength", "minItems", "maxItems"):
            return _length(name, value)
        if name in ("anyOf", "oneOf", "allOf"):
            if not isinstance(value, list) or not value:
                raise _Unsupported(name)
            parts = tuple(self.compile(s) for s in value)
            if name == "anyOf":
                return lambda v: any(p(v) for p in parts)
            if name == "allOf":
                return lambda v: all(p(v) for p in parts)
            return lambda v: sum(1 for p in parts if p(v)) == 1
        if name == "$ref":
            return self._ref(value)
        if name == "format":
            if not isinstance(value, str):
                raise _Unsupported(name)
            conforms = self._formats.conforms
            return lambda v: conforms(v, value)
        raise _Unsupported(name)  # pragma: no cover - _KNOWN lists exactly the names above

    def _properties(self, value: Any) -> Check:
        if not isinstance(value, Mapping):
            raise _Unsupported("properties")
        checks = tuple((name, self.compile(sub)) for name, sub in value.items())

        def properties(v: Any) -> bool:
            if type(v) is not dict:
                return type(v) in _NATIVE
            for name, check in checks:
                if name in v and not check(v[name]):
                    return False
            return True

        return properties

    def _additional(self, value: Any, schema: Mapping[str, Any]) -> Check | None:
        declared = frozenset(schema.get("properties") or ())
        if value is True:
            return None
        if value is False:
            return lambda v: v.keys() <= declared if type(v) is dict else type(v) in _NATIVE
        check = self.compile(value)
        return lambda v: (
            all(check(x) for k, x in v.items() if k not in declared) if type(v) is dict else type(v) in _NATIVE
        )

    def _ref(self, ref: Any) -> Check:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise _Unsupported("$ref")
        found = self._refs.get(ref)
        if found is not None:
            return found
        compiled: list[Check] = []
        self._refs[ref] = lambda v: compiled[0](v)  # a recursive schema refers to itself
        compiled.append(self.compile(self._resolve(ref)))
        return self._refs[ref]

    def _resolve(self, ref: str) -> Any:
        target: Any = self._root
        for part in ref[1:].split("/")[1:] if ref != "#" else ():
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                raise _Unsupported(ref)
        return target


def _accept(value: Any) -> bool:
    return True


def _type_check(value: Any) -> Check:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(n in _TYPES for n in names):
        raise _Unsupported("type")
    accepted = frozenset(t for n in names for t in _TYPES[n])
    return lambda v: type(v) in accepted


def _among(values: list[Any]) -> Check:
    if not all(type(v) in _SCALARS for v in values):
        raise _Unsupported("enum")
    allowed = frozenset((type(v), v) for v in values)
    return lambda v: type(v) in _SCALARS and (type(v), v) in allowed


def _bound(name: str, limit: Any) -> Check:
    if type(limit) not in (int, float) or (isinstance(limit, float) and not math.isfinite(limit)):
        raise _Unsupported(name)
    compare: Callable[[Any], bool] = {
        "minimum": lambda v: v >= limit,
        "maximum": lambda v: v <= limit,
        "exclusiveMinimum": lambda v: v > limit,
        "exclusiveMaximum": lambda v: v < limit,
    }[name]
    return lambda v: compare(v) if type(v) in (int, float) else type(v) in _NATIVE


def _length(name: str, limit: Any) -> Check:
    if type(limit) is not int:
        raise _Unsupported(name)
    kind = str if name.endswith("Length") else list
    if name.startswith("min"):
        return lambda v: len(v) >= limit if type(v) is kind else type(v) in _NATIVE
    return lambda v: len(v) <= limit if type(v) is kind else type(v) in _NATIVE
