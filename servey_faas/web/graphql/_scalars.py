"""The custom GraphQL scalars: ``BigInt``, ``DateTime``, ``Date``, ``UUID`` and ``JSON``.

``BigInt`` is every ``int`` param and result. GraphQL's own ``Int`` is a signed 32-bit integer
(GraphQL spec §3.5.1), while the action's JSON Schema ``integer`` (and Python's ``int``) has no
bound: over ``Int``, ``add_numbers(a=2147483647)`` would be a number over REST and an error over
GraphQL. ``BigInt`` takes and gives what REST takes and gives, so that both transports agree on
every integer: any size, a JSON number without fraction or exponent on the wire (RFC 8259 §6).
Its coercion is ``Int``'s without the bound: an integer literal, a variable that is a JSON
integer (or a float with no fractional part, as ``Int`` takes), never a string or a boolean.
Integers of more than ``sys.get_int_max_str_digits()`` digits (4300) are refused on input and
cannot be written as results, over REST as over GraphQL. Clients that read JSON numbers as IEEE
754 doubles (JavaScript's ``JSON.parse``) keep integers up to 2^53 - 1 exact, over both transports.

Inputs of ``DateTime``, ``Date`` and ``UUID`` stay the strings the client sent: the action's JSON
Schema checks their format (RFC 3339 ``date-time``/``date``, RFC 9562 UUID), exactly as over REST,
so both transports give the same field errors. Outputs are the JSON forms the REST layer writes
(marshy's ``isoformat()`` and ``str(uuid)``).

``JSON`` carries any JSON value (ECMA-404): the GraphQL form of every type GraphQL cannot spell
(``dict[str, X]``, ``typing.Any``, unions of several types). Inputs are validated by the action's
JSON Schema; outputs are dumped by the app's codec before they reach the scalar.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable, Mapping
from typing import Any, NewType

from graphql import IntValueNode, StringValueNode, ValueNode, value_from_ast_untyped
from strawberry.types.scalar import ScalarDefinition

#: The Python-side marker of the ``JSON`` scalar in annotations.
JSONValue = NewType("JSONValue", object)
#: The Python-side marker of the ``BigInt`` scalar in annotations (what ``int`` becomes).
BigIntValue = NewType("BigIntValue", int)

BIGINT_SPEC = "https://www.rfc-editor.org/rfc/rfc8259#section-6"
DATETIME_SPEC = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6"
UUID_SPEC = "https://datatracker.ietf.org/doc/html/rfc9562"
JSON_SPEC = "https://ecma-international.org/publications-and-standards/standards/ecma-404/"


def _string_scalar(name: str, description: str, url: str, dump: Callable[[Any], str]) -> ScalarDefinition:
    def serialize(value: Any) -> str:
        return value if isinstance(value, str) else dump(value)

    def parse_value(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, not {value!r}")
        return value

    def parse_literal(node: ValueNode, _variables: Mapping[str, Any] | None = None) -> str:
        if not isinstance(node, StringValueNode):
            raise ValueError(f"{name} must be a string")
        return node.value

    return ScalarDefinition(
        name=name,
        description=description,
        specified_by_url=url,
        serialize=serialize,
        parse_value=parse_value,
        parse_literal=parse_literal,
    )


def _integer(value: Any) -> int:
    """An integer value (a float without fractional part counts, as GraphQL's ``Int`` has it).

    :raises ValueError: for anything else, booleans and numeric strings included.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"BigInt cannot represent a non-integer value: {value!r}")


def _integer_literal(node: ValueNode, _variables: Mapping[str, Any] | None = None) -> int:
    if not isinstance(node, IntValueNode):
        raise ValueError("BigInt cannot represent a non-integer value")
    return int(node.value)  # ValueError beyond sys.get_int_max_str_digits()


def _identity(value: Any) -> Any:
    return value


def _json_literal(node: ValueNode, variables: Mapping[str, Any] | None = None) -> Any:
    return value_from_ast_untyped(node, dict(variables) if variables is not None else None)


def scalar_map() -> dict[object, ScalarDefinition]:
    """The scalar definitions by Python type, for ``StrawberryConfig(scalar_map=...)``.

    New definitions on every call: a schema never shares them with another.
    """
    return {
        BigIntValue: ScalarDefinition(
            name="BigInt",
            description="An integer of any size, a JSON number as over REST (Int is 32-bit).",
            specified_by_url=BIGINT_SPEC,
            serialize=_integer,
            parse_value=_integer,
            parse_literal=_integer_literal,
        ),
        datetime.datetime: _string_scalar(
            "DateTime", "A date and time, RFC 3339 §5.6 (2026-12-01T09:30:00+00:00).", DATETIME_SPEC, _isoformat
        ),
        datetime.date: _string_scalar(
            "Date", "A calendar date, RFC 3339 full-date (2026-12-01).", DATETIME_SPEC, _isoformat
        ),
        uuid.UUID: _string_scalar("UUID", "A UUID in its 36-character text form (RFC 9562).", UUID_SPEC, str),
        JSONValue: ScalarDefinition(
            name="JSON",
            description="Any JSON value (ECMA-404), checked against the action's JSON Schema.",
            specified_by_url=JSON_SPEC,
            serialize=_identity,
            parse_value=_identity,
            parse_literal=_json_literal,
        ),
    }


def _isoformat(value: Any) -> str:
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise ValueError(f"{value!r} is not a date or datetime")
