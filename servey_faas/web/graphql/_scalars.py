"""The custom GraphQL scalars: ``DateTime``, ``Date``, ``UUID`` and ``JSON``.

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

from graphql import StringValueNode, ValueNode, value_from_ast_untyped
from strawberry.types.scalar import ScalarDefinition

#: The Python-side marker of the ``JSON`` scalar in annotations.
JSONValue = NewType("JSONValue", object)

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


def _identity(value: Any) -> Any:
    return value


def _json_literal(node: ValueNode, variables: Mapping[str, Any] | None = None) -> Any:
    return value_from_ast_untyped(node, dict(variables) if variables is not None else None)


def scalar_map() -> dict[object, ScalarDefinition]:
    """The scalar definitions by Python type, for ``StrawberryConfig(scalar_map=...)``.

    New definitions on every call: a schema never shares them with another.
    """
    return {
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
