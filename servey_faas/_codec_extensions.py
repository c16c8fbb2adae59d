"""What schemey 7.0.2 and marshy 5.0.3 lack, as their own factory and marshaller types:
``dict[str, X]``, ``datetime.date``, ``typing.Any`` and PEP 604 unions (``X | None``)."""

from __future__ import annotations

import datetime
import types
import typing
from dataclasses import dataclass
from typing import Any

from marshy.factory.marshaller_factory_abc import MarshallerFactoryABC
from marshy.marshaller.marshaller_abc import MarshallerABC
from schemey.factory.schema_factory_abc import SchemaFactoryABC
from schemey.schema import Schema


def _union(type_: Any) -> Any:
    return typing.Union[tuple(type_.__args__)]  # noqa: UP007


class DateMarshaller(MarshallerABC[datetime.date]):  # type: ignore[misc]  # mypy skips marshy: its bases are Any
    """``datetime.date`` ↔ ISO 8601 ``YYYY-MM-DD``."""

    marshalled_type = datetime.date

    def load(self, item: Any) -> datetime.date:
        return datetime.date.fromisoformat(item)

    def dump(self, item: datetime.date) -> Any:
        return item.isoformat()


class AnyMarshaller(MarshallerABC[Any]):  # type: ignore[misc]
    """``typing.Any``: JSON values pass through unchanged."""

    marshalled_type = Any

    def load(self, item: Any) -> Any:
        return item

    def dump(self, item: Any) -> Any:
        return item


@dataclass
class DictMarshaller(MarshallerABC[dict[str, Any]]):  # type: ignore[misc]
    """``dict[str, X]``: keys stay strings, values go through X's marshaller."""

    marshalled_type: Any
    value_marshaller: MarshallerABC[Any]

    def load(self, item: Any) -> dict[str, Any]:
        return {k: self.value_marshaller.load(v) for k, v in item.items()}

    def dump(self, item: dict[str, Any]) -> Any:
        return {k: self.value_marshaller.dump(v) for k, v in item.items()}


@dataclass
class UntaggedUnionMarshaller(MarshallerABC[Any]):  # type: ignore[misc]
    """``A | B``: the JSON form of whichever member the value is, never a type tag.

    marshy's own union marshaller writes ``[type_name, value]``, which no JSON Schema ``anyOf``
    describes; values are validated against the schema before they are loaded, so the first member
    whose marshaller accepts the value is the right one.
    """

    marshalled_type: Any
    members: tuple[tuple[Any, MarshallerABC[Any]], ...]

    def load(self, item: Any) -> Any:
        if item is None and any(t is type(None) for t, _ in self.members):
            return None
        for type_, marshaller in self.members:
            if _json_matches(type_, item):
                return marshaller.load(item)
        for _, marshaller in self.members:
            try:
                return marshaller.load(item)
            except Exception:  # noqa: S112 - try the next member
                continue
        raise ValueError(f"{item!r} matches no member of {self.marshalled_type!r}")

    def dump(self, item: Any) -> Any:
        for type_, marshaller in self.members:
            origin = typing.get_origin(type_) or type_
            if isinstance(origin, type) and isinstance(item, origin) and not (origin is int and isinstance(item, bool)):
                return marshaller.dump(item)
        return item


def _json_matches(type_: Any, item: Any) -> bool:
    if type_ is bool:
        return isinstance(item, bool)
    if type_ is int:
        return isinstance(item, int) and not isinstance(item, bool)
    if type_ is float:
        return isinstance(item, (int, float)) and not isinstance(item, bool)
    if type_ is str:
        return isinstance(item, str)
    return False


@dataclass
class ExtraMarshallerFactory(MarshallerFactoryABC):  # type: ignore[misc]
    priority: int = 120

    def create(self, context: Any, type_: Any) -> MarshallerABC[Any] | None:
        if isinstance(type_, types.UnionType):
            return context.get_marshaller(_union(type_))
        if typing.get_origin(type_) is typing.Union:
            args = typing.get_args(type_)
            if len([a for a in args if a is not type(None)]) > 1:
                return UntaggedUnionMarshaller(type_, tuple((a, context.get_marshaller(a)) for a in args))
            return None
        if type_ is dict or typing.get_origin(type_) is dict:
            args = typing.get_args(type_) or (str, Any)
            if args[0] is not str:
                return None
            return DictMarshaller(type_, context.get_marshaller(args[1]))
        return None


@dataclass
class ExtraSchemaFactory(SchemaFactoryABC):  # type: ignore[misc]  # mypy skips schemey: its bases are Any
    priority: int = 205

    def from_type(self, type_: Any, context: Any, path: str, ref_schemas: Any) -> Schema | None:
        if type_ is Any:
            return Schema({}, type_)
        if type_ is datetime.date:
            return Schema({"type": "string", "format": "date"}, type_)
        if isinstance(type_, types.UnionType):
            return context.schema_from_type(_union(type_), path, ref_schemas)
        if type_ is dict or typing.get_origin(type_) is dict:
            args = typing.get_args(type_) or (str, Any)
            if args[0] is not str:
                return None
            values = context.schema_from_type(args[1], f"{path}/additionalProperties", ref_schemas)
            return Schema({"type": "object", "additionalProperties": values.schema}, type_)
        return None

    def from_json(self, item: Any, context: Any, path: str, ref_schemas: Any) -> Schema | None:
        return None


def marshallers() -> list[MarshallerABC[Any]]:
    return [DateMarshaller(), AnyMarshaller()]


def marshaller_factories() -> list[MarshallerFactoryABC]:
    return [ExtraMarshallerFactory()]


def schema_factories() -> list[SchemaFactoryABC]:
    return [ExtraSchemaFactory()]
