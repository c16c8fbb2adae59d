"""Python types of action params and results → strawberry types, and the converters between them.

One :class:`TypeMapper` per schema. Each dataclass becomes an object type (named after the class)
when it is returned and an input type (``<Name>Input``) when it is taken; enums become enums with
the member names as values; lists, tuples and sets become lists; ``X | None`` becomes a nullable
type; ``int`` becomes ``BigInt``, and ``datetime``, ``date`` and ``UUID`` the scalars of the same
names (all in :mod:`._scalars`); everything else (``dict[str, X]``, ``Any``, unions of several
types) becomes the ``JSON`` scalar. Two types that want one GraphQL name get ``Name2``, ``Name3``...

Nullability follows the Python type: an argument or input field is nullable exactly when its type
takes ``None``, or when it may be left out and GraphQL cannot write its default. Defaults are
published in the schema as their JSON form (the ``default`` OpenAPI shows) in GraphQL literal syntax
(:class:`GraphQLDefault`); a ``default_factory`` of an empty ``list``, ``dict``, ``set``,
``frozenset`` or ``tuple`` is published as that empty value. The rest (another factory, whose value
may differ per call, or a value JSON cannot hold, such as NaN) stays unpublished: such an input is
nullable, and ``null`` there means "left out", the Python default (:class:`OptionalInput`).

Arguments travel in their JSON form: :meth:`TypeMapper.argument_converter` turns what graphql-core
hands a resolver (input objects as dicts by GraphQL names, enum members) into the JSON params
:meth:`~servey_faas.invocation.ActionInvoker.load_params` validates, with Python field names; no
instance of a generated class is ever made. Results stay Python objects (nested ``@action``
methods need the real object); only values in ``JSON`` positions are dumped by the app's codec.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import enum
import math
import typing
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import strawberry
from graphql import GraphQLDefaultInput, GraphQLInputObjectType, GraphQLObjectType, GraphQLSchema, Undefined
from strawberry.types.base import StrawberryList, StrawberryOptional
from strawberry.types.enum import EnumValue, StrawberryEnumDefinition
from strawberry.types.field import StrawberryField
from strawberry.types.fields.resolver import StrawberryResolver
from strawberry.utils.str_converters import to_camel_case

from servey_faas.errors import ActionDefinitionError
from servey_faas.schemas import TypeCodec, normalize_type
from servey_faas.web.graphql._scalars import BigIntValue, JSONValue
from servey_faas.web.graphql.binding import RESOLVER

#: A strawberry annotation: a Python scalar type, a generated class or a strawberry type object.
Annotation = Any
#: Turns one value into another (None where the value passes unchanged).
Converter = Callable[[Any], Any] | None

_SCALARS: tuple[type, ...] = (str, int, float, bool, datetime.datetime, datetime.date, uuid.UUID)
#: Python scalar types whose GraphQL scalar is not strawberry's default for them.
_SCALAR_MARKERS: Mapping[type, object] = {int: BigIntValue}
_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)
#: GraphQL's own names and the scalars this package defines: never given to a user type.
RESERVED_NAMES = frozenset(
    {
        "Query",
        "Mutation",
        "Subscription",
        "String",
        "Int",
        "Float",
        "Boolean",
        "ID",
        "BigInt",
        "DateTime",
        "Date",
        "UUID",
        "JSON",
    }
)

#: Makes the extra fields (nested ``@action`` methods) of the object type of a dataclass.
MethodFields = Callable[[type], Mapping[str, StrawberryField]]


def graphql_name(python_name: str) -> str:
    """The GraphQL name strawberry gives a Python field, argument or action name (camelCase)."""
    return to_camel_case(python_name)


def unwrap_optional(type_: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None`` (several members stay a union), ``(type_, False)`` otherwise."""
    if typing.get_origin(type_) is typing.Union:
        args = typing.get_args(type_)
        if type(None) in args:
            others = tuple(a for a in args if a is not type(None))
            return (others[0] if len(others) == 1 else typing.Union[others]), True  # noqa: UP007
    return type_, False


def sequence_item(type_: Any) -> Any | None:
    """The item type of ``list[X]``, ``tuple[X, ...]``, ``set[X]``... or None for other types."""
    origin = typing.get_origin(type_)
    if origin is None or not (isinstance(origin, type) and issubclass(origin, _SEQUENCES)):
        return None
    args = typing.get_args(type_)
    if origin is tuple:
        return args[0] if len(args) == 2 and args[1] is Ellipsis else None
    return args[0] if len(args) == 1 else None


def is_dataclass_type(type_: Any) -> bool:
    return isinstance(type_, type) and dataclasses.is_dataclass(type_)


def is_enum_type(type_: Any) -> bool:
    return isinstance(type_, type) and issubclass(type_, enum.Enum)


def dataclass_hints(cls: type) -> dict[str, Any]:
    """The resolved field types of a dataclass (``X | None`` normalised).

    :raises ActionDefinitionError: when an annotation cannot be resolved.
    """
    try:
        hints = typing.get_type_hints(cls)
    except Exception as e:
        raise ActionDefinitionError(f"dataclass {cls.__qualname__}: cannot resolve type hints: {e}") from e
    return {f.name: normalize_type(hints[f.name]) for f in dataclasses.fields(cls) if f.name in hints}


def type_description(cls: type) -> str | None:
    """The docstring of a class, without the signature ``dataclasses`` makes up for undocumented ones."""
    doc = cls.__doc__
    if not doc or (doc.startswith(f"{cls.__name__}(") and doc.rstrip().endswith(")")):
        return None
    return doc.strip()


#: ``default_factory`` values that are the same on every call: an empty container.
_EMPTY_FACTORIES: frozenset[Any] = frozenset({list, dict, set, frozenset, tuple})


class GraphQLDefault:
    """The default of an argument or input field as a GraphQL input value: its JSON form with
    dataclass fields named as in GraphQL.

    Given to strawberry as the Python default, which passes it through untouched;
    :func:`publish_defaults` then hands it to graphql-core as an external default
    (``GraphQLDefaultInput``), which graphql-core prints, introspects and fills in as if the client
    had sent it (graphql-core's legacy internal defaults cannot print a JSON object).
    """

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def publish_defaults(schema: GraphQLSchema) -> None:
    """Turn every :class:`GraphQLDefault` that strawberry left in ``schema`` into graphql-core's
    ``default`` (in place). Call once, right after the schema is built."""
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLInputObjectType):
            values: list[Any] = list(type_.fields.values())
        elif isinstance(type_, GraphQLObjectType):
            values = [arg for field in type_.fields.values() for arg in field.args.values()]
        else:
            continue
        for value in values:
            if isinstance(value.default_value, GraphQLDefault):
                value.default = GraphQLDefaultInput(value.default_value.value)
                value.default_value = Undefined


@dataclass(frozen=True)
class OptionalInput:
    """An argument or input field that may be left out: its strawberry ``annotation``, the
    ``default`` strawberry gets (a :class:`GraphQLDefault`, or ``strawberry.UNSET`` when GraphQL
    cannot write it) and whether a null means "left out" (no published default, and the Python
    type does not take None)."""

    annotation: Annotation
    default: Any
    null_is_default: bool


class TypeMapper:
    """Builds the strawberry types of one schema; see the module docstring.

    Call :meth:`finish` once every annotation was asked for, before the schema is made.
    """

    def __init__(self, codec: TypeCodec, method_fields: MethodFields) -> None:
        self._codec = codec
        self._method_fields = method_fields
        self._names: dict[str, object] = dict.fromkeys(RESERVED_NAMES, "reserved")
        self._outputs: dict[type, type] = {}
        self._inputs: dict[type, type] = {}
        self._enums: dict[type, StrawberryEnumDefinition] = {}
        self._raw_converters: dict[type, Callable[[Any], Any]] = {}
        self._undecorated: list[tuple[type, str, str | None, bool]] = []

    # -- annotations ------------------------------------------------------------------------------

    def output(self, type_: Any) -> Annotation:
        """The annotation of a result or object field of Python type ``type_``."""
        inner, optional = unwrap_optional(normalize_type(type_))
        annotation = self._output(inner)
        return StrawberryOptional(annotation) if optional else annotation

    def input(self, type_: Any, *, optional: bool = False) -> Annotation:
        """The annotation of an argument or input field of Python type ``type_`` (nullable when
        ``optional``, for a value that may be left out and has no published default)."""
        inner, nullable = unwrap_optional(normalize_type(type_))
        annotation = self._input(inner)
        return StrawberryOptional(annotation) if nullable or optional else annotation

    def optional_input(self, type_: Any, *, value: Any = dataclasses.MISSING, factory: Any = None) -> OptionalInput:
        """How an argument or input field of Python type ``type_`` that may be left out is typed:
        its default is ``value``, or comes from calling ``factory`` (a ``default_factory``)."""
        if value is not dataclasses.MISSING:
            published = self._default(type_, value)
        else:  # only an empty container is published: another factory may give another value each call
            published = self._default(type_, factory()) if factory in _EMPTY_FACTORIES else None
        return OptionalInput(
            self.input(type_, optional=published is None),
            strawberry.UNSET if published is None else published,
            published is None and not unwrap_optional(normalize_type(type_))[1],
        )

    def _default(self, type_: Any, value: Any) -> GraphQLDefault | None:
        """``value`` as a :class:`GraphQLDefault`, or None when GraphQL cannot write it (its JSON
        form holds a non-finite float, or the codec cannot dump it)."""
        try:
            dumped = self._codec.dump(value, normalize_type(type_))
        except Exception:  # marshy raises what its marshallers raise: no JSON form, not published
            return None
        if not _is_finite_json(dumped):
            return None
        return GraphQLDefault(_graphql_input(dumped, normalize_type(type_)))

    def _output(self, type_: Any) -> Annotation:
        if type_ is type(None):
            return StrawberryOptional(JSONValue)
        if type_ in _SCALARS:
            return _SCALAR_MARKERS.get(type_, type_)
        if is_enum_type(type_):
            return self._enum(type_)
        item = sequence_item(type_)
        if item is not None:
            return StrawberryList(self.output(item))
        if is_dataclass_type(type_):
            return self._output_class(type_)
        return JSONValue

    def _input(self, type_: Any) -> Annotation:
        if type_ in _SCALARS:
            return _SCALAR_MARKERS.get(type_, type_)
        if is_enum_type(type_):
            return self._enum(type_)
        item = sequence_item(type_)
        if item is not None:
            return StrawberryList(self.input(item))
        if is_dataclass_type(type_):
            return self._input_class(type_)
        return JSONValue

    def _claim(self, name: str, owner: object) -> str:
        candidate, n = name, 1
        while self._names.setdefault(candidate, owner) is not owner:
            n += 1
            candidate = f"{name}{n}"
        return candidate

    def _enum(self, cls: type[enum.Enum]) -> StrawberryEnumDefinition:
        found = self._enums.get(cls)
        if found is None:
            found = StrawberryEnumDefinition(
                wrapped_cls=cls,
                name=self._claim(cls.__name__, cls),
                values=[EnumValue(member.name, member.value) for member in cls],
                description=type_description(cls),
            )
            self._enums[cls] = found
        return found

    def _output_class(self, cls: type) -> type:
        found = self._outputs.get(cls)
        if found is not None:
            return found
        generated: type = type(cls.__name__, (), {"__module__": __name__, "__qualname__": cls.__qualname__})
        self._outputs[cls] = generated  # before the fields: a dataclass may hold itself
        annotations: dict[str, Any] = {}
        for name, field_type in dataclass_hints(cls).items():
            annotation = self.output(field_type)
            adapter = self.output_adapter(field_type)
            if adapter is None:
                annotations[name] = annotation
            else:
                setattr(generated, name, _adapted_field(name, annotation, adapter))
        for name, method_field in self._method_fields(cls).items():
            if name in annotations or hasattr(generated, name):
                raise ActionDefinitionError(
                    f"dataclass {cls.__qualname__}: action method {name!r} has the name of one of its fields"
                )
            setattr(generated, name, method_field)
        generated.__annotations__ = annotations
        self._undecorated.append((generated, self._claim(cls.__name__, ("output", cls)), type_description(cls), False))
        return generated

    def _input_class(self, cls: type) -> type:
        found = self._inputs.get(cls)
        if found is not None:
            return found
        generated: type = type(f"{cls.__name__}Input", (), {"__module__": __name__})
        self._inputs[cls] = generated
        annotations: dict[str, Any] = {}
        hints = dataclass_hints(cls)
        omit_nulls: set[str] = set()
        for f in dataclasses.fields(cls):
            if f.name not in hints or not f.init:
                continue
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                annotations[f.name] = self.input(hints[f.name])
                continue
            optional = self.optional_input(hints[f.name], value=f.default, factory=f.default_factory)
            annotations[f.name] = optional.annotation
            setattr(generated, f.name, optional.default)
            if optional.null_is_default:
                omit_nulls.add(f.name)
        generated.__annotations__ = annotations
        name = self._claim(f"{cls.__name__}Input", ("input", cls))
        self._undecorated.append((generated, name, type_description(cls), True))
        self._raw_converters[cls] = self._object_converter(cls, hints, omit_nulls)
        return generated

    def finish(self) -> None:
        """Turn every generated class into a strawberry type."""
        for generated, name, description, is_input in self._undecorated:
            decorate = strawberry.input if is_input else strawberry.type
            decorate(generated, name=name, description=description)
        self._undecorated.clear()

    def dataclasses(self) -> Iterator[type]:
        """Every dataclass that has an object type."""
        return iter(self._outputs)

    # -- converters -------------------------------------------------------------------------------

    def argument_converter(self, type_: Any) -> Converter:
        """What turns the value graphql-core passes a resolver for an argument of Python type
        ``type_`` into its JSON form (None: unchanged)."""
        return self._converter(normalize_type(type_))

    def _converter(self, type_: Any) -> Converter:
        inner, optional = unwrap_optional(type_)
        convert = self._inner_converter(inner)
        if convert is None or not optional:
            return convert
        return lambda value: None if value is None else convert(value)

    def _inner_converter(self, type_: Any) -> Converter:
        if is_enum_type(type_):
            return _enum_name
        item = sequence_item(type_)
        if item is not None:
            convert = self._converter(item)
            return None if convert is None else (lambda values: [convert(v) for v in values])
        if is_dataclass_type(type_):
            self._input_class(type_)
            return lambda value: self._raw_converters[type_](value)
        return None

    def _object_converter(self, cls: type, hints: Mapping[str, Any], omit_nulls: set[str]) -> Callable[[Any], Any]:
        """GraphQL input object (a dict by GraphQL names, as graphql-core coerced it) → JSON object
        by Python names. Fields the client left out (and without published default) stay out, and
        so do nulls of the fields in ``omit_nulls``."""
        table: list[tuple[str, str, Converter, bool]] = []
        for f in dataclasses.fields(cls):
            if f.name in hints and f.init:
                convert_field = self._converter(hints[f.name])
                table.append((graphql_name(f.name), f.name, convert_field, f.name in omit_nulls))

        def convert(value: Mapping[str, Any]) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for gql, python, field_convert, omit_null in table:
                if gql in value:
                    item = value[gql]
                    if item is None:
                        if not omit_null:
                            out[python] = None
                    else:
                        out[python] = item if field_convert is None else field_convert(item)
            return out

        return convert

    def output_adapter(self, type_: Any) -> Converter:
        """What turns a result of Python type ``type_`` into what its GraphQL type serialises:
        values in ``JSON`` positions are dumped by the codec; objects, scalars and enums are
        returned as they are (None: the whole value unchanged)."""
        inner, optional = unwrap_optional(normalize_type(type_))
        adapter = self._inner_adapter(inner)
        if adapter is None or not optional:
            return adapter
        return lambda value: None if value is None else adapter(value)

    def _inner_adapter(self, type_: Any) -> Converter:
        if type_ is type(None) or type_ in _SCALARS or is_enum_type(type_) or is_dataclass_type(type_):
            return None
        item = sequence_item(type_)
        if item is not None:
            adapter = self.output_adapter(item)
            return None if adapter is None else (lambda values: [adapter(v) for v in values])
        codec = self._codec
        return lambda value: codec.dump(value, type_)


def _is_finite_json(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_finite_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_finite_json(v) for k, v in value.items())
    return value is None or isinstance(value, (str, int))


def _graphql_input(value: Any, type_: Any) -> Any:
    """The JSON form ``value`` of Python type ``type_`` with dataclass fields named as in GraphQL
    (fields that are not ``init`` fields left out: input types do not have them)."""
    inner, _ = unwrap_optional(type_)
    if value is None:
        return None
    item = sequence_item(inner)
    if item is not None and isinstance(value, list):
        return [_graphql_input(v, item) for v in value]
    if is_dataclass_type(inner) and isinstance(value, dict):
        hints = dataclass_hints(inner)
        fields = {f.name for f in dataclasses.fields(inner) if f.init and f.name in hints}
        return {graphql_name(k): _graphql_input(v, hints[k]) for k, v in value.items() if k in fields}
    return value


def _enum_name(value: Any) -> Any:
    # marshy's JSON form of an enum member is its name; a default filled in by GraphQL may
    # already be that name
    return value.name if isinstance(value, enum.Enum) else value


def _adapted_field(name: str, annotation: Annotation, adapter: Callable[[Any], Any]) -> StrawberryField:
    """A field read from the object and put in its GraphQL form by ``adapter``."""

    def declared() -> Any:  # the field's type, for strawberry; graphql-core calls ``resolve``
        raise RuntimeError(f"the GraphQL field {name!r} is resolved by its bound resolver")

    def resolve(source: Any, info: Any) -> Any:
        return adapter(getattr(source, name))

    declared.__annotations__ = {"return": annotation}
    return StrawberryField(python_name=name, base_resolver=StrawberryResolver(declared), metadata={RESOLVER: resolve})
