"""JSON Schemas, loading and dumping for the Python types actions use.

Built on schemey 7.0.2 (type → JSON Schema) and marshy 5.0.3 (JSON ↔ objects), extended with
what they lack: ``dict[str, X]``, ``datetime.date``, ``typing.Any`` and PEP 604 unions
(``X | None``). The extensions live on a :class:`TypeCodec`'s own contexts, never on the
libraries' process-global defaults.
"""

from __future__ import annotations

import datetime
import threading
import types
import typing
from collections.abc import Mapping
from copy import deepcopy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema.protocols import Validator
    from marshy.marshy_context import MarshyContext
    from schemey.schema_context import SchemaContext

COMPONENTS_PREFIX = "#/components/schemas/"


class TypeCodec:
    """One app's JSON Schema generator and marshaller. Build once; safe to share between threads.

    Creating one is free: its schemey and marshy contexts (their imports and plug-in discovery)
    are made on first use of :meth:`schema`, :meth:`load`, :meth:`dump` or :meth:`check`, once,
    under a lock, so that an app whose invokers come from precomputed schemas (see
    :class:`~servey_faas.invocation.ActionInvoker`) and whose types are all JSON-native never
    imports schemey, marshy or injecty.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: _Contexts | None = None

    def _contexts(self) -> _Contexts:
        """The contexts, made by the first caller; every caller gets the same object."""
        built = self._built
        if built is None:
            with self._lock:
                built = self._built
                if built is None:
                    built = self._built = _create_contexts()
        return built

    def schema(self, type_: Any, path: str = "#") -> dict[str, Any]:
        """The JSON Schema (2020-12) of ``type_``, nested dataclasses inlined.

        Recursive dataclasses refer back with ``$ref`` JSON pointers under ``path``, the place the
        schema will be put in its document.

        :raises ValueError: for a type that has no JSON form.
        """
        generated = self._contexts().schemey.schema_from_type(type_, path).schema
        schema: dict[str, Any] = _drop_generated_docs(deepcopy(generated))
        return schema

    def load(self, type_: Any, value: Any) -> Any:
        """Turn the JSON form ``value`` into an instance of ``type_``."""
        return self._contexts().marshy.load(type_, value)

    def dump(self, value: Any, type_: Any = None) -> Any:
        """Turn ``value`` (of ``type_``, or its own type) into its JSON form."""
        return self._contexts().marshy.dump(value, type_)

    def check(self, type_: Any) -> None:
        """Raise unless ``type_`` can be loaded and dumped.

        :raises ValueError: naming the type.
        """
        try:
            self._contexts().marshy.get_marshaller(type_)
        except Exception as e:
            raise ValueError(f"no marshaller for {type_!r}: {e}") from e

    @staticmethod
    def validator(schema: Mapping[str, Any]) -> Validator:
        """A JSON Schema 2020-12 validator for ``schema`` that checks the formats actions use
        (``date-time``, ``date``, ``uuid``)."""
        from jsonschema import Draft202012Validator, FormatChecker

        checker = FormatChecker(("date", "uuid"))
        checker.checks("date-time", raises=ValueError)(_is_datetime)
        return Draft202012Validator(dict(schema), format_checker=checker)


@dataclass(frozen=True)
class _Contexts:
    marshy: MarshyContext
    schemey: SchemaContext


def _create_contexts() -> _Contexts:
    """A marshy context with the extensions' marshallers, and a schemey context over it with the
    extensions' schema factories (neither library's process-global default is touched)."""
    from marshy.marshy_context import create_marshy_context
    from schemey.schema_context import create_schema_context

    from servey_faas import _codec_extensions as ext

    marshy = create_marshy_context()
    for marshaller in ext.marshallers():
        marshy.register_marshaller(marshaller)
    for factory in ext.marshaller_factories():
        marshy.register_factory(factory)
    schemey = create_schema_context(marshy)
    schemey.factories = sorted([*schemey.factories, *ext.schema_factories()], key=lambda f: f.priority, reverse=True)
    return _Contexts(marshy, schemey)


def _is_datetime(value: object) -> bool:
    """A date and a time (RFC 3339 §5.6 ``date-time``; a missing offset is tolerated and read as
    naive). A bare date is not a date-time."""
    if isinstance(value, str):
        if len(value) < 16 or value[10] not in "Tt ":
            raise ValueError(f"{value!r} is not a date-time")
        datetime.datetime.fromisoformat(value)
    return True


def _drop_generated_docs(node: Any) -> Any:
    """Remove the ``description`` schemey copies from a dataclass without a docstring: it is the
    signature ``dataclasses`` generates (``"Name(field: type, ...)"``), internals not docs."""
    if isinstance(node, list):
        return [_drop_generated_docs(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _drop_generated_docs(v) for k, v in node.items()}
    name, doc = out.get("name"), out.get("description")
    if isinstance(name, str) and isinstance(doc, str) and doc.startswith(f"{name}(") and doc.endswith(")"):
        del out["description"]
    return out


def normalize_type(type_: Any) -> Any:
    """``X | None`` (PEP 604) as ``typing.Optional[X]``, recursively, so schemey and marshy see it."""
    if isinstance(type_, types.UnionType):
        return typing.Union[tuple(normalize_type(a) for a in type_.__args__)]  # noqa: UP007
    return type_


def hoist_components(schema: Any, components: dict[str, Any], path: str = "#") -> Any:
    """Move every dataclass (object with a ``name``) in ``schema`` to ``components`` and put a
    ``$ref`` to ``#/components/schemas/<Name>`` in its place, as OpenAPI 3.1 expects.

    ``path`` is where ``schema`` was generated (see :meth:`TypeCodec.schema`), so that recursive
    ``$ref``s are pointed at their component too. Two different types with one name get
    ``Name2``, ``Name3``…

    :returns: the rewritten schema; ``components`` is filled in place.
    """
    return _hoist(schema, components, path, {})


def _hoist(node: Any, components: dict[str, Any], loc: str, refs: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_hoist(v, components, f"{loc}/{i}", refs) for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref in refs:
        return {**node, "$ref": refs[ref]}
    name = node.get("name")
    is_dataclass = isinstance(name, str) and node.get("type") == "object" and "properties" in node
    if is_dataclass:
        placeholder = f"{COMPONENTS_PREFIX}{name}"
        refs[loc] = placeholder
    body = {k: _hoist(v, components, f"{loc}/{k}", refs) for k, v in node.items() if not (is_dataclass and k == "name")}
    if not is_dataclass:
        return body
    placeholder, original = refs[loc], body
    component = str(name)
    n = 1
    while component in components and components[component] != body:
        n += 1
        component = f"{name}{n}"
        # renamed: point recursive refs made meanwhile at the new name before comparing again
        body = _replace_ref(original, placeholder, f"{COMPONENTS_PREFIX}{component}")
    components[component] = body
    target = f"{COMPONENTS_PREFIX}{component}"
    refs[loc] = target  # later $refs to this place (schemey repeats a type as a $ref) follow the rename
    return {"$ref": target}


def _replace_ref(node: Any, old: str, new: str) -> Any:
    if isinstance(node, list):
        return [_replace_ref(v, old, new) for v in node]
    if isinstance(node, dict):
        return {k: (new if k == "$ref" and v == old else _replace_ref(v, old, new)) for k, v in node.items()}
    return node
